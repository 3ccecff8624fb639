"""Steps of the Lightning + MLflow pipeline, one module per step (wired by
pipelines/lightning/pipeline.py). Nothing here imports TFX or TensorFlow."""

from pathlib import Path

from components.shared import stacks
from components.shared.contract import Contract

STACK = "lightning"  # this wing's key in stacks.toml, and its folder names under --workdir


def reference_path(contract: Contract) -> Path:
    """The drift reference generated from the contract: data/<name>.reference.json."""
    return contract.companion(stacks.load()[STACK].companion_suffix)
