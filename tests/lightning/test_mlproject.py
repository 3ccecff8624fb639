"""The MLproject file: the Lightning pipeline launched the MLflow Projects way, for real."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from components.shared.contract import REPO_ROOT
from tests.conftest import cli_env

pytestmark = pytest.mark.e2e

pytest.importorskip("pytorch_lightning", reason="Lightning is not installed")
MlflowClient = pytest.importorskip("mlflow.tracking").MlflowClient


def test_mlflow_run_of_the_lightning_entry_point_promotes_a_champion(tmp_path):
    workdir = tmp_path / "runs"
    uri = f"sqlite:///{workdir / 'mlflow' / 'mlflow.db'}"
    (workdir / "mlflow").mkdir(parents=True)
    venv_bin = str(Path(sys.executable).parent)
    # The entry point's `python` is the project's; the launcher's own run goes to the
    # same store as the pipeline's instead of ./mlruns.
    env = cli_env({"PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
                   "MLFLOW_TRACKING_URI": uri})  # fmt: skip
    result = subprocess.run(
        [str(Path(venv_bin) / "mlflow"), "run", ".", "-e", "lightning"]
        + ["--env-manager", "local", "-P", f"workdir={workdir}"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "promoted penguins-lightning version 1 to champion" in result.stdout
    client = MlflowClient(uri, registry_uri=uri)
    assert int(client.get_model_version_by_alias("penguins-lightning", "champion").version) == 1
    runs = client.search_runs(
        [e.experiment_id for e in client.search_experiments()],
        filter_string="tags.pipeline = 'lightning'",
    )
    assert [r.data.tags["outcome"] for r in runs] == ["promoted"]
