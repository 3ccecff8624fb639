"""Edge export of the Lightning champion: ONNX, run with onnxruntime, checked and measured.

Writes <out>/model.onnx (the network and its softmax: features -> probabilities) and
<out>/preprocessing.json beside it (the same JSON the MLflow model applies: means, stds,
vocabularies; the device applies it before the network), and <out>/edge.json with the
agreement with the served pyfunc model on the run's eval rows, size and latency.

Needs `onnx` and `onnxruntime` (in requirements.lock). `onnx` must be 1.17: newer
releases need protobuf >= 4.25, and TFX 1.16 pins protobuf 3.20 in the same environment.
The exporter is torch's TorchScript-based one (`dynamo=False`): the dynamo exporter
would need `onnxscript` too, for a four-layer MLP that gains nothing from it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from components.shared.contract import Contract
from components.shared.latency import LATENCY_BATCH_ROWS, latency_ms
from models.lightning.features import n_inputs, transform

AGREEMENT_SLICE_ROWS = 8192


def export(
    model_uri: str,
    contract: Contract,
    rows: pd.DataFrame,
    out_dir: Path,
    served_probs: np.ndarray | None = None,
) -> dict:
    """Export the pyfunc model at `model_uri`, check it on `rows` (the run's eval rows,
    typed feature columns), measure it; returns what it also writes to out_dir/edge.json.

    `served_probs`: the served model's probabilities on `rows` when the caller has them
    already (the pipeline's reload gate checked them against the logged model), so the
    pyfunc model does not score every row a second time."""
    import mlflow
    import onnxruntime

    served = mlflow.pyfunc.load_model(model_uri)
    python_model = served.unwrap_python_model()
    preprocessing = python_model.preprocessing
    network = nn.Sequential(python_model.network, nn.Softmax(dim=1)).eval()

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / "model.onnx"
    started = time.perf_counter()
    torch.onnx.export(
        network,
        (torch.zeros(1, n_inputs(preprocessing)),),
        str(model_path),
        input_names=["features"],
        output_names=["probabilities"],
        dynamic_axes={"features": {0: "batch"}, "probabilities": {0: "batch"}},
        dynamo=False,
    )
    convert_s = time.perf_counter() - started
    (out_dir / "preprocessing.json").write_text(json.dumps(preprocessing, indent=2))

    rows = rows[[c.name for c in contract.features]]
    session = onnxruntime.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    features = transform(rows, preprocessing).astype(np.float32, copy=False)
    # In slices: onnxruntime's arena keeps its largest activations for the session's life.
    edge_probs = np.concatenate(
        [
            session.run(None, {"features": features[at : at + AGREEMENT_SLICE_ROWS]})[0]
            for at in range(0, len(features), AGREEMENT_SLICE_ROWS)
        ]
    )
    if served_probs is None:
        full = served.predict(rows)
        served_probs = full[[f"prob_{c}" for c in contract.classes]].to_numpy()
    one_row = rows.head(1)
    one, batch = features[:1], features[:LATENCY_BATCH_ROWS]
    result = {
        "stack": "lightning",
        "format": "onnx",
        "artifact": str(model_path),
        "size_bytes": model_path.stat().st_size,
        "preprocessing": "beside: preprocessing.json (pandas/numpy code on the device)",
        "rows": len(rows),
        "agreement": float(np.mean(edge_probs.argmax(1) == served_probs.argmax(1))),
        "max_abs_prob_diff": float(np.max(np.abs(edge_probs - served_probs))),
        "convert_s": round(convert_s, 3),
        "latency_single_ms": latency_ms(lambda: session.run(None, {"features": one})),
        "latency_batch_ms": latency_ms(lambda: session.run(None, {"features": batch})),
        "latency_batch_rows": len(batch),
        "latency_single_with_preprocessing_ms": latency_ms(
            lambda: session.run(
                None, {"features": transform(one_row, preprocessing).astype(np.float32)}
            )
        ),
        "full_latency_single_ms": latency_ms(lambda: served.predict(one_row)),
        "onnxruntime_version": onnxruntime.__version__,
        "model_uri": model_uri,
    }
    (out_dir / "edge.json").write_text(json.dumps(result, indent=2))
    return result


def export_or_record(
    model_uri: str,
    contract: Contract,
    rows: pd.DataFrame,
    out_dir: Path,
    served_probs: np.ndarray | None = None,
) -> dict:
    """`export`, never raising: without onnx/onnxruntime, or on any failure, edge.json
    says what went wrong, which the report shows as the finding it is."""
    out_dir = Path(out_dir)
    try:
        return export(model_uri, contract, rows, out_dir, served_probs)
    except Exception as exc:  # noqa: BLE001 - an edge export must not fail the pipeline
        error = f"{type(exc).__name__}: {exc}"
        result = {"stack": "lightning", "format": "onnx", "model_uri": model_uri, "error": error}
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "edge.json").write_text(json.dumps(result, indent=2))
        return result
