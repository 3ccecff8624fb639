"""The served Lightning model, logged with MLflow "models from code".

MLflow stores this file's source, not a pickle, and ships models/lightning's network and
features modules beside it (`code_paths`): loading the model executes this file and
reads plain artifacts (a torch state_dict loaded with weights_only=True, preprocessing
and architecture as JSON), so loading a model never unpickles arbitrary objects. It
imports the network and the features that training used, so what was trained is, by
construction, what is served.
"""

from __future__ import annotations

import json
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import torch
from torch import nn

from models.lightning.features import n_inputs, transform
from models.lightning.network import build_network


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
