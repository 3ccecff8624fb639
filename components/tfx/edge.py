"""Edge export of a pushed TFX model: TensorFlow Lite, checked and measured.

`python -m components.tfx.edge --contract C --push DIR --transform-graph URI --out DIR`
writes DIR/model.tflite and DIR/edge.json (agreement with the full SavedModel on the
eval rows, size, latency). The pipeline runs it after a push in a subprocess
(`PendingExport`): the TFLite converter can abort the whole process (an LLVM error on
Keras 3 SavedModels), and an edge export that fails must leave the pipeline's result
alone.

What it took, measured on TF 2.16 / Keras 3 / TFT 1.16:
- `from_saved_model` on the pushed model aborts the process ("ReadVariableOp: missing
  attribute 'value'", LLVM ERROR); converting a re-saved tf.Module works.
- The TFT graph converts only with SELECT_TF_OPS (SelectV2, SparseToDense and
  StringToHashBucketFast on strings), and then cannot run: TFT's vocabularies are
  file-initialised hash tables, whose initialiser the converter drops ("hashtable need
  to be initialized before using").
- So the edge model holds the preprocessing as constants read from the TFT output
  (train mean and std per numeric column, vocabularies), applied with builtin ops,
  followed by the trained network (the `serving_transformed` signature). Builtins only:
  no Flex delegate needed on the device.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from components.shared.contract import Contract, load_contract
from components.shared.dataset import load_split, read_raw_text, to_typed
from components.shared.latency import LATENCY_BATCH_ROWS, latency_ms
from components.shared.processes import (
    JobChild,
    exit_without_final_collection,
    lower_priority,
    read_job,
)
from models.keras.features import MISSING_CATEGORY, transformed_name


def preprocessing_constants(transform_graph_uri: str, contract: Contract) -> dict:
    """TFT's fitted statistics, read back from its output: what the edge graph bakes in.

    TFT exposes vocabularies but not the means and stds of `scale_to_z_score`; they are
    recovered from the transform itself: z(0) = -mean/std and z(1) - z(0) = 1/std.
    """
    import tensorflow as tf
    import tensorflow_transform as tft

    tf_out = tft.TFTransformOutput(transform_graph_uri)
    spec = tf_out.raw_feature_spec()
    probe = {}
    for column in contract.features:
        values = [0.0, 1.0] if column.is_numeric else ["", ""]
        dtype = spec[column.name].dtype
        tensor = tf.constant(values, dtype=tf.float32 if column.is_numeric else tf.string)
        tensor = tf.cast(tensor, dtype) if column.is_numeric else tensor
        if isinstance(spec[column.name], tf.io.VarLenFeature):
            # Explicit indices: from_dense would drop the 0.0 as a missing value.
            probe[column.name] = tf.SparseTensor([[0, 0], [1, 0]], tensor, [2, 1])
        else:
            probe[column.name] = tf.reshape(tensor, [2, *spec[column.name].shape])
    transformed = tf_out.transform_raw_features(probe, drop_unused_features=True)
    numeric = {}
    for column in contract.numeric_features:
        z0, z1 = (
            np.asarray(transformed[transformed_name(column.name)]).reshape(-1)[:2].astype(float)
        )
        std = 1.0 / (z1 - z0)
        numeric[column.name] = {"mean": -z0 * std, "std": std}
    vocabularies = {
        column.name: [v.decode() for v in tf_out.vocabulary_by_name(column.name)]
        for column in contract.categorical_features
    }
    return {"numeric": numeric, "vocabularies": vocabularies}


def edge_module(push_dir: Path, constants: dict, contract: Contract):  # noqa: ANN202
    """A tf.Module: raw columns (NaN / "" for missing) -> probabilities, class index."""
    import tensorflow as tf

    module = tf.Module()
    module.network = tf.saved_model.load(str(push_dir))
    network = module.network.signatures["serving_transformed"]
    signature = {
        c.name: tf.TensorSpec([None], tf.float32 if c.is_numeric else tf.string, name=c.name)
        for c in contract.features
    }

    @tf.function(input_signature=[signature])
    def serve(columns):
        features = {}
        for name, stats in constants["numeric"].items():
            x = columns[name]
            x = tf.where(tf.math.is_nan(x), tf.constant(stats["mean"], tf.float32), x)
            features[transformed_name(name)] = tf.reshape(
                (x - stats["mean"]) / stats["std"], [-1, 1]
            )
        for name, vocabulary in constants["vocabularies"].items():
            x = columns[name]
            matches = tf.equal(x[:, tf.newaxis], tf.constant(vocabulary)[tf.newaxis, :])
            index = tf.argmax(tf.cast(matches, tf.int32), axis=1, output_type=tf.int32)
            # Unknown values go to the one OOV bucket, index len(vocabulary), as in TFT.
            oov = len(vocabulary)
            index = tf.where(tf.reduce_any(matches, axis=1), index, oov)
            # Missing ("") is TFT's placeholder category; chosen on indices, since a
            # select on strings is not a TFLite builtin.
            missing = vocabulary.index(MISSING_CATEGORY) if MISSING_CATEGORY in vocabulary else oov
            index = tf.where(tf.equal(x, ""), missing, index)
            features[transformed_name(name)] = tf.reshape(tf.cast(index, tf.int64), [-1, 1])
        probabilities = network(**features)["probabilities"]
        return {"probabilities": probabilities, "class_index": tf.argmax(probabilities, axis=1)}

    module.serve = serve
    return module


def _columns(rows, contract: Contract) -> dict[str, np.ndarray]:  # noqa: ANN001 - DataFrame
    return {
        c.name: rows[c.name].astype("float32").to_numpy()
        if c.is_numeric
        else rows[c.name].fillna("").astype(str).to_numpy().astype(object)
        for c in contract.features
    }


def export(
    contract: Contract,
    push_dir: Path,
    transform_graph_uri: str,
    out_dir: Path,
    eval_csv: Path | None = None,
) -> dict:
    """Convert, check against the full SavedModel on the eval rows, measure; returns
    what it also writes to out_dir/edge.json. `eval_csv`: the run's eval split as the
    pipeline wrote it for ExampleGen (default: the contract's data, split again)."""
    import tensorflow as tf

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    constants = preprocessing_constants(transform_graph_uri, contract)
    module = edge_module(push_dir, constants, contract)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as staging:
        tf.saved_model.save(module, staging, signatures={"serving_raw": module.serve})
        converter = tf.lite.TFLiteConverter.from_saved_model(staging, ["serving_raw"])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        flatbuffer = converter.convert()
    convert_s = time.perf_counter() - started
    model_path = out_dir / "model.tflite"
    model_path.write_bytes(flatbuffer)

    if eval_csv is None:
        rows = load_split(contract.path, contract).eval
    else:  # the split's file: a quarter of the data, not the whole file parsed again
        rows = to_typed(read_raw_text(eval_csv), contract)
    columns = _columns(rows, contract)
    interpreter = tf.lite.Interpreter(model_path=str(model_path))
    runner = interpreter.get_signature_runner("serving_raw")
    edge = runner(**columns)
    full_model = module.network.signatures["serving_raw"]  # the push, loaded once
    full = full_model(**{k: tf.constant(v.astype(str) if v.dtype == object else v)
                         for k, v in columns.items()})  # fmt: skip
    edge_probs = np.asarray(edge["probabilities"])
    full_probs = full["probabilities"].numpy()
    one = {k: v[:1] for k, v in columns.items()}
    batch = {k: v[:LATENCY_BATCH_ROWS] for k, v in columns.items()}
    result = {
        "stack": "tfx",
        "format": "tflite",
        "artifact": str(model_path),
        "size_bytes": model_path.stat().st_size,
        "ops": "TFLITE_BUILTINS",
        "preprocessing": "inside: TFT's fitted constants baked into the graph",
        "rows": len(rows),
        "agreement": float(np.mean(edge_probs.argmax(1) == full_probs.argmax(1))),
        "max_abs_prob_diff": float(np.max(np.abs(edge_probs - full_probs))),
        "convert_s": round(convert_s, 3),
        "latency_single_ms": latency_ms(lambda: runner(**one)),
        "latency_batch_ms": latency_ms(lambda: runner(**batch)),
        "latency_batch_rows": len(next(iter(batch.values()))),
        "full_latency_single_ms": latency_ms(
            lambda: full_model(
                **{
                    k: tf.constant(v.astype(str) if v.dtype == object else v)
                    for k, v in one.items()
                }
            )  # fmt: skip
        ),
        "tf_version": tf.__version__,
        "push": str(push_dir),
    }
    (out_dir / "preprocessing.json").write_text(json.dumps(constants, indent=2))
    (out_dir / "edge.json").write_text(json.dumps(result, indent=2))
    return result


class PendingExport:
    """An edge export in a child process, not a thread: the TFLite converter can abort
    its process. `prepare` starts the child ahead of the push, to import TensorFlow while
    the run still works; `start` hands it the push and returns the function that waits
    for the result; `cancel` stops one not waited for.
    """

    def __init__(self, contract: Contract, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self.record = self.out_dir / "edge.json"
        args = ["--contract", str(contract.source), "--out", str(self.out_dir)]
        self._child = JobChild("components.tfx.edge", [*args, "--push-from-stdin"])

    def prepare(self) -> None:
        """Start the child, which imports TensorFlow and waits for `start`'s push."""
        self._child.start()

    def start(self, push_dir: Path, transform_graph_uri: str, eval_csv: Path) -> Callable[[], dict]:
        """Export `push_dir`, checked on the rows of `eval_csv` (the run's eval split);
        returns what waits for the result. The result never raises:
        a failure comes back, and is written to edge.json, as {"error": ...}. A push
        already exported is not converted again (a cached rerun pushes nothing new)."""
        if self.record.exists():
            previous = json.loads(self.record.read_text())
            if previous.get("push") == str(push_dir) and "error" not in previous:
                self.cancel()
                return lambda: previous
        job = {
            "push": str(push_dir),
            "transform_graph": transform_graph_uri,
            "eval_csv": str(eval_csv),
        }
        if not self._child.send(job):
            result = self._failed(push_dir, self._child.error or "not started")
            return lambda: result

        def wait() -> dict:
            returncode, _, stderr = self._child.wait()
            if returncode == 0:
                try:
                    return json.loads(self.record.read_text())
                except (OSError, ValueError) as exc:
                    return self._failed(push_dir, f"{type(exc).__name__}: {exc}")
            return self._failed(push_dir, f"exit {returncode}: {stderr}")

        return wait

    def cancel(self) -> None:
        """A child prepared for a push that never came, or an export handed over and not
        waited for, is stopped."""
        self._child.cancel()

    def _failed(self, push_dir: Path, error: str) -> dict:
        result = {"stack": "tfx", "format": "tflite", "push": str(push_dir), "error": error}
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.record.write_text(json.dumps(result, indent=2))
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contract", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--push", type=Path, help="the pushed SavedModel to export")
    parser.add_argument("--transform-graph", help="its Transform output (transform_graph)")
    parser.add_argument(
        "--push-from-stdin",
        action="store_true",
        help="import TensorFlow, then read {push, transform_graph, eval_csv} as one JSON "
        "line from stdin (what the pipeline does); no line: exit 0 without exporting",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    contract = load_contract(args.contract)
    eval_csv = None
    if args.push_from_stdin:
        lower_priority()
        import tensorflow  # noqa: F401 - before the job: the child may start ahead of it
        import tensorflow_transform  # noqa: F401

        job = read_job()
        if job is None:
            return 0
        args.push, args.transform_graph = Path(job["push"]), job["transform_graph"]
        eval_csv = Path(job["eval_csv"])
    elif args.push is None or args.transform_graph is None:
        parser.error("--push and --transform-graph are required without --push-from-stdin")
    result = export(contract, args.push, args.transform_graph, args.out, eval_csv)
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    exit_without_final_collection(main())  # the pipeline waits for this exit
