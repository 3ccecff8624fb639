"""The shared train/eval split as tensors, and the MLP, for the two torch baselines.

Simple preprocessing fitted on train: numeric features median-imputed then z-scored,
categorical features one-hot over the contract's domain (a missing value is all zeros).
The rows are the shared split's, so both baselines and both pipelines see the same data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from components.shared.contract import Contract
from components.shared.dataset import load_split


@dataclass(frozen=True)
class Tensors:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_eval: torch.Tensor
    y_eval: torch.Tensor


def load_tensors(data: Path, contract: Contract) -> Tensors:
    split = load_split(data, contract)
    numeric = [c.name for c in contract.numeric_features]
    medians = split.train[numeric].median()
    imputed_train = split.train[numeric].fillna(medians)
    means, stds = imputed_train.mean(), imputed_train.std(ddof=0).replace(0.0, 1.0)
    labels = {name: i for i, name in enumerate(contract.classes)}

    def features(frame: pd.DataFrame) -> torch.Tensor:
        parts = [((frame[numeric].fillna(medians) - means) / stds).to_numpy()]
        for column in contract.categorical_features:
            values = pd.Categorical(frame[column.name], categories=list(column.domain))
            parts.append(pd.get_dummies(values).to_numpy())
        return torch.from_numpy(np.concatenate(parts, axis=1).astype("float32"))

    def targets(frame: pd.DataFrame) -> torch.Tensor:
        return torch.from_numpy(frame[contract.label].map(labels).to_numpy(dtype="int64"))

    return Tensors(
        features(split.train), targets(split.train), features(split.eval), targets(split.eval)
    )


def mlp(n_inputs: int, hidden_units: tuple[int, ...], n_classes: int) -> nn.Sequential:
    """Linear + ReLU per hidden layer, then one logit per class."""
    layers: list[nn.Module] = []
    for units in hidden_units:
        layers += [nn.Linear(n_inputs, units), nn.ReLU()]
        n_inputs = units
    return nn.Sequential(*layers, nn.Linear(n_inputs, n_classes))
