"""Fixtures shared by the tests: the contract, a CLI runner, test contracts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.shared.contract import DEFAULT_CONTRACT, REPO_ROOT, Contract, load_contract


@pytest.fixture(scope="session")
def contract() -> Contract:
    return load_contract(DEFAULT_CONTRACT)


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: int = 900):
    """Run `python -m pipelines ARGS` in a fresh process, as a user would."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *map(str, args)],
        cwd=REPO_ROOT,
        env=full_env,
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
    # Generated companions (TFX schema, drift reference) live beside the contract.
    for suffix in (".schema.pbtxt", ".reference.json"):
        src = DEFAULT_CONTRACT.with_name(f"penguins{suffix}")
        if src.exists():
            (tmp_path / f"{raw['name']}{suffix}").write_text(src.read_text())
    return out
