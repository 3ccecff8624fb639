"""The TFX model in the browser: the pushed model as a TensorFlow.js graph model, the
TFX wing's bundle for `python -m pipelines export-web` (components/shared/web.py).

What converts, measured on TF 2.16 / TFT 1.16 / tensorflowjs 4.22: not the pushed
SavedModel (TFT's vocabularies are hash tables the converter cannot freeze: "Identity is
not in graph"), but the table-free edge graph the TFLite export builds (the push's network
behind TFT's fitted constants, components/tfx/edge.py), frozen here and converted from
the frozen graph. The converter lives in a tool environment of its own,
`.venv/tools/tfjs` (it needs a tensorflow-hub that TFX 1.16 excludes); `make setup`
makes it for this wing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from components.shared.contract import Contract
from components.shared.layout import Workdir
from components.shared.web import WebExportError, copy_runtime, finish_bundle, fresh_bundle
from components.tfx import STACK

RUNTIME = ["@tensorflow/tfjs/dist/tf.min.js"]
PREDICTOR = Path(__file__).with_name("web_predict.js")


def converter() -> Path:
    """tensorflowjs_converter in its tool environment (scripts/setup.sh)."""
    return Path(sys.prefix) / "tools" / "tfjs" / "bin" / "tensorflowjs_converter"


def _frozen_edge_graph(contract: Contract, workdir: Workdir, out: Path) -> tuple[str, dict]:
    """The edge graph of the last edge export's push, frozen into `out`; returns that
    push and {output: node name}."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow's first import
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    from components.tfx.edge import edge_module

    edge_dir = workdir.edge(STACK, contract)
    record = edge_dir / "edge.json"
    exported = json.loads(record.read_text()) if record.exists() else {"error": "none yet"}
    if "error" in exported or not Path(exported.get("push", "")).exists():
        raise WebExportError(
            f"{STACK}: no edge graph to convert ({record}: {exported.get('error', 'no push')});"
            " a run that pushes makes one: python -m pipelines tfx"
        )
    constants = json.loads((edge_dir / "preprocessing.json").read_text())
    module = edge_module(Path(exported["push"]), constants, contract)  # owns the variables
    concrete = module.serve.get_concrete_function()
    frozen = convert_variables_to_constants_v2(concrete)
    tf.io.write_graph(frozen.graph.as_graph_def(), str(out.parent), out.name, as_text=False)
    # The frozen outputs follow the structured outputs' keys in sorted order.
    names = [t.name.split(":")[0] for t in frozen.outputs]
    return exported["push"], dict(zip(sorted(concrete.structured_outputs), names, strict=True))


def export(contract: Contract, workdir: Workdir) -> Path:
    """Write the bundle: model.json and its weights, tf.min.js, predict.js, bundle.json."""
    if not converter().exists():
        raise WebExportError(
            f"{converter()} is missing: `make setup` makes the TF.js converter's environment"
        )
    out_dir = fresh_bundle(workdir, STACK, contract)
    with tempfile.TemporaryDirectory(prefix="tfjs-") as staging:
        frozen = Path(staging) / "edge.pb"
        push, outputs = _frozen_edge_graph(contract, workdir, frozen)
        converted = subprocess.run(
            [
                str(converter()), "--input_format=tf_frozen_model",
                "--output_format=tfjs_graph_model",
                f"--output_node_names={','.join(outputs.values())}",
                str(frozen), str(out_dir),
            ],
            capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )  # fmt: skip
    if converted.returncode != 0:
        raise WebExportError(
            f"{STACK}: tensorflowjs_converter failed: {converted.stderr.strip()[-2000:]}"
        )
    model_files = sorted(p.name for p in out_dir.iterdir())
    scripts = copy_runtime(RUNTIME, out_dir)
    meta = {
        "stack": STACK,
        "format": "TF.js graph model",
        "runtime": "TensorFlow.js {version}, cpu backend",
        "scripts": scripts,
        "model_files": model_files,
        "features": [{"name": c.name, "numeric": c.is_numeric} for c in contract.features],
        "outputs": outputs,
        "source": push,
    }
    return finish_bundle(out_dir, PREDICTOR, "@tensorflow/tfjs", meta)
