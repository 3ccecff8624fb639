"""Recognise a TFX rerun with nothing changed, before TFX is imported.

TFX's cache already reuses every execution of an unchanged rerun, but only after
importing TFX, TFMA and TFT (about 19 s on the reference machine) and querying MLMD. A
run that ended with a push leaves a fingerprint of everything its result depends on
(data bytes, contract, curated schema, every file of the TFX wing per stacks.toml and
the shared code, the TFX/TF/Beam versions, the Beam arguments); the next run with the
same fingerprint, whose push is still the latest in place, is answered from that record
in well under a second.

This module must stay cheap to import: no TFX, TensorFlow, Beam or MLflow.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import time
from collections.abc import Sequence
from pathlib import Path

from components.shared import stacks
from components.shared.contract import REPO_ROOT, Contract
from components.shared.layout import Workdir
from components.tfx import STACK, schema_path

# Beside the wing's own files (stacks.toml): the shared code every run executes.
SHARED_SOURCES = ("components/shared", "pipelines/__main__.py")
PACKAGES = (
    "tfx",
    "tensorflow",
    "tensorflow-transform",
    "tensorflow-model-analysis",
    "tensorflow-data-validation",
    "apache-beam",
    "keras",
)


def source_files(root: Path = REPO_ROOT) -> list[Path]:
    """Every file of the TFX wing (stacks.toml) and the shared code it runs."""
    shared = stacks.files_under(SHARED_SOURCES, root, suffix=".py")
    return sorted({*stacks.load(root)[STACK].files(root), *shared, root / stacks.MANIFEST})


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def fingerprint(contract: Contract, data_sha256: str, beam_args: Sequence[str]) -> str:
    """sha256 over what a TFX run's outcome depends on (`data_sha256`: the data file's)."""
    digest = hashlib.sha256()

    def add(label: str, payload: bytes) -> None:
        digest.update(f"{label}\0{len(payload)}\0".encode())
        digest.update(payload)

    add("data", data_sha256.encode())
    add("contract", contract.source.read_bytes())
    schema = schema_path(contract)
    if schema.exists():
        add("schema", schema.read_bytes())
    for source in source_files():
        add(str(source.relative_to(REPO_ROOT)), source.read_bytes())
    versions = {package: _version(package) for package in PACKAGES}
    versions["python"] = platform.python_version()
    add("versions", json.dumps(versions, sort_keys=True).encode())
    add("beam_args", json.dumps(list(beam_args)).encode())
    return digest.hexdigest()


def unchanged_run(
    contract: Contract, data_sha256: str, workdir: Workdir, beam_args: Sequence[str]
) -> dict | None:
    """The record of the last pushed run when this run would repeat it, else None.

    It would repeat it when the fingerprint matches, the MLMD store is still there, and
    the model that run pushed is still the latest push (nothing deleted or pushed since).
    """
    path = workdir.last_run_record(STACK, contract)
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if (
        record.get("fingerprint") != fingerprint(contract, data_sha256, beam_args)
        or not workdir.metadata_db(STACK).exists()
        or not record.get("pushed")
        or workdir.latest_push(STACK, contract) != Path(record["pushed"])
    ):
        return None
    return record


def remember(contract: Contract, workdir: Workdir, taken: str, pushed: str, summary: str) -> None:
    """Write the record after a run that pushed; replaced atomically. `taken` is the
    fingerprint taken when that run started: files edited while it ran are not what it
    ran, so the next run must not be answered from this record."""
    path = workdir.last_run_record(STACK, contract)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "fingerprint": taken,
        "pushed": str(pushed),
        "summary": summary,
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(record, indent=2) + "\n")
    partial.replace(path)


def forget(contract: Contract, workdir: Workdir) -> None:
    """Drop the record (a run that did not push leaves none)."""
    workdir.last_run_record(STACK, contract).unlink(missing_ok=True)
