"""Score raw rows with a published TensorFlow SavedModel through its `serving_raw`
signature (one tensor per raw feature column: float32 with NaN / string with "" for
missing; outputs `class` and `probabilities`).

`python -m components.report.saved_model --contract C MODEL_DIR < rows.json` reads a JSON
list of raw rows ({column: value or null}) and prints {"class": [...], "probabilities":
[[...]]}: the same JSON rows the MLflow model server takes. Serving parity runs it in a
child process, so the comparison layer itself never imports TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from components.shared.contract import Contract, load_contract


def _column(rows: list[dict], name: str, numeric: bool) -> list:
    values = [row.get(name) for row in rows]
    if numeric:
        return [math.nan if v is None or v == "" else float(v) for v in values]
    return ["" if v is None else str(v) for v in values]


def predict(model_dir: Path, rows: list[dict], contract: Contract) -> dict[str, list]:
    import tensorflow as tf

    serve = tf.saved_model.load(str(model_dir)).signatures["serving_raw"]
    inputs = {
        c.name: tf.constant(
            _column(rows, c.name, c.is_numeric), dtype=tf.float32 if c.is_numeric else tf.string
        )
        for c in contract.features
    }
    out = serve(**inputs)
    return {
        "class": [c.decode() for c in out["class"].numpy()],
        "probabilities": out["probabilities"].numpy().tolist(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--contract", type=Path, required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    rows = json.load(sys.stdin)
    json.dump(predict(args.model_dir, rows, load_contract(args.contract)), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
