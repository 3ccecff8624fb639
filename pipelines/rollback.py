"""`python -m pipelines rollback --stack NAME`: give `champion` back to the stack's
previous champion.

The previous champion is the newest registered version, older than the current one,
that once held `champion` and was not rolled back itself (both stacks tag such versions
`status=champion` when they promote them). A wing that publishes outside the registry
restores its own side first (stacks.toml, `rollback`: TFX republishes the earlier push and
withdraws the newer blessings in ML Metadata); only then does
the alias move, so a failure leaves everything as it was. The rolled-back version is
tagged `status=rolled_back`, and the rollback is an MLflow run of its own (tag
`rollback=<stack>`). Rolling back again goes one champion further back.
"""

from __future__ import annotations

import importlib
import sys
import time

from components.shared import stacks
from components.shared.contract import Contract
from components.shared.layout import Workdir
from components.shared.outcome import ExitCode
from components.shared.tracking import (
    CHAMPION,
    champion_version,
    ensure_experiment,
    process_tags,
    run_name,
    store_exists,
    tracking_uri,
)

ROLLED_BACK = "rolled_back"


def _fail(stack: str, message: str) -> int:
    print(f"rollback {stack}: failed (exit 1): {message}", file=sys.stderr)
    return ExitCode.ERROR


def run(contract: Contract, workdir: Workdir, stack: str) -> int:
    if not store_exists(workdir):
        return _fail(stack, f"no MLflow store at {tracking_uri(workdir)}")
    import mlflow

    uri = tracking_uri(workdir)
    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient(uri, registry_uri=uri)
    name = contract.registered_model(stack)
    current = champion_version(client, name)
    if current is None:
        return _fail(stack, f"{name} has no {CHAMPION} in {uri}")
    earlier = [
        version
        for version in client.search_model_versions(f"name = '{name}'")
        if int(version.version) < int(current.version) and version.tags.get("status") == CHAMPION
    ]
    if not earlier:
        return _fail(
            stack,
            f"{name} version {current.version} is its first {CHAMPION}: there is none "
            "earlier to roll back to",
        )
    previous = max(earlier, key=lambda version: int(version.version))
    hook = stacks.load()[stack].rollback
    detail = ""
    if hook:
        try:
            detail = importlib.import_module(hook).restore(contract, workdir, previous)
        except (OSError, LookupError) as exc:  # the earlier push or its lineage is gone
            return _fail(stack, f"cannot restore version {previous.version}: {exc}")
    client.set_registered_model_alias(name, CHAMPION, previous.version)
    client.set_model_version_tag(name, current.version, "status", ROLLED_BACK)
    client.set_model_version_tag(name, current.version, "rolled_back_to", previous.version)
    with mlflow.start_run(
        experiment_id=ensure_experiment(contract.experiment, workdir),
        run_name=run_name(f"rollback-{stack}", contract, time.time()),
        tags={
            **process_tags(),
            "rollback": stack,
            "contract": contract.name,
            "registered_model": f"models:/{name}/{previous.version}",
            "from_version": current.version,
            "to_version": previous.version,
            "detail": detail or "the registry alias only",
        },
    ) as recorded:
        pass
    print(
        f"rollback {stack}: {name} {CHAMPION} is version {previous.version} again "
        f"(version {current.version} tagged status={ROLLED_BACK}); MLflow run "
        f"{recorded.info.run_id}"
    )
    if detail:
        print(f"rollback {stack}: {detail}")
    print(f"rollback {stack}: restart `serve --stack {stack}` to serve it")
    return ExitCode.OK
