"""The Lightning model in the browser: the champion's ONNX export under ONNX Runtime Web,
the Lightning wing's bundle for `python -m pipelines export-web`
(components/shared/web.py).

The ONNX file holds the network only; its preprocessing travels beside it as the JSON
the served model applies, and web_predict.js applies it in the page: the glue the TF.js
bundle does not need, since TFX's preprocessing is in its graph.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from components.lightning import STACK
from components.shared.contract import Contract
from components.shared.layout import Workdir
from components.shared.web import WebExportError, copy_runtime, finish_bundle, fresh_bundle
from models.lightning.features import MISSING

# The wasm build, its loader and the one binary it fetches (no WebGPU / JSEP variants).
RUNTIME = [
    "onnxruntime-web/dist/ort.wasm.min.js",
    "onnxruntime-web/dist/ort-wasm-simd-threaded.mjs",
    "onnxruntime-web/dist/ort-wasm-simd-threaded.wasm",
]
PREDICTOR = Path(__file__).with_name("web_predict.js")
MODEL_FILES = ["model.onnx", "preprocessing.json"]


def export(contract: Contract, workdir: Workdir) -> Path:
    """Write the bundle from the last edge export (the champion's ONNX file and its
    preprocessing): the two files, ONNX Runtime Web, predict.js, bundle.json."""
    edge_dir = workdir.edge(STACK, contract)
    record = edge_dir / "edge.json"
    exported = json.loads(record.read_text()) if record.exists() else {"error": "none yet"}
    if "error" in exported or not all((edge_dir / f).exists() for f in MODEL_FILES):
        raise WebExportError(
            f"{STACK}: no ONNX export to bundle ({record}: {exported.get('error', 'missing')});"
            " a run that promotes a champion makes one: python -m pipelines lightning"
        )
    out_dir = fresh_bundle(workdir, STACK, contract)
    for name in MODEL_FILES:
        shutil.copy2(edge_dir / name, out_dir / name)
    scripts = copy_runtime(RUNTIME[:1], out_dir)
    copy_runtime(RUNTIME[1:], out_dir)  # fetched by the loader, not loaded by the page
    meta = {
        "stack": STACK,
        "format": "ONNX + preprocessing.json",
        "runtime": "ONNX Runtime Web {version}, wasm, 1 thread",
        "scripts": scripts,
        "model_files": MODEL_FILES,
        "missing": MISSING,
        "source": exported.get("model_uri"),
    }
    return finish_bundle(out_dir, PREDICTOR, "onnxruntime-web", meta)
