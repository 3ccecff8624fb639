"""The TFX wing's steps: schema, example gen, gate, push, reports, edge export, MLflow
record. Cheap to import: TFX and TensorFlow are imported by the modules that need them."""

import os
from pathlib import Path

from components.shared import stacks
from components.shared.contract import Contract

STACK = "tfx"  # this wing's key in stacks.toml, and its folder names under --workdir


def staging_dir(base_directory: str) -> str:
    """Where a push (or a rollback's republished push) is assembled before one rename
    publishes it: beside the serving directory (same filesystem, so rename is atomic),
    hidden, and not a <digits> name a model server would load."""
    parent, name = os.path.split(base_directory.rstrip("/"))
    return os.path.join(parent, f".{name}.staging")


def schema_path(contract: Contract) -> Path:
    """The curated TFDV schema generated from the contract: data/<name>.schema.pbtxt."""
    return contract.companion(stacks.load()[STACK].companion_suffix)
