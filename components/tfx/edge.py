"""Edge export of a pushed TFX model: TensorFlow Lite, checked and measured.

`python -m components.tfx.edge --contract C --push DIR --transform-graph URI --out DIR`
writes DIR/model.tflite and DIR/edge.json (agreement with the full SavedModel on the
eval rows, size, latency). The pipeline runs it in a subprocess after a push: the TFLite
converter can abort the whole process (an LLVM error on Keras 3 SavedModels), and an
edge export that fails must leave the pipeline's result alone.

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
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from components.shared.contract import Contract, load_contract
from components.shared.dataset import load_split
from components.shared.latency import latency_ms

MISSING_CATEGORY = "__missing__"  # as components/tfx/transform/transform_module.py
SUFFIX = "_xf"


def edge_dir(workdir: Path, contract: Contract) -> Path:
    return Path(workdir) / "edge" / "tfx" / contract.name


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
        z0, z1 = np.asarray(transformed[column.name + SUFFIX]).reshape(-1)[:2].astype(float)
        std = 1.0 / (z1 - z0)
        numeric[column.name] = {"mean": -z0 * std, "std": std}
    vocabularies = {
        column.name: [v.decode() for v in tf_out.vocabulary_by_name(column.name)]
        for column in contract.categorical_features
    }
    return {"numeric": numeric, "vocabularies": vocabularies}


def _edge_module(push_dir: Path, constants: dict, contract: Contract):  # noqa: ANN202
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
            features[name + SUFFIX] = tf.reshape((x - stats["mean"]) / stats["std"], [-1, 1])
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
            features[name + SUFFIX] = tf.reshape(tf.cast(index, tf.int64), [-1, 1])
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


def export(contract: Contract, push_dir: Path, transform_graph_uri: str, out_dir: Path) -> dict:
    """Convert, check against the full SavedModel on the eval rows, measure; returns
    what it also writes to out_dir/edge.json."""
    import tensorflow as tf

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    constants = preprocessing_constants(transform_graph_uri, contract)
    module = _edge_module(push_dir, constants, contract)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as staging:
        tf.saved_model.save(module, staging, signatures={"serving_raw": module.serve})
        converter = tf.lite.TFLiteConverter.from_saved_model(staging, ["serving_raw"])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        flatbuffer = converter.convert()
    convert_s = time.perf_counter() - started
    model_path = out_dir / "model.tflite"
    model_path.write_bytes(flatbuffer)

    rows = load_split(contract.path, contract).eval
    columns = _columns(rows, contract)
    interpreter = tf.lite.Interpreter(model_path=str(model_path))
    runner = interpreter.get_signature_runner("serving_raw")
    edge = runner(**columns)
    full_model = tf.saved_model.load(str(push_dir)).signatures["serving_raw"]
    full = full_model(**{k: tf.constant(v.astype(str) if v.dtype == object else v)
                         for k, v in columns.items()})  # fmt: skip
    edge_probs = np.asarray(edge["probabilities"])
    full_probs = full["probabilities"].numpy()
    one = {k: v[:1] for k, v in columns.items()}
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
        "latency_batch_ms": latency_ms(lambda: runner(**columns)),
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


def start_export(
    contract: Contract, push_dir: Path, transform_graph_uri: str, out_dir: Path
) -> Callable[[], dict]:
    """Start `export` in a child process (the converter can abort its process) and return
    the function that waits for its result, so the caller can work meanwhile. The result
    never raises: a failure comes back, and is written to out_dir/edge.json, as
    {"error": ...}. A push already exported is not converted again (a cached rerun pushes
    nothing new)."""
    out_dir = Path(out_dir)
    record = out_dir / "edge.json"
    if record.exists():
        previous = json.loads(record.read_text())
        if previous.get("push") == str(push_dir) and "error" not in previous:
            return lambda: previous
    command = [sys.executable, "-m", "components.tfx.edge", "--contract", str(contract.source)]
    command += ["--push", str(push_dir), "--transform-graph", transform_graph_uri]
    command += ["--out", str(out_dir)]
    repo_root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo_root)}

    def failed(error: str) -> dict:
        result = {"stack": "tfx", "format": "tflite", "push": str(push_dir), "error": error}
        out_dir.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(result, indent=2))
        return result

    # A file, not a pipe: a chatty converter must not block on a full pipe meanwhile.
    log = tempfile.TemporaryFile(mode="w+")
    try:
        child = subprocess.Popen(
            command, cwd=repo_root, env=env, stdout=subprocess.DEVNULL, stderr=log
        )
    except OSError as exc:
        result = failed(f"{type(exc).__name__}: {exc}")
        return lambda: result

    def wait() -> dict:
        try:
            child.wait(timeout=900)
        except subprocess.TimeoutExpired as exc:
            child.kill()
            child.wait()
            return failed(f"{type(exc).__name__}: {exc}")
        finally:
            log.seek(0)
            stderr = log.read()
            log.close()
        if child.returncode == 0:
            try:
                return json.loads(record.read_text())
            except (OSError, ValueError) as exc:
                return failed(f"{type(exc).__name__}: {exc}")
        return failed(f"exit {child.returncode}: " + " | ".join(stderr.strip().splitlines()[-3:]))

    return wait


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contract", type=Path, required=True)
    parser.add_argument("--push", type=Path, required=True)
    parser.add_argument("--transform-graph", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    result = export(load_contract(args.contract), args.push, args.transform_graph, args.out)
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
