"""MLflow setup: where runs, artifacts and the model registry live."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import mlflow

from components.shared.contract import Contract
from components.shared.layout import Workdir
from components.shared.tracking import ensure_experiment


def configure(contract: Contract, workdir: Workdir) -> str:
    """Point MLflow (tracking and registry) at the store and return the contract's
    experiment id, created with its artifacts beside the store (see ensure_experiment)."""
    # MLflow draws a tqdm bar on stderr for every artifact download (each model load).
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    experiment_id = ensure_experiment(contract.experiment, workdir)
    mlflow.set_registry_uri(mlflow.get_tracking_uri())
    return experiment_id


@contextmanager
def timed(step: str) -> Iterator[None]:
    """Log the step's wall time as the metric time_<step>_s of the active run, and say
    on the terminal that it is done, even when the step stops the pipeline (a failed
    validation is timed too)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - start
        print(f"  {step} done in {seconds:.1f} s", flush=True)
        mlflow.log_metric(f"time_{step}_s", round(seconds, 3))
