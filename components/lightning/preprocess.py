"""Preprocess: fit imputation, z-scoring and one-hot vocabularies on the train split only.

The fitted parameters are plain JSON; models/lightning/features.py's `transform` applies
them, in training and in the served model, so serving takes raw rows and unpickles
nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from components.shared.contract import Contract
from models.lightning.features import MISSING, transform

__all__ = ["fit", "transform", "features_and_labels"]


def fit(train: pd.DataFrame, contract: Contract) -> dict[str, Any]:
    """Means/stds of numeric features and vocabularies (contract domain + MISSING) of
    categorical features, in contract column order."""
    numeric = {}
    for column in contract.numeric_features:
        values = train[column.name].astype("float64")
        std = float(values.std(ddof=0))
        # A constant column would divide by zero; it carries no signal, keep it at 0.
        numeric[column.name] = {"mean": float(values.mean()), "std": std if std > 0 else 1.0}
    categorical = {c.name: [*c.domain, MISSING] for c in contract.categorical_features}
    return {
        "numeric": numeric,
        "categorical": categorical,
        "feature_columns": [c.name for c in contract.features],
    }


def features_and_labels(
    frame: pd.DataFrame, preprocessing: dict[str, Any], contract: Contract
) -> tuple[np.ndarray, np.ndarray]:
    """Model input and class indices (position in contract.classes)."""
    index = {name: i for i, name in enumerate(contract.classes)}
    labels = frame[contract.label].map(index).to_numpy(dtype="int64")
    return transform(frame, preprocessing), labels
