"""The static server export-web's page is measured through: the types a browser demands
for ES modules and WebAssembly, on 127.0.0.1 only."""

from __future__ import annotations

import urllib.request

from components.shared.web import serve_static


def test_modules_and_webassembly_are_served_with_the_types_browsers_require(tmp_path):
    for name in ("predict.js", "loader.mjs", "runtime.wasm", "bundle.json"):
        (tmp_path / name).write_bytes(b"x")
    with serve_static(tmp_path) as base:
        assert base.startswith("http://127.0.0.1:")
        types = {}
        for name in ("predict.js", "loader.mjs", "runtime.wasm", "bundle.json"):
            with urllib.request.urlopen(base + name, timeout=10) as response:
                types[name] = response.headers["Content-Type"]
    assert types == {
        "predict.js": "text/javascript",
        "loader.mjs": "text/javascript",
        "runtime.wasm": "application/wasm",
        "bundle.json": "application/json",
    }
