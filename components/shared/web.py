"""The browser export's shared half (`python -m pipelines export-web`): the page, the eval
rows it predicts, and its measurement in headless Chromium against each stack's champion.

Knows no stack. Each wing's `web` module (stacks.toml) writes its bundle into
`Workdir.web_bundle(stack, contract)`: the model, the runtime files copied from the npm
packages `make setup` installed (only the files the page loads, never node_modules),
predict.js and bundle.json. This module writes `<workdir>/web/index.html` and
`<workdir>/web/<dataset>.json`, serves that folder on 127.0.0.1, lets Chromium predict
the eval rows from their raw values, and compares each stack's probabilities with those
of its champion loaded from the MLflow registry: what the stacks recorded, not their code.
"""

from __future__ import annotations

import functools
import http.server
import json
import math
import shutil
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from components.shared import stacks
from components.shared.contract import Contract
from components.shared.dataset import load_split
from components.shared.layout import Workdir

PAGE = Path(__file__).with_name("web_page")
# What the page has to finish: load every runtime and model, predict every row one by one.
PAGE_TIMEOUT_S = 180.0


class WebExportError(RuntimeError):
    """A bundle cannot be made or measured; the message names the cause and the way out."""


def node_modules() -> Path:
    """Where `make setup` installs the wings' browser runtimes (stacks.toml `web_npm`)."""
    return Path(sys.prefix) / "web" / "node_modules"


def copy_runtime(files: Sequence[str], out_dir: Path) -> list[str]:
    """Copy these files of the installed npm packages (paths under node_modules) into the
    bundle; returns their names there."""
    names = []
    for file in files:
        source = node_modules() / file
        if not source.exists():
            raise WebExportError(
                f"{source} is missing: the browser runtimes come with `make setup` "
                "(npm must be on PATH when it runs)"
            )
        shutil.copy2(source, out_dir / source.name)
        names.append(source.name)
    return names


def fresh_bundle(workdir: Workdir, stack: str, contract: Contract) -> Path:
    """The stack's bundle folder, emptied: a bundle never mixes two exports' files."""
    out_dir = workdir.web_bundle(stack, contract)
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    return out_dir


def finish_bundle(out_dir: Path, predictor: Path, npm_package: str, meta: dict) -> Path:
    """Copy the wing's predictor in as predict.js and write bundle.json: `meta` with the
    runtime's version (`npm_package`'s, as installed) filled into its "runtime"."""
    shutil.copy2(predictor, out_dir / "predict.js")
    package = json.loads((node_modules() / npm_package / "package.json").read_text())
    meta = {**meta, "runtime": meta["runtime"].format(version=package["version"])}
    (out_dir / "bundle.json").write_text(json.dumps(meta, indent=2))
    return out_dir


def eval_rows(contract: Contract) -> pd.DataFrame:
    """The eval rows both stacks evaluate on (the one split), typed, label included."""
    return load_split(contract.path, contract).eval


def _json_cell(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def write_page(
    workdir: Workdir, contract: Contract, rows: pd.DataFrame, present: list[str]
) -> Path:
    """index.html and page.js in <workdir>/web/, and <dataset>.json: the raw eval rows
    (null for a missing value), their labels, the classes, and the bundles of `present`
    stacks. Returns the page's URL path, relative to <workdir>/web/."""
    root = workdir.web()
    root.mkdir(parents=True, exist_ok=True)
    for name in ("index.html", "page.js"):
        shutil.copy2(PAGE / name, root / name)
    manifest = stacks.load()
    features = [c.name for c in contract.features]
    payload = {
        "dataset": contract.name,
        "classes": list(contract.classes),
        "labels": [str(v) for v in rows[contract.label]],
        "rows": [
            {name: _json_cell(row[name]) for name in features}
            for row in rows[features].to_dict("records")
        ],
        "bundles": [
            {
                "stack": stack,
                "title": manifest[stack].title,
                "color": manifest[stack].color,
                "format": _bundle_meta(workdir, contract, stack)["format"],
                "path": workdir.web_bundle(stack, contract).relative_to(root).as_posix(),
            }
            for stack in present
        ],
    }
    (root / f"{contract.name}.json").write_text(json.dumps(payload))
    return f"index.html?dataset={contract.name}"


def _bundle_meta(workdir: Workdir, contract: Contract, stack: str) -> dict:
    return json.loads((workdir.web_bundle(stack, contract) / "bundle.json").read_text())


class _StaticFiles(http.server.SimpleHTTPRequestHandler):
    # ES modules and WebAssembly are refused under a generic type.
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
        ".json": "application/json",
    }

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass


