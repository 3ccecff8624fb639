"""Promote: register every trained model as a new version; move the `champion` alias to
it only when every gate passed, otherwise tag why it was rejected and leave the alias."""

from __future__ import annotations

from collections.abc import Sequence

import mlflow
from mlflow.tracking import MlflowClient

from components.lightning.evaluate import Gate
from components.shared.tracking import CHAMPION


def promote(
    client: MlflowClient, name: str, model_uri: str, run_id: str, gates: Sequence[Gate]
) -> tuple[int, bool]:
    """Register the model and return (version, promoted)."""
    registered = mlflow.register_model(model_uri, name, tags={"pipeline": "lightning"})
    version = int(registered.version)
    failed = [g for g in gates if not g.passed]
    for gate in gates:
        client.set_model_version_tag(name, str(version), f"gate_{gate.name}", gate.detail)
    if failed:
        reason = "; ".join(f"{g.name}: {g.detail}" for g in failed)
        client.set_model_version_tag(name, str(version), "rejected_reason", reason)
        client.set_model_version_tag(name, str(version), "status", "rejected")
        return version, False
    client.set_registered_model_alias(name, CHAMPION, str(version))
    client.set_model_version_tag(name, str(version), "status", "champion")
    client.set_model_version_tag(name, str(version), "source_run_id", run_id)
    return version, True
