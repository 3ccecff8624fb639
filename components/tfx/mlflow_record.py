"""Record a TFX pipeline run as a run in the contract's MLflow experiment, beside the
Lightning runs: the same parameter and metric names (components/shared/tracking.py), with
every number read from what TFX wrote (MLMD, TFMA's output, the Trainer's TensorBoard
logs), never recomputed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import mlflow
import tensorflow as tf
import tensorflow_model_analysis as tfma
from mlflow.entities import Metric, Param

from components.shared.contract import Contract
from components.shared.tracking import (
    CONFUSION_MATRIX_ARTIFACT,
    contract_params,
    ensure_experiment,
    process_tags,
    sweep_stale_runs,
)
from components.tfx.reports import NodeRun

# TFX components grouped into the stages the Lightning pipeline times, so the two
# pipelines' time_<stage>_s metrics line up column for column in the MLflow UI.
STAGES = {
    "CsvExampleGen": "ingest",
    "StatisticsGen": "validate",
    "ImportSchemaGen": "validate",
    "ExampleValidator": "validate",
    "AnomaliesGate": "validate",
    "Transform": "preprocess",
    "Trainer": "train",
    "latest_blessed_model_resolver": "evaluate",
    "Evaluator": "evaluate",
    "Pusher": "promote",
}


def _overall_metrics(evaluation_uri: str) -> dict[tuple[str, str], float]:
    """{(metric name, sub key): value} of the unsliced candidate model from TFMA's output."""
    result = tfma.load_eval_result(evaluation_uri)
    found = {}
    for slice_key, by_output in result.slicing_metrics:
        if slice_key != ():
            continue
        for by_sub_key in by_output.values():
            for sub_key, metrics in by_sub_key.items():
                for name, value in metrics.items():
                    number = value.get("doubleValue", value.get("boundedValue", {}).get("value"))
                    if number is not None:
                        found[(name, sub_key)] = float(number)
    return found


def eval_metrics(evaluation_uri: str, classes: tuple[str, ...]) -> dict[str, float]:
    """eval_accuracy and eval_f1_<class>, as TFMA computed them."""
    found = _overall_metrics(evaluation_uri)
    out = {"eval_accuracy": found[("sparse_categorical_accuracy", "")]}
    for i, cls in enumerate(classes):
        f1 = found.get(("f1_score", f"classId:{i}"))
        if f1 is not None:
            out[f"eval_f1_{cls}"] = f1
    return out


def confusion_matrix(evaluation_uri: str, classes: tuple[str, ...]) -> dict | None:
    """TFMA's MultiClassConfusionMatrixPlot, as {"classes", "matrix"} (rows: true class)."""
    result = tfma.load_eval_result(evaluation_uri)
    for slice_key, by_output in result.plots:
        if slice_key != ():
            continue
        for by_sub_key in by_output.values():
            for plots in by_sub_key.values():
                plot = plots.get("multiClassConfusionMatrixAtThresholds")
                if not plot:
                    continue
                n = len(classes)
                matrix = [[0] * n for _ in range(n)]
                for entry in plot["matrices"][0]["entries"]:
                    actual = int(entry.get("actualClassId", 0))
                    predicted = int(entry.get("predictedClassId", 0))
                    if 0 <= actual < n and 0 <= predicted < n:
                        matrix[actual][predicted] = int(entry.get("numWeightedExamples", 0))
                return {"classes": list(classes), "matrix": matrix}
    return None


def training_curves(model_run_uri: str) -> dict[str, list[tuple[int, float]]]:
    """Per-epoch loss and accuracy from the Trainer's TensorBoard event files."""
    names = {
        ("train", "epoch_loss"): "train_loss",
        ("validation", "epoch_loss"): "val_loss",
        ("validation", "epoch_sparse_categorical_accuracy"): "val_accuracy",
    }
    curves: dict[str, list[tuple[int, float]]] = {}
    for subdir in ("train", "validation"):
        for path in sorted(Path(model_run_uri, subdir).glob("events.out.tfevents.*")):
            for event in tf.compat.v1.train.summary_iterator(str(path)):
                for value in event.summary.value:
                    key = names.get((subdir, value.tag))
                    if key:
                        number = float(tf.make_ndarray(value.tensor))
                        curves.setdefault(key, []).append((int(event.step), number))
    return {k: sorted(v) for k, v in curves.items()}