@contextmanager
def serve_static(root: Path) -> Iterator[str]:
    """`root` over HTTP on 127.0.0.1 (a free port) while in the block; yields the base URL."""
    handler = functools.partial(_StaticFiles, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def champion_probabilities(
    contract: Contract, workdir: Workdir, stack: str, rows: pd.DataFrame
) -> tuple[str, np.ndarray]:
    """The stack's champion, as MLflow serves it, on `rows`: (its URI, probabilities in
    the contract's class order)."""
    import mlflow
    from mlflow import MlflowClient

    from components.shared.tracking import champion_version, tracking_uri

    uri = tracking_uri(workdir)
    name = contract.registered_model(stack)
    champion = champion_version(MlflowClient(uri, registry_uri=uri), name)
    if champion is None:
        raise WebExportError(f"{stack}: no champion of {name} in {uri}: run the pipeline first")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    model_uri = f"models:/{name}/{champion.version}"
    predicted = mlflow.pyfunc.load_model(model_uri).predict(
        rows[[c.name for c in contract.features]]
    )
    return model_uri, predicted[[f"prob_{c}" for c in contract.classes]].to_numpy(float)


def _bundle_bytes(folder: Path, names: Sequence[str] | None = None) -> int:
    files = [folder / n for n in names] if names is not None else folder.rglob("*")
    return sum(f.stat().st_size for f in files if f.is_file())


def measure(
    workdir: Workdir, contract: Contract, rows: pd.DataFrame, page: str, present: list[str]
) -> dict[str, dict]:
    """Open `page` (write_page's) in headless Chromium, let its bundles predict `rows`, and
    compare those of `present` with their champions; writes and returns their browser.json."""
    from components.shared.browser import Browser

    with serve_static(workdir.web()) as base, Browser() as browser:
        browser.open(base + page)
        browser.wait_for("window.webDone === true", timeout=PAGE_TIMEOUT_S)
        outcome = browser.evaluate("window.webResults")
        version = browser.evaluate("navigator.userAgent")
    measured = {}
    for stack in present:
        folder = workdir.web_bundle(stack, contract)
        meta = _bundle_meta(workdir, contract, stack)
        result: dict = {
            "stack": stack,
            "format": meta["format"],
            "runtime": meta["runtime"],
            "bundle": str(folder),
            "size_bytes": _bundle_bytes(folder),
            "model_bytes": _bundle_bytes(folder, meta["model_files"]),
            "browser": version,
            "rows": len(rows),
        }
        if stack in outcome["errors"] or stack not in outcome["results"]:
            result["error"] = outcome["errors"].get(stack) or outcome["errors"].get("page", "")
        else:
            page_result = outcome["results"][stack]
            model_uri, reference = champion_probabilities(contract, workdir, stack, rows)
            in_page = np.asarray(page_result["probabilities"], dtype=float)
            result |= {
                "champion": model_uri,
                "agreement": float(np.mean(in_page.argmax(1) == reference.argmax(1))),
                "max_abs_prob_diff": float(np.max(np.abs(in_page - reference))),
                "load_ms": round(page_result["loadMs"], 1),
                "first_row_ms": round(page_result["firstRowMs"], 2),
                "per_row_ms": round(page_result["perRowMs"], 3),
                "batch_ms": round(page_result["batchMs"], 2),
            }
        (folder / "browser.json").write_text(json.dumps(result, indent=2))
        measured[stack] = result
    return measured
