"""Record a TFX pipeline run as a run in the contract's MLflow experiment, beside the
Lightning runs: the same parameter and metric names (components/shared/tracking.py), with
every number read from what TFX wrote (MLMD, TFMA's output, the Trainer's TensorBoard
logs), never recomputed from the data (per-class F1 is derived from TFMA's confusion
matrix: `f1_per_class`).

At the end of a run the pipeline gathers the numbers from TFX's outputs (`gather`, which
needs TensorFlow and TFMA) and hands them, as one JSON job, to a child process that
writes them (`PendingRecord`), while the TFLite export converts in another: the TFX run
itself never imports MLflow. The child starts as the Evaluator starts and imports MLflow
and opens the store (a fresh store's tables take seconds to create) meanwhile.

The run spans the pipeline's own start and end, logs the shared split as its datasets,
and, when Pusher pushed, registers the pushed SavedModel as `<model_name>-tfx`
(models/keras/serving/pyfunc.py) and moves that model's `champion` alias to it: the registry's
champion is always what Pusher last pushed, and a run that pushed nothing registers
nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from components.shared.contract import REPO_ROOT, Contract, load_contract
from components.shared.dataset import load_split
from components.shared.layout import Workdir
from components.shared.outcome import Outcome
from components.shared.processes import (
    JobChild,
    exit_without_final_collection,
    lower_priority,
    read_job,
)
from components.shared.tracking import (
    CHAMPION,
    CONFUSION_MATRIX_ARTIFACT,
    contract_params,
    ensure_experiment,
    log_datasets,
    pinned_requirements,
    process_tags,
    run_name,
    serving_schema,
    serving_signature,
    sweep_stale_runs,
)
from components.tfx import STACK

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from components.tfx.reports import NodeRun

COMPONENT_TIMES_ARTIFACT = "timings/components.json"
SERVING_CODE = REPO_ROOT / "models" / "keras" / "serving" / "pyfunc.py"
# What the served model imports from the repository; MLflow puts `code/` on sys.path.
SERVING_IMPORTS = ("features.py",)

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


def eval_metrics(evaluation_uri: str, matrix: dict | None = None) -> dict[str, float]:
    """eval_accuracy and eval_log_loss as TFMA computed them; from TFMA's confusion
    `matrix` (`confusion_matrix`), eval_f1_<class> and eval_f1_macro, their unweighted
    mean (what macro F1 is)."""
    from components.tfx.eval_result import overall_metrics

    found = overall_metrics(evaluation_uri)
    out = {"eval_accuracy": found[("sparse_categorical_accuracy", "")]}
    if ("sparse_categorical_crossentropy", "") in found:
        out["eval_log_loss"] = found[("sparse_categorical_crossentropy", "")]
    if matrix:
        classes = matrix["classes"]
        f1 = f1_per_class(matrix["matrix"])
        out.update({f"eval_f1_{cls}": value for cls, value in zip(classes, f1, strict=True)})
        out["eval_f1_macro"] = sum(f1) / len(f1)
    return out


def f1_per_class(matrix: list[list[int]]) -> list[float]:
    """F1 of each class from a confusion matrix (rows: true class, columns: the argmax),
    0 where a class is neither present nor predicted (sklearn's zero_division=0).

    Derived, not asked of TFMA: TFMA computes per-class F1 only by binarizing each class,
    a Python pass over every eval row per class, which made the Evaluator's time grow
    with the classes; the matrix it computes anyway holds the same counts, and the
    argmax is how the Lightning side (sklearn) counts a prediction.
    """
    scores = []
    for i, row in enumerate(matrix):
        true_positive = row[i]
        predicted = sum(r[i] for r in matrix)
        denominator = sum(row) + predicted
        scores.append(2 * true_positive / denominator if denominator else 0.0)
    return scores


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


def epoch_metrics(curves: dict[str, list[tuple[int, float]]]) -> dict[str, float]:
    """epochs_run and best_epoch (lowest validation loss; EarlyStopping restores it), the
    names the Lightning runs use, read off the Trainer's curves."""
    val_loss = curves.get("val_loss") or []
    if not val_loss:
        return {}
    best = min(val_loss, key=lambda point: point[1])[0]
    return {"epochs_run": float(len(val_loss)), "best_epoch": float(best)}


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
    started: float,
    data: Path,
    baseline_metrics: dict[str, float] | None = None,
) -> dict:
    """What `write` logs, read from TFX's outputs, as JSON-ready values; the majority-class
    baseline's metrics (components/shared/baseline.py) when the Evaluator ran. `started`:
    when the pipeline started (epoch seconds); `data`: the file the split was made from."""
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
        matrix = confusion_matrix(uri, contract.classes)
        metrics += [(k, v, 0) for k, v in eval_metrics(uri, matrix).items()]
        metrics += [(k, v, 0) for k, v in (baseline_metrics or {}).items()]
        blessing = evaluator.outputs.get("blessing")
        if blessing:
            blessed = blessing[0].custom_properties["blessed"].int_value
            tags["blessed"] = str(bool(blessed)).lower()
    trainer = nodes.get("Trainer")
    model_run = trainer.outputs.get("model_run") if trainer else None
    if model_run:
        curves = training_curves(model_run[0].uri)
        for key, points in curves.items():
            metrics += [(key, value, step) for step, value in points]
        metrics += [(k, v, 0) for k, v in epoch_metrics(curves).items()]
    pusher = nodes.get("Pusher")
    pushed = pusher.outputs.get("pushed_model") if pusher else None
    register = None
    if pushed and pushed[0].custom_properties["pushed"].int_value == 1:
        destination = pushed[0].custom_properties["pushed_destination"].string_value
        tags["published_model"] = destination
        register = {
            "name": contract.registered_model(STACK),
            "saved_model": destination,
            "classes": list(contract.classes),
            "schema": serving_schema(contract),
        }
    return {
        "experiment": contract.experiment,
        "run_name": run_name(STACK, contract, started),
        "start_ms": int(started * 1000),
        "end_ms": int(time.time() * 1000),
        "datasets": {"contract": str(contract.source), "data": str(data)}
        if "Evaluator" in nodes
        else None,
        "register": register,
        "status": "FINISHED" if outcome in (Outcome.PUSHED, Outcome.NOT_BLESSED) else "FAILED",
        "tags": tags,
        "params": {
            "data_sha256": data_sha256,
            **{f"{k}_rows": v for k, v in split_sizes.items()},
            **contract_params(contract),
        },
        "metrics": metrics,
        "confusion_matrix": matrix,
        # An artifact, not metrics: a chart per component would bury the shared metrics.
        "component_times": {
            n.node_id: {"seconds": n.seconds, "state": n.state} for n in nodes.values()
        },
        "reports_dir": str(reports_dir),
    }


