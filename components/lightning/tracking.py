"""MLflow setup: where runs, artifacts and the model registry live."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from components.shared.contract import REPO_ROOT, Contract

# Without this tag the MLflow 3 UI opens the experiment in GenAI (traces) mode.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"


def _local_uri(workdir: Path) -> str:
    return f"sqlite:///{Path(workdir).resolve() / 'mlflow' / 'mlflow.db'}"


def _server_given(workdir: Path) -> bool:
    """MLFLOW_TRACKING_URI names another store than the workdir's own.

    mlflow.set_tracking_uri exports MLFLOW_TRACKING_URI itself, so after an earlier
    configure in this process (e.g. `python -m pipelines all`) the variable may hold
    exactly the workdir's store, which still needs its artifact location.
    """
    env = os.environ.get("MLFLOW_TRACKING_URI")
    return bool(env) and env != _local_uri(workdir)


def tracking_uri(workdir: Path) -> str:
    """MLFLOW_TRACKING_URI when set (a shared server), else a SQLite store in the workdir."""
    return os.environ.get("MLFLOW_TRACKING_URI") or _local_uri(workdir)


def configure(contract: Contract, workdir: Path) -> str:
    """Point MLflow at the store and return the contract's experiment id, creating it.

    The experiment is created with an explicit artifact_location: with a SQLite store,
    MLflow would otherwise write artifacts to ./mlruns in whatever the current directory is.
    """
    server_given = _server_given(workdir)
    # MLflow draws a tqdm bar on stderr for every artifact download (each model load).
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = tracking_uri(workdir)
    if uri.startswith("sqlite:///"):
        (Path(workdir) / "mlflow").mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(contract.experiment)
    if experiment is None:
        location = None
        if not server_given:
            location = (Path(workdir).resolve() / "mlflow" / "artifacts").as_uri()
        experiment_id = client.create_experiment(contract.experiment, artifact_location=location)
    else:
        experiment_id = experiment.experiment_id
    client.set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
    return experiment_id


def git_commit() -> str | None:
    """The checkout's commit, when the code runs from a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


@contextmanager
def timed(step: str) -> Iterator[None]:
    """Log the step's wall time as the metric time_<step>_s of the active run, even
    when the step stops the pipeline (a failed validation is timed too)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        mlflow.log_metric(f"time_{step}_s", round(time.perf_counter() - start, 3))
