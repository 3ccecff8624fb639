"""What each step of the Lightning pipeline leaves in the active MLflow run, under the
names both stacks use (components/shared/tracking.py).

The steps only compute (so their unit tests open no run); the pipeline hands each step's
result to the matching function here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow

from components.shared.contract import Contract
from components.shared.tracking import CONFUSION_MATRIX_ARTIFACT, contract_params, log_datasets

if TYPE_CHECKING:
    from components.lightning.evaluate import Gate
    from components.lightning.validate_data import ValidationReport
    from components.shared.baseline import Baseline
    from components.shared.dataset import Split


def settings(contract: Contract, data: Path, training: dict[str, Any]) -> None:
    """The contract's hyperparameters, the training options and the data's path."""
    mlflow.log_params(
        {**contract_params(contract), **training, "data_path": str(Path(data).resolve())}
    )


def ingested(split: Split, contract: Contract, data: Path) -> None:
    """The data's hash and split sizes, and the split as the run's MLflow datasets."""
    mlflow.log_params(
        {"data_sha256": split.data_sha256, **{f"{k}_rows": v for k, v in split.sizes.items()}}
    )
    log_datasets(split, contract, data)


def validated(report: ValidationReport) -> None:
    """Great Expectations' results and Data Docs, and how many expectations failed."""
    mlflow.log_dict(report.results, "validation/ge_results.json")
    if report.docs_dir.exists():
        mlflow.log_artifacts(str(report.docs_dir), "validation/data_docs")
    mlflow.log_metric("validation_failed_expectations", len(report.failures))


def drift_checked(measured: dict, findings: list) -> None:
    mlflow.log_dict(
        {"measured": measured, "findings": [str(f) for f in findings]}, "validation/drift.json"
    )


def training_reference(reference: dict) -> None:
    """The training rows' statistics: what `monitor` compares this model's traffic with."""
    from components.lightning.monitor import TRAINING_REFERENCE

    mlflow.log_dict(reference, TRAINING_REFERENCE)


def preprocessed(preprocessing: dict) -> None:
    mlflow.log_dict(preprocessing, "preprocessing.json")


def trained(best_epoch: int) -> None:
    mlflow.log_metric("best_epoch", best_epoch)


def evaluated(scores: dict[str, float], confusion: dict, baseline: Baseline) -> None:
    """The model's scores and confusion matrix, and the majority-class baseline's."""
    mlflow.log_metrics({**scores, **baseline.metrics()})
    mlflow.log_dict(confusion, CONFUSION_MATRIX_ARTIFACT)


def gated(gates: list[Gate], champion_accuracy: float | None) -> None:
    """Each gate's verdict, and the champion's accuracy on these rows when there is one."""
    if champion_accuracy is not None:
        mlflow.log_metric("champion_eval_accuracy", champion_accuracy)
    mlflow.log_metrics({f"gate_{gate.name}_passed": float(gate.passed) for gate in gates})
    mlflow.log_dict([gate.__dict__ for gate in gates], "evaluation/gates.json")


def promoted(name: str, version: int, made_champion: bool) -> None:
    """The registered version, and what the run published (the models:/ URI, or nothing)."""
    mlflow.set_tags(
        {
            "model_version": str(version),
            "published_model": f"models:/{name}/{version}" if made_champion else "",
            "promoted": str(made_champion).lower(),
        }
    )