def write(job: dict, workdir: Workdir) -> dict[str, str]:
    """Log a gathered run; returns its MLflow run id, and the registered model version
    when the run pushed."""
    import mlflow
    from mlflow.entities import Metric, Param

    experiment_id = ensure_experiment(job["experiment"], workdir)
    # The recording is short, but a process killed during it leaves a RUNNING run.
    sweep_stale_runs(experiment_id, STACK)
    client = mlflow.MlflowClient()
    tags = {**process_tags(), **job["tags"]}
    # Created with the pipeline's start time and ended with its end time below, so the UI
    # shows how long the pipeline took, not how long recording it did.
    run_id = client.create_run(
        experiment_id, start_time=job["start_ms"], tags=tags, run_name=job["run_name"]
    ).info.run_id
    # One log_batch: a log_metric per value is a store transaction each, and the
    # training curves alone are about 120 values.
    end = job["end_ms"]
    metrics = [Metric(key, float(value), end, int(step)) for key, value, step in job["metrics"]]
    params = [Param(key, str(value)) for key, value in job["params"].items()]
    written = {"run_id": run_id}
    with mlflow.start_run(run_id=run_id):
        client.log_batch(run_id, metrics=metrics, params=params)
        if job["confusion_matrix"]:
            mlflow.log_dict(job["confusion_matrix"], CONFUSION_MATRIX_ARTIFACT)
        mlflow.log_dict(job["component_times"], COMPONENT_TIMES_ARTIFACT)
        if Path(job["reports_dir"]).exists():
            mlflow.log_artifacts(job["reports_dir"], "validation/tfdv")
        if job.get("datasets"):
            contract = load_contract(job["datasets"]["contract"])
            data = Path(job["datasets"]["data"])
            log_datasets(load_split(data, contract), contract, data)
        if job.get("register"):
            written["version"] = register(job["register"], run_id, client)
        mlflow.end_run(status=job["status"])
    client.set_terminated(run_id, status=job["status"], end_time=end)
    return written


