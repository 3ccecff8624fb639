"""The TFX wing's steps: schema, example gen, gate, push, reports, edge export, MLflow
record. Cheap to import: TFX and TensorFlow are imported by the modules that need them."""

from pathlib import Path

from components.shared import stacks
from components.shared.contract import Contract

STACK = "tfx"  # this wing's key in stacks.toml, and its folder names under --workdir


def schema_path(contract: Contract) -> Path:
    """The curated TFDV schema generated from the contract: data/<name>.schema.pbtxt."""
    return contract.companion(stacks.load()[STACK].companion_suffix)
