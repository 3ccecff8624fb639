"""TFX through Beam's portable path: a job service and external SDK workers on 127.0.0.1
(pipelines/tfx/portable.py), the protocol Flink and Spark use, run end to end."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from components.shared.contract import load_contract
from components.shared.layout import Workdir
from tests.conftest import run_cli

pytest.importorskip("tfx")
from components.tfx import STACK  # noqa: E402
from pipelines.tfx.portable import SERVICES_MARKER  # noqa: E402


def _processes_marked(value: str) -> list[int]:
    """PIDs whose environment carries the services' marker with `value` (workers too)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if f"{SERVICES_MARKER}={value}".encode() in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


@pytest.mark.e2e
def test_the_whole_pipeline_runs_on_the_portable_runner_with_external_workers(tmp_path):
    result = run_cli("tfx", "--runner", "portable", "--workdir", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(Beam PortableRunner)" in result.stdout
    assert "pushed to" in result.stdout.splitlines()[-1]

    workdir = Workdir(tmp_path / "runs")
    contract = load_contract()
    push = workdir.latest_push(STACK, contract)
    assert push is not None and (push / "saved_model.pb").exists()
    # Beam's stages ran in worker processes the pool started, not in the runner's process.
    pool_log = (workdir.logs(STACK) / "portable-worker-pool.log").read_text()
    assert "Starting worker with command" in pool_log
    # Nothing the run started outlives it: services, and the workers they started.
    assert _processes_marked(str(workdir.logs(STACK))) == []


def test_portable_refuses_a_runner_of_the_users_own(tmp_path):
    result = run_cli(
        "tfx", "--runner", "portable", "--beam-arg=--runner=FlinkRunner",
        "--workdir", str(tmp_path / "runs"),
    )  # fmt: skip
    assert result.returncode == 1
    assert "drop --runner=FlinkRunner" in result.stderr
    assert not (tmp_path / "runs" / "serving").exists()


def test_the_worker_pool_environment_finds_the_project_and_the_transform_module():
    from pipelines.tfx.pipeline import TRANSFORM_MODULE
    from pipelines.tfx.portable import worker_pythonpath

    entries = worker_pythonpath(TRANSFORM_MODULE).split(os.pathsep)
    repo = Path(__file__).resolve().parents[2]
    assert entries[:2] == [str(repo), str(TRANSFORM_MODULE.resolve().parent)]
