"""Record a TFX pipeline run as a run in the contract's MLflow experiment, beside the
Lightning runs: the same parameter and metric names (components/shared/tracking.py), with
every number read from what TFX wrote (MLMD, TFMA's output, the Trainer's TensorBoard
logs), never recomputed.

The run is written by a child process started with the pipeline run (`PendingRecord`):
it imports MLflow and opens the store (a fresh store's tables take 1.7 s to create)
while the pipeline runs. At the end the pipeline gathers the numbers from TFX's outputs
(`gather`, which needs TensorFlow and TFMA) and hands them over as one JSON job.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from components.shared.contract import Contract
from components.shared.layout import Workdir
from components.shared.outcome import Outcome
from components.shared.processes import (
    WaitingChild,
    exit_without_final_collection,
    lower_priority,
    read_job,
)
from components.shared.tracking import (
    CONFUSION_MATRIX_ARTIFACT,
    contract_params,
    ensure_experiment,
    process_tags,
    sweep_stale_runs,
)
from components.tfx import STACK

if TYPE_CHECKING:
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
    from components.tfx.eval_result import candidate_result

    result = candidate_result(evaluation_uri)
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
    from components.tfx.eval_result import candidate_result

    result = candidate_result(evaluation_uri)
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
    import tensorflow as tf

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


def gather(
    contract: Contract,
    nodes: dict[str, NodeRun],
    outcome: Outcome,
    detail: str,
    data_sha256: str,
    split_sizes: dict[str, int],
    metadata_db: Path,
    reports_dir: Path,
    elapsed_s: float,
    baseline_metrics: dict[str, float] | None = None,
) -> dict:
    """What `write` logs, read from TFX's outputs, as JSON-ready values; the majority-class
    baseline's metrics (components/shared/baseline.py) when the Evaluator ran."""
    artifacts = {a.id for n in nodes.values() for a in (*_flat(n.inputs), *_flat(n.outputs))}
    tags = {
        "pipeline": STACK,
        "contract": contract.name,
        "outcome": outcome.value,
        "outcome_detail": detail[:5000],
        "lineage_store": f"MLMD {metadata_db}",
        "lineage_recorded": f"{len(nodes)} executions, {len(artifacts)} artifacts in MLMD",
        "lineage_executions": str(len(nodes)),
        "lineage_artifacts": str(len(artifacts)),
        "mlmd_execution_states": json.dumps({n.node_id: n.state for n in nodes.values()}),
        "mlmd_execution_ids": json.dumps({n.node_id: n.execution_id for n in nodes.values()}),
    }
    metrics: list[tuple[str, float, int]] = []
    stage_times: dict[str, float] = {}
    for node in nodes.values():
        metrics.append((f"component_time_{node.node_id}_s", node.seconds, 0))
        stage = STAGES.get(node.node_id)
        if stage:
            stage_times[stage] = stage_times.get(stage, 0.0) + node.seconds
    metrics += [(f"time_{stage}_s", round(s, 3), 0) for stage, s in stage_times.items()]
    metrics.append(("time_total_s", round(elapsed_s, 3), 0))

    matrix = None
    evaluator = nodes.get("Evaluator")
    evaluation = evaluator.outputs.get("evaluation") if evaluator else None
    if evaluation:
        uri = evaluation[0].uri
        metrics += [(k, v, 0) for k, v in eval_metrics(uri, contract.classes).items()]
        metrics += [(k, v, 0) for k, v in (baseline_metrics or {}).items()]
        matrix = confusion_matrix(uri, contract.classes)
        blessing = evaluator.outputs.get("blessing")
        if blessing:
            blessed = blessing[0].custom_properties["blessed"].int_value
            tags["blessed"] = str(bool(blessed)).lower()
    trainer = nodes.get("Trainer")
    model_run = trainer.outputs.get("model_run") if trainer else None
    if model_run:
        for key, points in training_curves(model_run[0].uri).items():
            metrics += [(key, value, step) for step, value in points]
    pusher = nodes.get("Pusher")
    pushed = pusher.outputs.get("pushed_model") if pusher else None
    if pushed and pushed[0].custom_properties["pushed"].int_value == 1:
        tags["published_model"] = pushed[0].custom_properties["pushed_destination"].string_value
    return {
        "experiment": contract.experiment,
        "run_name": f"{STACK}-{time.strftime('%Y%m%d-%H%M%S')}",
        "status": "FINISHED" if outcome in (Outcome.PUSHED, Outcome.NOT_BLESSED) else "FAILED",
        "tags": tags,
        "params": {
            "data_sha256": data_sha256,
            **{f"{k}_rows": v for k, v in split_sizes.items()},
            **contract_params(contract),
        },
        "metrics": metrics,
        "confusion_matrix": matrix,
        "reports_dir": str(reports_dir),
    }


def write(job: dict, workdir: Workdir) -> str:
    """Log a gathered run; returns its MLflow run id."""
    import mlflow
    from mlflow.entities import Metric, Param

    experiment_id = ensure_experiment(job["experiment"], workdir)
    # The recording is short, but a process killed during it leaves a RUNNING run.
    sweep_stale_runs(experiment_id, STACK)
    tags = {**process_tags(), **job["tags"]}
    # One log_batch: a log_metric per value is a store transaction each, and the
    # training curves alone are about 120 values.
    now = int(time.time() * 1000)
    metrics = [Metric(key, float(value), now, int(step)) for key, value, step in job["metrics"]]
    params = [Param(key, str(value)) for key, value in job["params"].items()]
    with mlflow.start_run(experiment_id=experiment_id, run_name=job["run_name"], tags=tags) as run:
        mlflow.MlflowClient().log_batch(run.info.run_id, metrics=metrics, params=params)
        if job["confusion_matrix"]:
            mlflow.log_dict(job["confusion_matrix"], CONFUSION_MATRIX_ARTIFACT)
        if Path(job["reports_dir"]).exists():
            mlflow.log_artifacts(job["reports_dir"], "validation/tfdv")
        mlflow.end_run(status=job["status"])
        return run.info.run_id


class PendingRecord:
    """`write` in a child process that opens the store while the pipeline runs."""

    def __init__(self, contract: Contract, workdir: Workdir, log: Path) -> None:
        args = ["--workdir", str(workdir.root), "--experiment", contract.experiment]
        self._child = WaitingChild("components.tfx.mlflow_record", args, log=log)

    def start(self, job: dict) -> Callable[[], str]:
        """Hand over the gathered run; returns what waits for its run id (and raises
        RuntimeError, naming the child's last words, when it could not be written)."""
        if not self._child.started:
            raise RuntimeError(self._child.error or "recorder not started")
        self._child.send(job)

        def wait() -> str:
            returncode, stdout, stderr = self._child.wait(timeout=300)
            if returncode != 0:
                raise RuntimeError(f"exit {returncode}: {stderr}")
            return stdout.strip()

        return wait

    def cancel(self) -> None:
        self._child.cancel()


def _flat(by_key: dict) -> list:
    return [a for artifacts in by_key.values() for a in artifacts]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write TFX runs to MLflow: open the store, then log the one JSON job "
        "`gather` made, read from stdin; print its run id."
    )
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--experiment", required=True)
    args = parser.parse_args(argv)
    lower_priority()
    workdir = Workdir(args.workdir)
    ensure_experiment(args.experiment, workdir)  # the store, before the job comes
    job = read_job()
    if job is None:
        return 0
    print(write(job, workdir))
    return 0


if __name__ == "__main__":
    exit_without_final_collection(main())
