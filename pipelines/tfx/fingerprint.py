"""Recognise a TFX rerun with nothing changed, before TFX is imported
(components/shared/fingerprint.py).

TFX's cache already reuses every execution of an unchanged rerun, but only after
importing TFX, TFMA and TFT and querying MLMD. What this wing adds to the shared record:
the packages whose versions change a TFX result, the Beam arguments as the run's
options, and what "still published" means here: the MLMD store is still there and the
model that run pushed is still the latest push (nothing deleted or pushed since).

This module must stay cheap to import: no TFX, TensorFlow, Beam or MLflow.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from components.shared.contract import REPO_ROOT, Contract
from components.shared.fingerprint import RunRecord
from components.shared.layout import Workdir
from components.tfx import STACK

PACKAGES = (
    "tfx",
    "tensorflow",
    "tensorflow-transform",
    "tensorflow-model-analysis",
    "tensorflow-data-validation",
    "apache-beam",
    "keras",
)
RECORD = RunRecord(STACK, PACKAGES)


def source_files(root: Path = REPO_ROOT) -> list[Path]:
    """Every file of the TFX wing (stacks.toml) and the shared code it runs."""
    return RECORD.source_files(root)


def fingerprint(contract: Contract, data_sha256: str, beam_args: Sequence[str]) -> str:
    """sha256 over what a TFX run's outcome depends on (`data_sha256`: the data file's)."""
    return RECORD.fingerprint(contract, data_sha256, beam_args)


def unchanged_run(
    contract: Contract, data_sha256: str, workdir: Workdir, beam_args: Sequence[str]
) -> dict | None:
    """The record of the last pushed run when this run would repeat it, else None."""

    def still_pushed(pushed: str) -> bool:
        return workdir.metadata_db(STACK).exists() and workdir.latest_push(STACK, contract) == Path(
            pushed
        )

    taken = fingerprint(contract, data_sha256, beam_args)
    return RECORD.unchanged(contract, workdir, taken, still_pushed)


def remember(contract: Contract, workdir: Workdir, taken: str, pushed: str, summary: str) -> None:
    """Record a run that pushed (`taken`: its fingerprint when it started)."""
    RECORD.remember(contract, workdir, taken, pushed, summary)


def forget(contract: Contract, workdir: Workdir) -> None:
    """Drop the record (a run that did not push leaves none)."""
    RECORD.forget(contract, workdir)
