"""Read back what the pipelines recorded in MLflow: the latest run of each stack in this
tree (stacks.toml), found by its `pipeline` tag."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Run

from components.shared import stacks
from components.shared.tracking import CONFUSION_MATRIX_ARTIFACT

CURVES = ("train_loss", "val_loss", "val_accuracy")


@dataclass
class StackRun:
    stack: str
    run_id: str
    status: str
    outcome: str
    outcome_detail: str
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    step_times: dict[str, float]
    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    confusion: dict | None = None
    mlflow_artifacts: int = 0  # files the run holds in MLflow

    @property
    def accuracy(self) -> float | None:
        return self.metrics.get("eval_accuracy")

    def f1(self, cls: str) -> float | None:
        return self.metrics.get(f"eval_f1_{cls}")


@dataclass
class History:
    """Every run of one stack: which outcomes, how often (what stopped runs)."""

    stack: str
    outcomes: Counter


def _summarise(client: MlflowClient, run: Run, stack: str) -> StackRun:
    metrics = dict(run.data.metrics)
    step_times = {
        k[len("time_") : -len("_s")]: v
        for k, v in metrics.items()
        if k.startswith("time_") and k.endswith("_s") and k != "time_total_s"
    }
    curves = {}
    for key in CURVES:
        history = client.get_metric_history(run.info.run_id, key)
        if history:
            curves[key] = sorted((m.step, m.value) for m in history)
    confusion = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = client.download_artifacts(run.info.run_id, CONFUSION_MATRIX_ARTIFACT, tmp)
            confusion = json.loads(Path(path).read_text())
    except Exception:  # noqa: BLE001 - a run that stopped before evaluation has none
        confusion = None
    tags = dict(run.data.tags)
    artifacts = _count_artifacts(client, run.info.run_id)
    return StackRun(
        stack=stack,
        run_id=run.info.run_id,
        status=run.info.status,
        outcome=tags.get("outcome", "unknown"),
        outcome_detail=tags.get("outcome_detail", ""),
        params=dict(run.data.params),
        metrics=metrics,
        tags=tags,
        step_times=step_times,
        curves=curves,
        confusion=confusion,
        mlflow_artifacts=artifacts,
    )


def _count_artifacts(client: MlflowClient, run_id: str, path: str | None = None) -> int:
    total = 0
    for item in client.list_artifacts(run_id, path):
        total += _count_artifacts(client, run_id, item.path) if item.is_dir else 1
    return total


def latest_runs(experiment: str, client: MlflowClient | None = None) -> dict[str, StackRun]:
    """{stack: its latest run that got as far as evaluation}, for the stacks that have one."""
    client = client or MlflowClient()
    latest = _latest_per_stack(
        client, experiment, "tags.pipeline = '{stack}' and metrics.eval_accuracy >= 0"
    )
    return {stack: _summarise(client, run, stack) for stack, run in latest.items()}


def _latest_per_stack(client: MlflowClient, experiment: str, where: str) -> dict[str, Run]:
    """{stack: its latest run matching `where` (a filter string with `{stack}`)}."""
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return {}
    found = {}
    for stack in stacks.load():
        runs = client.search_runs(
            [exp.experiment_id],
            filter_string=where.format(stack=stack),
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        if runs:
            found[stack] = runs[0]
    return found


def evaluated_experiments(client: MlflowClient | None = None) -> list[str]:
    """The experiments holding at least one evaluated pipeline run, by name."""
    client = client or MlflowClient()
    return [
        exp.name
        for exp in client.search_experiments()
        if client.search_runs(
            [exp.experiment_id], filter_string="metrics.eval_accuracy >= 0", max_results=1
        )
    ]


def run_histories(experiment: str, client: MlflowClient | None = None) -> list[History]:
    client = client or MlflowClient()
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return []
    histories = []
    for stack in stacks.load():
        runs = client.search_runs(
            [exp.experiment_id], filter_string=f"tags.pipeline = '{stack}'", max_results=5000
        )
        histories.append(History(stack, Counter(r.data.tags.get("outcome", "?") for r in runs)))
    return histories


def latest_monitoring(experiment: str, client: MlflowClient | None = None) -> dict[str, dict]:
    """{stack: its latest `monitor` verdict}: the served model version, the rows judged,
    the outcome and the skewed features (components/shared/monitoring.py records them)."""
    from components.shared.monitoring import MONITOR_TAG

    client = client or MlflowClient()
    latest = _latest_per_stack(client, experiment, f"tags.{MONITOR_TAG} = '{{stack}}'")
    return {
        stack: {
            "version": run.data.tags.get("model_version", ""),
            "rows": run.data.params.get("rows", ""),
            "outcome": run.data.tags.get("outcome", ""),
            "skewed": run.data.tags.get("skewed_features", ""),
            "method": run.data.tags.get("method", ""),
        }
        for stack, run in latest.items()
    }


def replay_timeline(experiment: str, client: MlflowClient | None = None) -> dict | None:
    """The latest replayed scenario's timeline, from the tags `replay` put on each run
    (components/shared/scenario.py): {"scenario", "stacks", "events": [{"step", "event",
    "stacks": {stack: {"outcome"}}}]}; None when no run was replayed."""
    from components.shared.scenario import EVENT_TAG, SCENARIO_TAG, SEEN_TAG, STEP_TAG

    client = client or MlflowClient()
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return None
    runs = client.search_runs(
        [exp.experiment_id],
        filter_string=f"tags.{STEP_TAG} != ''",
        order_by=["attributes.start_time DESC"],
        max_results=5000,
    )
    if not runs:
        return None
    scenario = runs[0].data.tags[SCENARIO_TAG]
    wings = list(stacks.load())
    events: dict[int, dict] = {}
    for run in reversed(runs):  # oldest first: a rerun's cell replaces the earlier one
        tags = run.data.tags
        stack = tags.get("pipeline") or tags.get("rollback")
        if tags.get(SCENARIO_TAG) != scenario or stack not in wings:
            continue
        step = int(tags[STEP_TAG])
        row = events.setdefault(step, {"step": step, "event": tags[EVENT_TAG], "stacks": {}})
        row["stacks"][stack] = {"outcome": tags.get(SEEN_TAG, "")}
    return {"scenario": scenario, "stacks": wings, "events": [events[k] for k in sorted(events)]}
