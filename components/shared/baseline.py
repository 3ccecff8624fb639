"""The honest baseline: what always predicting the training rows' most frequent class
scores on the eval rows. Both stacks record it beside their model's metrics, and both
gates require the model to beat it by the contract's `evaluation.min_lift_over_baseline`,
so a constant predictor is never pushed or promoted, whatever `min_accuracy` says.

scikit-learn's DummyClassifier(strategy="most_frequent") is the baseline; its accuracy and
per-class recall come from sklearn.metrics, as the Lightning side's own metrics do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier
from sklearn.metrics import accuracy_score, recall_score

from components.shared.contract import Contract


@dataclass(frozen=True)
class Baseline:
    predicts: str  # the class it always predicts
    accuracy: float  # on the eval rows
    recall: dict[str, float]  # per class, on the eval rows

    def metrics(self) -> dict[str, float]:
        """What both stacks log: eval_accuracy_baseline, eval_recall_baseline_<class>."""
        return {
            "eval_accuracy_baseline": self.accuracy,
            **{f"eval_recall_baseline_{c}": r for c, r in self.recall.items()},
        }


def majority_baseline(
    train_labels: Sequence[str], eval_labels: Sequence[str], classes: Sequence[str]
) -> Baseline:
    """Fit the most-frequent-class predictor on the train labels, score it on eval's."""
    # Fitted on category codes: sklearn's np.unique over a million label strings copies
    # them into a fixed-width array (tens of MB) or, as objects, compares them in Python.
    # The names are sorted, so the codes order the classes as the strings would (ties).
    train_s, eval_s = pd.Series(train_labels, dtype=object), pd.Series(eval_labels, dtype=object)
    names = sorted({*classes, *train_s.unique(), *eval_s.unique()})
    train = pd.Categorical(train_s, categories=names).codes
    eval_ = pd.Categorical(eval_s, categories=names).codes
    dummy = DummyClassifier(strategy="most_frequent").fit(np.zeros((len(train), 1)), train)
    predicted = dummy.predict(np.zeros((len(eval_), 1)))
    recall = recall_score(
        eval_, predicted, labels=[names.index(c) for c in classes], average=None, zero_division=0
    )
    return Baseline(
        predicts=str(names[dummy.classes_[np.argmax(dummy.class_prior_)]]),
        accuracy=float(accuracy_score(eval_, predicted)),
        recall={c: float(r) for c, r in zip(classes, recall, strict=True)},
    )


def required_accuracy(contract: Contract, baseline: Baseline) -> float:
    """The accuracy a model needs: the contract's floor, or the baseline plus the lift."""
    return round(max(contract.min_accuracy, baseline.accuracy + contract.min_lift_over_baseline), 6)


def describe(contract: Contract, baseline: Baseline) -> str:
    """One line for the run's output."""
    return (
        f"baseline: always predicting '{baseline.predicts}' scores {baseline.accuracy:.4f} on "
        f"the eval rows; a model needs >= {required_accuracy(contract, baseline):.4f} "
        f"(min_accuracy {contract.min_accuracy}, baseline + lift "
        f"{contract.min_lift_over_baseline})"
    )