def record(
    contract: Contract,
    workdir: Path,
    nodes: dict[str, NodeRun],
    outcome: str,
    detail: str,
    data_sha256: str,
    split_sizes: dict[str, int],
    metadata_db: Path,
    reports_dir: Path,
    elapsed_s: float,
) -> str:
    """Log the run; returns its MLflow run id."""
    experiment_id = ensure_experiment(contract.experiment, workdir)
    # The recording is short, but a process killed during it leaves a RUNNING run.
    sweep_stale_runs(experiment_id, "tfx")
    tags = {
        **process_tags(),
        "pipeline": "tfx",
        "contract": contract.name,
        "outcome": outcome,
        "outcome_detail": detail[:5000],
        "lineage_store": f"MLMD {metadata_db}",
        "lineage_executions": str(len(nodes)),
        "lineage_artifacts": str(
            len({a.id for n in nodes.values() for a in (*_flat(n.inputs), *_flat(n.outputs))})
        ),
        "mlmd_execution_states": json.dumps({n.node_id: n.state for n in nodes.values()}),
    }
    status = "FINISHED" if outcome in ("pushed", "not_blessed") else "FAILED"
    run_name = f"tfx-{time.strftime('%Y%m%d-%H%M%S')}"
    # Everything is gathered first and logged in one log_batch: a log_metric per value
    # is a store transaction each, and the training curves alone are ~120 values.
    now = int(time.time() * 1000)
    metrics: list[Metric] = []

    def metric(key: str, value: float, step: int = 0) -> None:
        metrics.append(Metric(key, float(value), now, step))

    stage_times: dict[str, float] = {}
    for node in nodes.values():
        metric(f"component_time_{node.node_id}_s", node.seconds)
        stage = STAGES.get(node.node_id)
        if stage:
            stage_times[stage] = stage_times.get(stage, 0.0) + node.seconds
    for stage, seconds in stage_times.items():
        metric(f"time_{stage}_s", round(seconds, 3))
    metric("time_total_s", round(elapsed_s, 3))

    matrix = None
    evaluator = nodes.get("Evaluator")
    evaluation = evaluator.outputs.get("evaluation") if evaluator else None
    if evaluation:
        uri = evaluation[0].uri
        for key, value in eval_metrics(uri, contract.classes).items():
            metric(key, value)
        matrix = confusion_matrix(uri, contract.classes)
        blessing = evaluator.outputs.get("blessing")
        if blessing:
            blessed = blessing[0].custom_properties["blessed"].int_value
            tags["blessed"] = str(bool(blessed)).lower()
    trainer = nodes.get("Trainer")
    model_run = trainer.outputs.get("model_run") if trainer else None
    if model_run:
        for key, points in training_curves(model_run[0].uri).items():
            for step, value in points:
                metric(key, value, step)
    pusher = nodes.get("Pusher")
    pushed = pusher.outputs.get("pushed_model") if pusher else None
    if pushed and pushed[0].custom_properties["pushed"].int_value == 1:
        tags["pushed_model"] = pushed[0].custom_properties["pushed_destination"].string_value
    tags["mlmd_execution_ids"] = json.dumps({n.node_id: n.execution_id for n in nodes.values()})
    params = {
        "data_sha256": data_sha256,
        **{f"{k}_rows": v for k, v in split_sizes.items()},
        **contract_params(contract),
    }

    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags) as run:
        mlflow.MlflowClient().log_batch(
            run.info.run_id,
            metrics=metrics,
            params=[Param(key, str(value)) for key, value in params.items()],
        )
        if matrix:
            mlflow.log_dict(matrix, CONFUSION_MATRIX_ARTIFACT)
        if reports_dir.exists():
            mlflow.log_artifacts(str(reports_dir), "validation/tfdv")
        mlflow.end_run(status=status)
        return run.info.run_id


def _flat(by_key: dict) -> list:
    return [a for artifacts in by_key.values() for a in artifacts]
