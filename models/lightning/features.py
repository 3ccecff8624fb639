"""The Lightning stack's features: raw rows to the network's float32 input.

One module for the preprocessing the pipeline fits (components/lightning/preprocess.py),
the served model applies (models/lightning/pyfunc.py) and the ONNX export ships
(components/lightning/edge.py): the fitted parameters are plain JSON.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

# A missing category is a value of its own (one-hot slot), as in training.
MISSING = "__missing__"


def n_inputs(preprocessing: dict[str, Any]) -> int:
    """Width of the model input that `transform` produces."""
    return len(preprocessing["numeric"]) + sum(
        len(vocab) for vocab in preprocessing["categorical"].values()
    )


def transform(frame: pd.DataFrame, preprocessing: dict[str, Any]) -> np.ndarray:
    """Raw rows to the float32 model input: impute with the train mean and z-score the
    numeric columns, one-hot the categorical ones over the contract domain + MISSING.

    A category outside the vocabulary (schema enforcement lets any string through at
    serving time) gets an all-zero one-hot block instead of an error.
    """

    def cells(column: str) -> pd.Series:
        # The signature marks nullable features optional, so a request may omit them.
        if column in frame.columns:
            return frame[column]
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)

    # Filled column by column, in float32: on a million rows a float64 copy of every
    # block, or a new string per cell, would cost more than the data itself.
    out = np.zeros((len(frame), n_inputs(preprocessing)), dtype="float32")
    at = 0
    for column, stats in preprocessing["numeric"].items():
        values = pd.to_numeric(cells(column), errors="coerce").astype("float64").to_numpy()
        values = np.where(np.isnan(values), stats["mean"], values)
        out[:, at] = (values - stats["mean"]) / stats["std"]
        at += 1
    for column, vocab in preprocessing["categorical"].items():
        # Each distinct value is looked up once, as its str(), like a served JSON number.
        codes, distinct = pd.factorize(cells(column), use_na_sentinel=True)
        slot = {name: i for i, name in enumerate(vocab)}
        lookup = np.array([slot.get(str(v), -1) for v in distinct] + [slot[MISSING]])
        found = lookup[codes]  # a missing cell's code is -1: the MISSING slot, last
        rows = np.flatnonzero(found >= 0)
        out[rows, at + found[rows]] = 1.0
        at += len(vocab)
    return out
