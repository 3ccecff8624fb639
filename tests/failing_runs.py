"""Helpers of the fail-closed tests (tests/<stack>/test_*_reliability.py): a pipeline run
in its own process group, the bad-input corpus through one process, the workdir's MLflow.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from components.shared.contract import REPO_ROOT
from components.shared.layout import Workdir
from tests.bad_data import CORPUS
from tests.conftest import cli_env


def popen(*args: str) -> subprocess.Popen:
    """`python -m pipelines ARGS` in its own process group, so the test can SIGKILL it
    with every child (Beam workers, DataLoader workers)."""
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines", *map(str, args)],
        cwd=REPO_ROOT,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)


def wait_for(condition, what: str, proc: subprocess.Popen, timeout: float = 600) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"process ended (exit {proc.returncode}) before {what}:\n{out}\n{err}")
        if time.monotonic() > deadline:
            kill(proc)
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.3)


def run_corpus(pipeline: str, workdir: Path, out_dir: Path) -> dict[str, dict]:
    """Every CORPUS kind through `main([pipeline, ...])` in one process (corpus_runner)."""
    cases = [f"{kind}={CORPUS[kind].make(out_dir)}" for kind in CORPUS]
    results = out_dir / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "tests.corpus_runner", results, "--"]
        + [pipeline, "--workdir", str(workdir), "--cases", *cases],
        cwd=REPO_ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(results.read_text())


def check_case(kind: str, result: dict, stack: str) -> None:
    """The exit code, the cause named above, and a last line naming stack, outcome, exit
    code and cause (components/shared/outcome.py: last_line)."""
    expected = CORPUS[kind]
    shown = f"stdout:\n{result['stdout'][-2000:]}\nstderr:\n{result['stderr'][-2000:]}"
    assert result["code"] == expected.exit_code, shown
    assert expected.names in result["stderr"], shown
    last = result["stdout"].strip().splitlines()[-1]
    assert last.startswith(f"{stack}: stopped by validation (exit 2): "), shown
    assert expected.names in last, shown


@contextmanager
def mlflow_client(workdir: Path) -> Iterator[object]:
    """An MlflowClient on the workdir's store; restores MLFLOW_TRACKING_URI afterwards
    (mlflow.set_tracking_uri exports it, and later CLI runs would inherit it)."""
    import mlflow

    uri = f"sqlite:///{Workdir(workdir).mlflow_db}"
    saved = os.environ.get("MLFLOW_TRACKING_URI")
    try:
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        yield mlflow.MlflowClient(uri, registry_uri=uri)
    finally:
        mlflow.set_tracking_uri(saved)
        if saved is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)


def runs(client, pipeline: str, extra: str = "") -> list:  # noqa: ANN001
    experiment = client.get_experiment_by_name("penguins")
    query = f"tags.pipeline = '{pipeline}'" + (f" and {extra}" if extra else "")
    return client.search_runs([experiment.experiment_id], filter_string=query)


# ---------------------------------------------------------------------------- TFX
