"""Recognise a Lightning rerun with nothing changed, before torch, Lightning or MLflow
is imported (components/shared/fingerprint.py).

What this wing adds to the shared record: the packages whose versions change a Lightning
result, the training options (--devices, --strategy, --num-nodes) as the run's options,
and what "still published" means here: the version that run made champion still holds
the registered model's `champion` alias (nothing promoted, rolled back or deleted since).
"""

from __future__ import annotations

from components.lightning import STACK
from components.shared.contract import Contract
from components.shared.fingerprint import RunRecord
from components.shared.layout import Workdir

PACKAGES = ("torch", "lightning", "mlflow", "great-expectations", "scikit-learn", "pandas")
RECORD = RunRecord(STACK, PACKAGES)


def still_champion(published: str, workdir: Workdir) -> bool:
    """`published` (models:/<name>/<version>) is still its model's champion."""
    from mlflow import MlflowClient

    from components.shared.tracking import champion_version, store_exists, tracking_uri

    if not store_exists(workdir):
        return False
    name, _, version = published.removeprefix("models:/").rpartition("/")
    uri = tracking_uri(workdir)
    champion = champion_version(MlflowClient(uri, registry_uri=uri), name)
    return champion is not None and str(champion.version) == version


def unchanged_run(contract: Contract, workdir: Workdir, taken: str) -> dict | None:
    """The record of the last promoted run when this run (fingerprint `taken`) would
    repeat it, else None."""
    return RECORD.unchanged(
        contract, workdir, taken, lambda published: still_champion(published, workdir)
    )
