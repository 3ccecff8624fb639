"""TFX's side of `rollback`: republish an earlier push, and make ML Metadata agree.

Two things decide what TFX serves and judges against: the newest version folder under
the serving directory (what TF Serving and Workdir.latest_push load), and the Resolver's
LatestBlessedModelStrategy (the newest Model whose ModelBlessing says blessed=1: what the
next Evaluator compares a candidate with). So a rollback
- withdraws the blessings of the models newer than the restored one in MLMD (blessed=0,
  with `rolled_back=1` beside it, so lineage still shows they were blessed once), and
- republishes the restored push as a new version folder, copied into a staging folder
  and renamed into place in one rename(2), as the Pusher does (components/tfx/push.py).
Holds the TFX run lock meanwhile: MLMD on SQLite is single-writer.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from ml_metadata.proto import metadata_store_pb2
from mlflow.entities.model_registry import ModelVersion

from components.shared.contract import Contract
from components.shared.layout import Workdir
from components.shared.processes import exclusive_lock
from components.tfx import STACK, metadata_store, staging_dir

_OUTPUT = (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)
_INPUT = (metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.DECLARED_INPUT)


def model_of_push(store, destination: str) -> int:  # noqa: ANN001 - an MLMD MetadataStore
    """The id of the Model artifact the Pusher pushed to `destination`."""
    pushed = [
        a
        for a in store.get_artifacts_by_type("PushedModel")
        if a.custom_properties["pushed_destination"].string_value == destination
    ]
    if not pushed:
        raise LookupError(f"no PushedModel in MLMD was pushed to {destination}")
    pushers = [
        e.execution_id
        for e in store.get_events_by_artifact_ids([pushed[0].id])
        if e.type in _OUTPUT
    ]
    model_type = store.get_artifact_type("Model").id
    inputs = [e.artifact_id for e in store.get_events_by_execution_ids(pushers) if e.type in _INPUT]
    models = [a.id for a in store.get_artifacts_by_id(inputs) if a.type_id == model_type]
    if not models:
        raise LookupError(f"the Pusher execution of {destination} names no Model in MLMD")
    return models[0]


def withdraw_newer_blessings(store, model_id: int) -> int:  # noqa: ANN001 - MLMD store
    """Set blessed=0 on the blessings of models newer than `model_id`; how many."""
    newer = []
    for blessing in store.get_artifacts_by_type("ModelBlessing"):
        props = blessing.custom_properties
        if props["blessed"].int_value == 1 and props["current_model_id"].int_value > model_id:
            props["blessed"].int_value = 0
            props["rolled_back"].int_value = 1
            newer.append(blessing)
    if newer:
        store.put_artifacts(newer)
    return len(newer)


def restore(contract: Contract, workdir: Workdir, previous: ModelVersion) -> str:
    """Republish `previous`'s push and withdraw newer blessings; what was done, in words."""
    source = Path(previous.tags.get("pushed_destination", ""))
    if not (source / "saved_model.pb").is_file():
        raise FileNotFoundError(f"its push {source} is gone")
    base = workdir.serving(STACK, contract)
    with exclusive_lock(workdir.lock(STACK)) as locked:
        if not locked:
            raise OSError(f"a TFX run is using {workdir.stack_root(STACK)}; try when it ends")
        store = metadata_store(workdir, writable=True)
        model_id = model_of_push(store, str(source))
        staging = Path(staging_dir(str(base)))
        shutil.rmtree(staging, ignore_errors=True)
        latest = workdir.latest_push(STACK, contract)
        version = str(max(int(time.time()), int(latest.name) + 1 if latest else 0))
        shutil.copytree(source, staging / version)
        withdrawn = withdraw_newer_blessings(store, model_id)
        (staging / version).rename(base / version)
        shutil.rmtree(staging, ignore_errors=True)
    return (
        f"republished {source} as {base / version}; {withdrawn} newer blessing(s) withdrawn "
        f"in MLMD, so the next Evaluator compares against Model {model_id}"
    )
