"""Evaluate: eval metrics and the promotion gates.

Gates, all on the same eval rows:
  (a) accuracy >= contract.min_accuracy, and >= the majority-class baseline's accuracy
      + contract.min_lift_over_baseline (components/shared/baseline.py)
  (b) accuracy >= champion's accuracy - contract.max_accuracy_drop
  (c) the model reloaded from its MLflow URI predicts the raw rows like the in-memory one

The metrics are scikit-learn's, under the names both stacks log (components/shared/
tracking.py): mlflow.models.evaluate's default evaluator names its own (accuracy_score,
a weighted f1_score, ...) and would put a second set beside them in every run.

Gate (b) is hand-written because MLflow's MetricThreshold (validate_evaluation_results)
only asks a candidate to beat its baseline by a positive margin (min_absolute_change >
0), not to stay within an allowed drop; (a) sits beside it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient
from sklearn.metrics import confusion_matrix, f1_score, log_loss

from components.lightning import STACK
from components.shared.baseline import Baseline, required_accuracy
from components.shared.contract import Contract
from components.shared.tracking import CHAMPION, champion_version

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Gate:
    name: str
    passed: bool
    detail: str


def metrics(probs: np.ndarray, labels: np.ndarray, classes: tuple[str, ...]) -> dict[str, float]:
    """accuracy, log loss and F1 per class (named eval_f1_<class>)."""
    predicted = probs.argmax(axis=1)
    # float32 softmax rows sum to 1 only within float32 precision; sklearn checks float64.
    probs = probs / probs.sum(axis=1, keepdims=True)
    out = {
        "eval_accuracy": float((predicted == labels).mean()),
        "eval_log_loss": float(log_loss(labels, probs, labels=list(range(len(classes))))),
    }
    f1 = f1_score(
        labels, predicted, labels=list(range(len(classes))), average=None, zero_division=0
    )
    for name, value in zip(classes, f1, strict=True):
        out[f"eval_f1_{name}"] = float(value)
    out["eval_f1_macro"] = float(np.mean(f1))
    return out


def confusion(probs: np.ndarray, labels: np.ndarray, classes: tuple[str, ...]) -> dict[str, Any]:
    """Rows: true class, columns: predicted class (the report's shared artifact format)."""
    matrix = confusion_matrix(labels, probs.argmax(axis=1), labels=list(range(len(classes))))
    return {"classes": list(classes), "matrix": matrix.tolist()}


def served_accuracy(model_uri: str, features: pd.DataFrame, labels: pd.Series) -> float:
    """Accuracy of a logged/registered pyfunc model on raw rows."""
    predictions = mlflow.pyfunc.load_model(model_uri).predict(features)
    return float((predictions["prediction"].to_numpy() == labels.to_numpy()).mean())


def gate_min_accuracy(accuracy: float, contract: Contract, baseline: Baseline) -> Gate:
    needed = required_accuracy(contract, baseline)
    return Gate(
        "min_accuracy",
        accuracy >= needed,
        f"eval accuracy {accuracy:.4f} vs required {needed:.4f} (min_accuracy "
        f"{contract.min_accuracy}; majority baseline {baseline.accuracy:.4f} + lift "
        f"{contract.min_lift_over_baseline})",
    )


def gate_champion(
    accuracy: float,
    contract: Contract,
    client: MlflowClient,
    features: pd.DataFrame,
    labels: pd.Series,
) -> tuple[Gate, float | None]:
    """Compare with the current champion on the same rows (scored now, not its old metric,
    so a changed eval set cannot flatter either model)."""
    champion = champion_version(client, contract.registered_model(STACK))
    if champion is None:
        return Gate("champion", True, "no champion yet"), None
    uri = f"models:/{contract.registered_model(STACK)}@{CHAMPION}"
    try:
        theirs = served_accuracy(uri, features, labels)
    except Exception as exc:  # noqa: BLE001 - any failure to score means "cannot compare"
        return Gate(
            "champion", False, f"champion v{champion.version} cannot be scored: {exc}"
        ), None
    floor = theirs - contract.max_accuracy_drop
    return (
        Gate(
            "champion",
            accuracy >= floor,
            f"eval accuracy {accuracy:.4f} vs champion v{champion.version} {theirs:.4f} "
            f"(allowed drop {contract.max_accuracy_drop})",
        ),
        theirs,
    )


def gate_reload(model_uri: str, features: pd.DataFrame, expected: pd.DataFrame) -> Gate:
    """The logged artifact is what gets served: it must reproduce the in-memory model."""
    try:
        reloaded = mlflow.pyfunc.load_model(model_uri).predict(features)
    except Exception as exc:  # noqa: BLE001 - a model that cannot load fails the gate
        return Gate("reload", False, f"logged model {model_uri} cannot be loaded: {exc}")
    same_labels = list(reloaded["prediction"]) == list(expected["prediction"])
    prob_cols = [c for c in expected.columns if c.startswith("prob_")]
    close = same_labels and np.allclose(
        reloaded[prob_cols].to_numpy(), expected[prob_cols].to_numpy(), rtol=0, atol=1e-6
    )
    if close:
        return Gate("reload", True, f"{len(expected)} eval rows predicted identically")
    mismatches = int((reloaded["prediction"].to_numpy() != expected["prediction"].to_numpy()).sum())
    return Gate("reload", False, f"reloaded model differs on {mismatches} eval rows")
