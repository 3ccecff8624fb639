"""Recognise a TFX rerun with nothing changed, before TFX is imported.

TFX's cache already reuses every execution of an unchanged rerun, but only after
importing TFX, TFMA and TFT (about 19 s on the reference machine) and querying MLMD. A
run that ended with a push leaves a fingerprint of everything its result depends on
(data bytes, contract, curated schema, the TFX half's source, the TFX/TF/Beam versions,
the Beam arguments); the next run with the same fingerprint, whose push is still the
latest in place, is answered from that record in well under a second.

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

from components.shared.contract import REPO_ROOT, Contract
from components.shared.dataset import file_sha256

# Everything the TFX pipeline runs: its wiring, its components, the shared contract and
# split code, and the Keras model. The Lightning half is deliberately absent.
SOURCES = (
    "pipelines/tfx_pipeline.py",
    "pipelines/exit_codes.py",
    "components/shared",
    "components/tfx",
    "models/keras",
)
PACKAGES = (
    "tfx",
    "tensorflow",
    "tensorflow-transform",
    "tensorflow-model-analysis",
    "tensorflow-data-validation",
    "apache-beam",
    "keras",
)


def record_path(workdir: Path, contract: Contract) -> Path:
    return Path(workdir) / "tfx" / "last_push" / f"{contract.name}.json"


def _source_files() -> list[Path]:
    files: list[Path] = []
    for entry in SOURCES:
        path = REPO_ROOT / entry
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return [f for f in files if f.exists()]


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def fingerprint(contract: Contract, data: Path, beam_args: Sequence[str]) -> str:
    """sha256 over what a TFX run's outcome depends on."""
    digest = hashlib.sha256()

    def add(label: str, payload: bytes) -> None:
        digest.update(f"{label}\0{len(payload)}\0".encode())
        digest.update(payload)

    add("data", file_sha256(data).encode())
    add("contract", contract.source.read_bytes())
    if contract.schema_path.exists():
        add("schema", contract.schema_path.read_bytes())
    for source in _source_files():
        add(str(source.relative_to(REPO_ROOT)), source.read_bytes())
    versions = {package: _version(package) for package in PACKAGES}
    versions["python"] = platform.python_version()
    add("versions", json.dumps(versions, sort_keys=True).encode())
    add("beam_args", json.dumps(list(beam_args)).encode())
    return digest.hexdigest()


def _latest_push(serving_dir: Path) -> Path | None:
    versions = [p for p in serving_dir.glob("*") if (p / "saved_model.pb").exists()]
    return max(versions, key=lambda p: p.name, default=None)


def unchanged_run(
    contract: Contract, data: Path, workdir: Path, beam_args: Sequence[str]
) -> dict | None:
    """The record of the last pushed run when this run would repeat it, else None.

    It would repeat it when the fingerprint matches, the MLMD store is still there, and
    the model that run pushed is still the latest push (nothing deleted or pushed since).
    """
    path = record_path(workdir, contract)
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    pushed = Path(record.get("pushed", ""))
    if (
        record.get("fingerprint") != fingerprint(contract, data, beam_args)
        or not (Path(workdir) / "tfx" / "metadata.db").exists()
        or not record.get("pushed")
        or _latest_push(pushed.parent) != pushed
    ):
        return None
    return record


def remember(contract: Contract, workdir: Path, taken: str, pushed: str, summary: str) -> None:
    """Write the record after a run that pushed; replaced atomically. `taken` is the
    fingerprint taken when that run started: files edited while it ran are not what it
    ran, so the next run must not be answered from this record."""
    path = record_path(workdir, contract)
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


def forget(contract: Contract, workdir: Path) -> None:
    """Drop the record (a run that did not push leaves none)."""
    record_path(workdir, contract).unlink(missing_ok=True)
