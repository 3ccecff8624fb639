"""Where and how both pipelines record runs in MLflow, so the two are comparable column
for column in the MLflow UI and the report can read them back.

Names every run uses:
  tags     pipeline (tfx | lightning), outcome (see OUTCOMES), outcome_detail
  params   the contract's hyperparameters, data_sha256, train_rows, eval_rows
  metrics  eval_accuracy, eval_f1_<class>, eval_log_loss (when the stack computes it);
           time_<step>_s per step and time_total_s; per epoch (step = epoch):
           train_loss, val_loss, val_accuracy
  artifact eval/confusion_matrix.json  {"classes": [...], "matrix": [[...], ...]}
"""

from __future__ import annotations

import os
from pathlib import Path

OUTCOMES = ("pushed", "promoted", "data_invalid", "not_blessed", "error")
CONFUSION_MATRIX_ARTIFACT = "eval/confusion_matrix.json"


def tracking_uri(workdir: Path) -> str:
    """MLFLOW_TRACKING_URI when set (e.g. a shared server), else the workdir's SQLite store."""
    return (
        os.environ.get("MLFLOW_TRACKING_URI")
        or f"sqlite:///{Path(workdir) / 'mlflow' / 'mlflow.db'}"
    )


def is_server(uri: str) -> bool:
    return uri.startswith(("http://", "https://", "databricks"))


def artifact_root(workdir: Path) -> str:
    return (Path(workdir) / "mlflow" / "artifacts").resolve().as_uri()


def ensure_experiment(name: str, workdir: Path) -> str:
    """The experiment's id, created with artifacts beside the store (MLflow's default with
    a SQLite URI is ./mlruns in the current directory) and opening on training runs."""
    import mlflow

    uri = tracking_uri(workdir)
    mlflow.set_tracking_uri(uri)
    (Path(workdir) / "mlflow").mkdir(parents=True, exist_ok=True)
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is None:
        # A tracking server decides where artifacts go; a local store needs a location.
        location = None if is_server(uri) else artifact_root(workdir)
        try:
            experiment_id = mlflow.create_experiment(name, artifact_location=location)
        except mlflow.exceptions.MlflowException:
            # Created meanwhile by a concurrent run.
            experiment_id = mlflow.get_experiment_by_name(name).experiment_id
    else:
        experiment_id = experiment.experiment_id
    mlflow.MlflowClient().set_experiment_tag(
        experiment_id, "mlflow.experimentKind", "custom_model_development"
    )
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id
