"""The majority-class baseline both stacks record and both gates must beat."""

from __future__ import annotations

import pytest

from components.shared.baseline import majority_baseline, required_accuracy
from components.shared.dataset import load_split


def test_the_baseline_always_predicts_the_training_majority():
    baseline = majority_baseline(["a", "a", "b"], ["a", "b", "b", "c"], ["a", "b", "c"])
    assert baseline.predicts == "a"
    assert baseline.accuracy == 0.25
    assert baseline.recall == {"a": 1.0, "b": 0.0, "c": 0.0}
    assert baseline.metrics()["eval_accuracy_baseline"] == 0.25


def test_no_contract_lets_a_constant_predictor_through(contract):
    """Whatever min_accuracy says, the required accuracy is above what predicting any one
    class scores on the shipped eval rows."""
    split = load_split(contract.path, contract)
    baseline = majority_baseline(
        split.train[contract.label], split.eval[contract.label], contract.classes
    )
    lenient = contract.with_overrides(min_accuracy=0.0)
    needed = required_accuracy(lenient, baseline)
    assert needed == pytest.approx(baseline.accuracy + contract.min_lift_over_baseline)
    shares = split.eval[contract.label].value_counts(normalize=True)
    assert needed > shares.max()
