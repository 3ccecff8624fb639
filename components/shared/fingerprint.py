"""Recognise a rerun with nothing changed, before the stack's framework is imported.

A run that ended by publishing a model (a TFX push, a Lightning champion) leaves a record
of everything its result depends on: the data bytes, the contract and the stack's
companion of it, every file of the wing (stacks.toml) and the shared code, the versions
of the wing's main packages, and the run's options. The next run of that stack with the
same fingerprint, whose published model is still the one in place (each wing says how to
tell), is answered from that record in well under a second and records nothing new.
Retraining on the same inputs would only publish the same model again.

This module must stay cheap to import: no framework, no MLflow.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from components.shared import stacks
from components.shared.contract import REPO_ROOT, Contract
from components.shared.layout import Workdir

# Beside each wing's own files (stacks.toml): the shared code every run executes.
SHARED_SOURCES = ("components/shared", "pipelines/__main__.py")


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


class RunRecord:
    """The record of one stack's last published run per dataset, under --workdir."""

    def __init__(self, stack: str, packages: Sequence[str]) -> None:
        self.stack = stack
        self.packages = tuple(packages)

    def source_files(self, root: Path = REPO_ROOT) -> list[Path]:
        """Every file of the wing (stacks.toml) and the shared code it runs."""
        shared = stacks.files_under(SHARED_SOURCES, root, suffix=".py")
        wing = stacks.load(root)[self.stack].files(root)
        return sorted({*wing, *shared, root / stacks.MANIFEST})

    def fingerprint(self, contract: Contract, data_sha256: str, options: Sequence[str]) -> str:
        """sha256 over what a run's outcome depends on (`data_sha256`: the data file's;
        `options`: the run's command-line options that change what it computes)."""
        digest = hashlib.sha256()

        def add(label: str, payload: bytes) -> None:
            digest.update(f"{label}\0{len(payload)}\0".encode())
            digest.update(payload)

        add("data", data_sha256.encode())
        add("contract", contract.source.read_bytes())
        companion = contract.companion(stacks.load()[self.stack].companion_suffix)
        if companion.exists():
            add("companion", companion.read_bytes())
        for source in self.source_files():
            add(str(source.relative_to(REPO_ROOT)), source.read_bytes())
        versions = {package: _version(package) for package in self.packages}
        versions["python"] = platform.python_version()
        add("versions", json.dumps(versions, sort_keys=True).encode())
        add("options", json.dumps(list(options)).encode())
        return digest.hexdigest()

    def unchanged(
        self,
        contract: Contract,
        workdir: Workdir,
        taken: str,
        still_published: Callable[[str], bool],
    ) -> dict | None:
        """The record of the last published run when this run would repeat it, else None:
        its fingerprint is `taken` (this run's) and `still_published(what that run
        published)` holds."""
        try:
            record = json.loads(self._path(contract, workdir).read_text())
        except (OSError, ValueError):
            return None
        if record.get("fingerprint") != taken:
            return None
        if not record.get("published") or not still_published(record["published"]):
            return None
        return record

    def remember(
        self, contract: Contract, workdir: Workdir, taken: str, published: str, summary: str
    ) -> None:
        """Write the record after a run that published; replaced atomically. `taken` is
        the fingerprint taken when that run started: files edited while it ran are not
        what it ran, so the next run must not be answered from this record."""
        path = self._path(contract, workdir)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "fingerprint": taken,
            "published": published,
            "summary": summary,
            "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        partial = path.with_suffix(".json.partial")
        partial.write_text(json.dumps(record, indent=2) + "\n")
        partial.replace(path)

    def forget(self, contract: Contract, workdir: Workdir) -> None:
        """Drop the record (a run that did not publish leaves none)."""
        self._path(contract, workdir).unlink(missing_ok=True)

    def _path(self, contract: Contract, workdir: Workdir) -> Path:
        return workdir.last_run_record(self.stack, contract)


def unchanged_message(title: str, record: dict, options: str) -> str:
    """The one line an unchanged rerun answers with."""
    return (
        f"{title}: data, contract, code and {options} unchanged since the run of "
        f"{record['finished']}, and what it published is still in place; nothing to run "
        f"(--force runs it anyway). That run: {record['summary']}"
    )
