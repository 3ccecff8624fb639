"""The TFX wing's steps: schema, example gen, gate, push, reports, edge export, MLflow
record. Cheap to import: TFX and TensorFlow are imported by the modules that need them."""

import os
from pathlib import Path

from components.shared import stacks
from components.shared.contract import Contract
from components.shared.layout import Workdir

STACK = "tfx"  # this wing's key in stacks.toml, and its folder names under --workdir


def metadata_store(workdir: Workdir, writable: bool = False):  # noqa: ANN201
    """The wing's ML Metadata store in `workdir` (SQLite), opened read-only unless
    `writable`; never created. Returns an ml_metadata MetadataStore (imported here, so
    importing this package stays cheap)."""
    from ml_metadata.metadata_store import metadata_store as mlmd
    from ml_metadata.proto import metadata_store_pb2

    modes = metadata_store_pb2.SqliteMetadataSourceConfig
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(workdir.metadata_db(STACK))
    config.sqlite.connection_mode = modes.READWRITE if writable else modes.READONLY
    return mlmd.MetadataStore(config)


def staging_dir(base_directory: str) -> str:
    """Where a push (or a rollback's republished push) is assembled before one rename
    publishes it: beside the serving directory (same filesystem, so rename is atomic),
    hidden, and not a <digits> name a model server would load."""
    parent, name = os.path.split(base_directory.rstrip("/"))
    return os.path.join(parent, f".{name}.staging")


def schema_path(contract: Contract) -> Path:
    """The curated TFDV schema generated from the contract: data/<name>.schema.pbtxt."""
    return contract.companion(stacks.load()[STACK].companion_suffix)