def register(push: dict, run_id: str, client: MlflowClient) -> str:
    """Log the pushed SavedModel as a pyfunc under the active run, register it as a new
    version of push["name"] and move the `champion` alias to it; returns the version."""
    import mlflow

    with tempfile.TemporaryDirectory() as code_root:
        code = Path(code_root, "models", "keras")
        code.mkdir(parents=True)
        for name in SERVING_IMPORTS:
            shutil.copy(REPO_ROOT / "models" / "keras" / name, code / name)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(SERVING_CODE),
            code_paths=[str(Path(code_root, "models"))],
            artifacts={"saved_model": push["saved_model"]},
            model_config={"classes": push["classes"]},
            signature=serving_signature(push["schema"]),
            pip_requirements=pinned_requirements(("mlflow", "tensorflow", "pandas", "numpy")),
        )
    name = push["name"]
    registered = mlflow.register_model(info.model_uri, name, tags={"pipeline": STACK})
    number = str(registered.version)
    client.set_registered_model_alias(name, CHAMPION, number)
    for key, value in (
        ("status", CHAMPION),
        ("source_run_id", run_id),
        ("pushed_destination", push["saved_model"]),
    ):
        client.set_model_version_tag(name, number, key, value)
    mlflow.set_tags({"model_version": number, "registered_model": f"models:/{name}/{number}"})
    return number


class PendingRecord:
    """`write` in a child process, which imports MLflow and opens the store before its
    job: started ahead of it (`prepare`), it does so while the run still works."""

    def __init__(self, contract: Contract, workdir: Workdir, log: Path) -> None:
        args = ["--workdir", str(workdir.root), "--experiment", contract.experiment]
        self._child = JobChild("components.tfx.mlflow_record", args, log=log)

    def prepare(self) -> None:
        """Start the child, which imports MLflow, opens the store and waits for `start`'s
        job."""
        self._child.start()

    def start(self, job: dict) -> Callable[[], dict[str, str]]:
        """Hand over the gathered run; returns what waits for `write`'s answer (and raises
        RuntimeError, naming the child's last words, when it could not be written)."""
        if not self._child.send(job):
            raise RuntimeError(self._child.error or "recorder not started")

        def wait() -> dict[str, str]:
            returncode, stdout, stderr = self._child.wait(timeout=300)
            if returncode != 0:
                raise RuntimeError(f"exit {returncode}: {stderr}")
            return json.loads(stdout.strip().splitlines()[-1])

        return wait

    def cancel(self) -> None:
        """Stop the child; one still opening the store finishes that first: a fresh
        store's tables are created by migrations that must not be cut short."""
        self._child.cancel(let_it_prepare=True)


def _flat(by_key: dict) -> list:
    return [a for artifacts in by_key.values() for a in artifacts]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write a TFX run to MLflow: open the store, then log the one JSON job "
        "`gather` made, read from stdin; print its run id (and registered version) as JSON."
    )
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--experiment", required=True)
    args = parser.parse_args(argv)
    lower_priority()
    import mlflow.pyfunc  # noqa: F401 - before the job, as the store: the child may start ahead of it

    workdir = Workdir(args.workdir)
    ensure_experiment(args.experiment, workdir)
    job = read_job()
    if job is None:
        return 0
    print(json.dumps(write(job, workdir)))
    return 0


if __name__ == "__main__":
    exit_without_final_collection(main())
