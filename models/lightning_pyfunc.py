"""The served Lightning model, logged with MLflow "models from code".

MLflow stores this file's source, not a pickle: loading the model executes this file and
reads plain artifacts (a torch state_dict loaded with weights_only=True, preprocessing
and architecture as JSON), so loading a model never unpickles arbitrary objects.

The file imports nothing from the repository because MLflow copies only this file into
the model. Training imports `build_network` and `transform` from here, so the network and
the preprocessing that were trained are, by construction, the ones that are served.
"""

from __future__ import annotations

import json
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import torch
from torch import nn

# A missing category is a value of its own (one-hot slot), as in training.
MISSING = "__missing__"


def build_network(n_inputs: int, hidden_units: list[int], n_classes: int) -> nn.Sequential:
    """Dense(h, ReLU) for each h, then one logit per class."""
    layers: list[nn.Module] = []
    width = n_inputs
    for units in hidden_units:
        layers += [nn.Linear(width, units), nn.ReLU()]
        width = units
    layers.append(nn.Linear(width, n_classes))
    return nn.Sequential(*layers)


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


def predict_frame(network: nn.Module, features: np.ndarray, classes: list[str]) -> pd.DataFrame:
    """The served output: the predicted class and one probability column per class."""
    network.eval()
    with torch.no_grad():
        probs = torch.softmax(network(torch.from_numpy(features)), dim=1).numpy()
    out = pd.DataFrame(probs.astype("float64"), columns=[f"prob_{c}" for c in classes])
    out.insert(0, "prediction", [classes[i] for i in probs.argmax(axis=1)])
    return out


class LightningMLP(mlflow.pyfunc.PythonModel):
    """Takes raw rows (the contract's feature columns), returns class and probabilities."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        with open(context.artifacts["preprocessing"]) as fh:
            self.preprocessing = json.load(fh)
        with open(context.artifacts["architecture"]) as fh:
            architecture = json.load(fh)
        self.classes = list(architecture["classes"])
        self.network = build_network(
            n_inputs(self.preprocessing), architecture["hidden_units"], len(self.classes)
        )
        state = torch.load(context.artifacts["weights"], map_location="cpu", weights_only=True)
        self.network.load_state_dict(state)
        self.network.eval()

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        return predict_frame(self.network, transform(model_input, self.preprocessing), self.classes)


mlflow.models.set_model(LightningMLP())
