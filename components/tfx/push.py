"""Pusher executor whose push appears in the serving directory all at once.

TFX's Pusher copies the model file by file into <base>/<unix time>/, saved_model.pb last.
A reader (TF Serving, Workdir.latest_push) watching <base> can then see a
directory with no saved_model.pb yet, or one whose saved_model.pb is still being written;
a process killed mid-copy leaves such a directory behind for good. This executor lets the
stock Pusher copy into a staging directory beside <base>, then renames the finished
version directory into <base>: one rename(2), so a reader sees all of it or nothing.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from tfx import types
from tfx.components.pusher import executor as pusher_executor
from tfx.components.pusher.component import Pusher
from tfx.dsl.components.base import executor_spec
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils

from components.tfx import staging_dir


class AtomicPushExecutor(pusher_executor.Executor):
    """The stock Pusher, publishing each version directory with a single rename."""

    def Do(  # noqa: N802 - TFX's executor interface
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        key = standard_component_specs.PUSH_DESTINATION_KEY
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(exec_properties[key], destination)
        base = destination.filesystem.base_directory
        if destination.WhichOneof("destination") != "filesystem" or "://" in base:
            # Object stores have no atomic directory rename: keep TFX's behaviour.
            super().Do(input_dict, output_dict, exec_properties)
            return
        staging = staging_dir(base)
        # Left over by a push that was killed mid-copy: never published, safe to drop.
        shutil.rmtree(staging, ignore_errors=True)
        destination.filesystem.base_directory = staging
        super().Do(
            input_dict,
            output_dict,
            {**exec_properties, key: proto_utils.proto_to_json(destination)},
        )
        pushed = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.PUSHED_MODEL_KEY]
        )
        if pushed.get_int_custom_property("pushed") == 1:
            version = pushed.get_string_custom_property("pushed_version")
            final = os.path.join(base, version)
            os.makedirs(base, exist_ok=True)
            os.rename(os.path.join(staging, version), final)
            pushed.set_string_custom_property("pushed_destination", final)
        shutil.rmtree(staging, ignore_errors=True)


class AtomicPusher(Pusher):
    """tfx.components.Pusher with AtomicPushExecutor (TFX deprecates passing a
    custom_executor_spec in favour of a component subclass)."""

    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(AtomicPushExecutor)
