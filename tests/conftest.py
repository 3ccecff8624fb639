"""Fixtures shared by the tests: the contract, a CLI runner, test contracts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

# The suite tests the template on its shipped example, whatever default contract a
# generated project chose (copier.yml): set before the contract module reads it, and
# inherited by every CLI the tests start.
os.environ.setdefault("PIPELINES_DEFAULT_CONTRACT", "data/penguins.yaml")

from components.shared import stacks  # noqa: E402
from components.shared.contract import (  # noqa: E402
    DEFAULT_CONTRACT,
    REPO_ROOT,
    Contract,
    load_contract,
)

# As the session found them: a module-scoped fixture's changes would otherwise be what a
# per-test snapshot restores.
_SESSION_MLFLOW_ENV = {
    name: os.environ.get(name) for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
}


@pytest.fixture(autouse=True)
def _mlflow_environment_restored():
    """mlflow.set_tracking_uri / set_registry_uri set process-wide defaults (module globals
    and the MLFLOW_TRACKING_URI / MLFLOW_REGISTRY_URI variables): a test that points MLflow
    at its store would leave every later MlflowClient and subprocess of the session on it.
    Put all of them back, as the session found them, after each test."""
    yield
    for name, value in _SESSION_MLFLOW_ENV.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    if "mlflow" in sys.modules:
        # No public call unsets them: None means "from the environment, else the default".
        from mlflow.tracking._model_registry import utils as registry_utils
        from mlflow.tracking._tracking_service import utils as tracking_utils

        registry_utils._registry_uri = None
        tracking_utils._tracking_uri = None


@pytest.fixture(scope="session")
def contract() -> Contract:
    return load_contract(DEFAULT_CONTRACT)


def cli_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a pipeline subprocess: this one's, minus the MLflow store and
    run this test process may have pointed MLflow at (mlflow.set_*_uri export them), so
    a CLI run uses the store its arguments name; plus `env`."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_RUN_ID")
    }
    return {**inherited, "PYTHONUNBUFFERED": "1", **(env or {})}


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: int = 900):
    """Run `python -m pipelines ARGS` in a fresh process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *map(str, args)],
        cwd=REPO_ROOT,
        env=cli_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_contract(tmp_path: Path, name: str = "test", **overrides: dict) -> Path:
    """A copy of the penguins contract with some sections changed, e.g.
    write_contract(tmp_path, evaluation={"min_accuracy": 1.01, "max_accuracy_drop": 0.02})."""
    raw = yaml.safe_load(DEFAULT_CONTRACT.read_text())
    raw["path"] = str(REPO_ROOT / raw["path"])
    for key, value in overrides.items():
        raw[key] = value
    out = tmp_path / f"{name}.yaml"
    out.write_text(yaml.safe_dump(raw, sort_keys=False))
    # Generated companions (one per stack) live beside the contract.
    for stack in stacks.load().values():
        src = DEFAULT_CONTRACT.with_name(f"penguins{stack.companion_suffix}")
        if src.exists():
            (tmp_path / f"{raw['name']}{stack.companion_suffix}").write_text(src.read_text())
    return out


def needs_stacks(*names: str) -> pytest.MarkDecorator:
    """Skip a test that runs several stacks together where one was dropped (stacks.toml)."""
    missing = [name for name in names if name not in stacks.load()]
    return pytest.mark.skipif(bool(missing), reason=f"stack(s) dropped: {', '.join(missing)}")


def typed_rows(path: Path, contract: Contract):  # noqa: ANN201 - a pandas DataFrame
    """The CSV's rows as the contract types them (missing values as missing)."""
    from components.shared.dataset import read_raw_text, to_typed

    raw = read_raw_text(path).replace({v: "" for v in contract.missing_values})
    return to_typed(raw, contract)


def draft_penguins(out: Path) -> tuple[subprocess.CompletedProcess, Contract]:
    """(CLI result, contract) of init-contract on the shipped penguins CSV."""
    result = run_cli("init-contract", "data/penguins.csv", "--label", "species", "--out", out)
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result, load_contract(out)


@pytest.fixture(scope="module")
def drafted_penguins(tmp_path_factory) -> Contract:
    """The contract init-contract drafts from the shipped penguins CSV."""
    return draft_penguins(tmp_path_factory.mktemp("draft") / "birds.yaml")[1]
