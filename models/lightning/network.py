"""The Lightning stack's network: the contract's MLP as a plain torch module.

Built here and injected into the LightningModule (models/lightning/module.py) for
training; the served model (models/lightning/pyfunc.py) builds the same network to load
the trained weights into.
"""

from __future__ import annotations

from torch import nn


def build_network(n_inputs: int, hidden_units: list[int], n_classes: int) -> nn.Sequential:
    """Dense(h, ReLU) for each h, then one logit per class."""
    layers: list[nn.Module] = []
    width = n_inputs
    for units in hidden_units:
        layers += [nn.Linear(width, units), nn.ReLU()]
        width = units
    layers.append(nn.Linear(width, n_classes))
    return nn.Sequential(*layers)
