"""Recognise a Lightning rerun with nothing changed, before torch, Lightning or MLflow
is imported (components/shared/fingerprint.py).

What this wing adds to the shared record: the packages whose versions change a Lightning
result, the training options (--devices, --strategy, --num-nodes) as the run's options,
and what "still published" means here: the version that run made champion still holds
the registered model's `champion` alias (nothing promoted, rolled back or deleted since).
"""

from __future__ import annotations

from collections.abc import Sequence

from components.lightning import STACK
from components.shared.contract import Contract
from components.shared.fingerprint import RunRecord
from components.shared.layout import Workdir

PACKAGES = ("torch", "lightning", "mlflow", "great-expectations", "scikit-learn", "pandas")
RECORD = RunRecord(STACK, PACKAGES)


def still_champion(published: str, workdir: Workdir) -> bool:
    """`published` (models:/<name>/<version>) is still its model's champion."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from components.shared.tracking import CHAMPION, is_server, tracking_uri

    name, _, version = published.removeprefix("models:/").rpartition("/")
    uri = tracking_uri(workdir)
    if not is_server(uri) and not workdir.mlflow_db.exists():
        return False
    try:
        champion = MlflowClient(uri, registry_uri=uri).get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return False
    return str(champion.version) == version


def unchanged_run(
    contract: Contract, data_sha256: str, workdir: Workdir, options: Sequence[str]
) -> dict | None:
    """The record of the last promoted run when this run would repeat it, else None."""
    return RECORD.unchanged(
        contract,
        data_sha256,
        workdir,
        options,
        lambda published: still_champion(published, workdir),
    )
