"""The two stacks share only the dataset contract and the comparison layer: a team that
keeps one stack deletes the other half's files and the rest still runs."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from components.report.code_size import STACK_SOURCES
from components.shared.contract import REPO_ROOT

FORBIDDEN = {
    "tfx": {
        "torch",
        "pytorch_lightning",
        "lightning",
        "great_expectations",
        "components.lightning",
    },
    "lightning": {
        "tensorflow",
        "tfx",
        "apache_beam",
        "tensorflow_transform",
        "tensorflow_data_validation",
        "tensorflow_model_analysis",
        "tfx_bsl",
        "ml_metadata",
        "keras",
        "components.tfx",
    },
}
SHARED = (
    "components/shared",
    "components/report",
    "pipelines/__main__.py",
    "pipelines/report.py",
    "pipelines/init_contract.py",
)


def _python_files(entries) -> list[Path]:
    files = []
    for entry in entries:
        path = REPO_ROOT / entry
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.exists() else []
    return files


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _hits(imports: set[str], forbidden: set[str]) -> set[str]:
    return {i for i in imports for f in forbidden if i == f or i.startswith(f + ".")}


@pytest.mark.parametrize("stack", ["tfx", "lightning"])
def test_a_stack_never_imports_the_other(stack):
    files = _python_files(STACK_SOURCES[stack])
    assert files
    for path in files:
        assert not _hits(_imports(path), FORBIDDEN[stack]), path


def test_shared_code_imports_neither_stack_at_module_level():
    both = FORBIDDEN["tfx"] | FORBIDDEN["lightning"]
    for path in _python_files(SHARED):
        top_level = set()
        for node in ast.parse(path.read_text()).body:  # lazy imports inside functions are fine
            if isinstance(node, ast.Import):
                top_level.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                top_level.add(node.module)
        assert not _hits(top_level, both), path


@pytest.mark.parametrize("keep", ["tfx", "lightning"])
def test_deleting_the_other_stack_leaves_a_working_cli(tmp_path, keep):
    drop = "lightning" if keep == "tfx" else "tfx"
    tree = tmp_path / "repo"
    shutil.copytree(
        REPO_ROOT,
        tree,
        ignore=shutil.ignore_patterns(".venv", "runs", ".git", "__pycache__", "*.egg-info"),
    )
    for entry in STACK_SOURCES[drop]:
        target = tree / entry
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    result = subprocess.run(
        [sys.executable, "-m", "pipelines", "--help"],
        cwd=tree,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    section = result.stdout.split("positional arguments:")[1].split("options:")[0]
    commands = set(re.findall(r"^    (\w+)", section, flags=re.M))
    assert keep in commands and "report" in commands, commands
    assert drop not in commands and "all" not in commands, commands
    # init-contract drafts a contract and the one companion the kept stack makes.
    draft = subprocess.run(
        [sys.executable, "-m", "pipelines", "init-contract", "data/penguins.csv"]
        + ["--label", "species", "--out", str(tmp_path / "draft.yaml")],
        cwd=tree,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
    )
    assert draft.returncode == 0, draft.stdout + draft.stderr
    companions = {"tfx": "draft.schema.pbtxt", "lightning": "draft.reference.json"}
    assert (tmp_path / companions[keep]).exists()
    assert not (tmp_path / companions[drop]).exists()
