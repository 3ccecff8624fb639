"""Two wings on one contract: each stack is a wing that can be deleted whole.

stacks.toml lists every file of each wing. Quick checks: no wing imports another, shared
code and the comparison layer import no wing. End to end, for each wing: a copy of the
tree with that wing dropped (`python -m pipelines drop-stack`) runs its remaining quick
suite, one run of what is left, `report` and `ui --help`, and none of its output names
the dropped stack.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from components.shared import stacks
from components.shared.contract import REPO_ROOT

WINGS = stacks.load()
# Third-party packages only one wing may import.
LIBRARIES = {
    "tfx": {
        "tfx",
        "tensorflow",
        "apache_beam",
        "tensorflow_transform",
        "tensorflow_data_validation",
        "tensorflow_model_analysis",
        "tfx_bsl",
        "ml_metadata",
        "keras",
    },
    "lightning": {"torch", "pytorch_lightning", "lightning", "great_expectations", "litserve"},
}
# Shared code: the CLI, the contract and split, the comparison layer, their tests.
SHARED = (
    "components/shared",
    "components/report",
    "pipelines/__main__.py",
    "pipelines/report.py",
    "pipelines/ui.py",
    "pipelines/serve.py",
    "pipelines/monitor.py",
    "pipelines/rollback.py",
    "pipelines/init_contract.py",
    "tests/shared",
    "tests/report",
    "tests/conftest.py",
)


def _modules(stack: stacks.Stack) -> set[str]:
    """The dotted package names a wing owns (pipelines.tfx, components.tfx, models.keras)."""
    return {
        path.replace("/", ".")
        for path in stack.paths
        if path.startswith(("pipelines/", "components/", "models/", "tests/"))
        and not path.endswith(".py")
    }


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


def test_the_manifest_names_every_file_of_the_tree_once():
    """A new file of a wing must be listed (or sit under a listed folder), or dropping the
    wing would leave it behind."""
    owned: dict[Path, str] = {}
    for name, stack in WINGS.items():
        assert stack.files(), f"{name}: no files"
        for path in stack.files():
            assert path not in owned, f"{path} is in {owned[path]} and {name}"
            owned[path] = name
    # Every folder named after a wing, anywhere in the layout, is in the manifest.
    for folder in ("pipelines", "components", "tests"):
        for child in (REPO_ROOT / folder).iterdir():
            if child.is_dir() and child.name in WINGS:
                assert f"{folder}/{child.name}" in WINGS[child.name].paths, child


@pytest.mark.parametrize("stack", list(WINGS))
def test_a_wing_never_imports_another(stack):
    others = {name for name in WINGS if name != stack}
    forbidden = set().union(*(_modules(WINGS[o]) | LIBRARIES.get(o, set()) for o in others))
    forbidden -= LIBRARIES.get(stack, set())
    for path in WINGS[stack].files(suffix=".py"):
        assert not _hits(_imports(path), forbidden), path


def _top_level_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text()).body:  # lazy imports inside functions: not here
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_shared_code_imports_no_wing():
    wings = set().union(*(_modules(s) for s in WINGS.values()))
    heavy = set().union(*LIBRARIES.values())
    for path in stacks.files_under(SHARED, suffix=".py"):
        if path.is_relative_to(REPO_ROOT / "tests"):
            # A test of several stacks together imports them inside the test, and is
            # skipped where one was dropped (tests/conftest.py: needs_stacks).
            assert not _hits(_top_level_imports(path), wings | heavy), path
            continue
        assert not _hits(_imports(path), wings), path
        assert not _hits(_top_level_imports(path), heavy), path


def test_shared_code_names_no_wing_file():
    """What shared code needs to know of a wing comes from stacks.toml."""
    named = [p for stack in WINGS.values() for p in stack.paths if "/" in p]
    for path in stacks.files_under(SHARED[:-3], suffix=".py"):  # not the tests
        text = path.read_text()
        for wing_path in named:
            assert wing_path not in text, f"{path} names {wing_path}"


def test_each_wing_has_its_lock_and_extra():
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    for stack in WINGS.values():
        assert (REPO_ROOT / stack.lock).exists(), stack.lock
        assert f"\n{stack.extra} = [" in pyproject, stack.extra


def test_a_wing_lock_holds_no_other_wings_libraries():
    """A Lightning-only setup installs no TensorFlow, a TFX-only one no torch."""
    for name, stack in WINGS.items():
        pins = {
            line.split("==")[0].strip().lower().replace("-", "_")
            for line in (REPO_ROOT / stack.lock).read_text().splitlines()
            if "==" in line and not line.startswith("#")
        }
        others = set().union(*(LIBRARIES[o] for o in WINGS if o != name))
        assert not pins & (others - {"keras", "lightning"}), (name, pins & others)


def test_drop_removes_the_wing_its_companions_and_its_table(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(REPO_ROOT / "data", tree / "data")
    shutil.copy(REPO_ROOT / stacks.MANIFEST, tree / stacks.MANIFEST)
    name, stack = next(iter(WINGS.items()))
    for entry in stack.paths[:2]:
        (tree / entry).mkdir(parents=True)
        (tree / entry / "x.py").write_text("")
    deleted = stacks.drop(name, tree)
    assert not (tree / stack.paths[0]).exists() and not (tree / stack.paths[1]).exists()
    assert not list((tree / "data").glob(f"*{stack.companion_suffix}"))
    assert (tree / "data" / "penguins.yaml").exists()
    assert list(stacks.load(tree)) == [n for n in WINGS if n != name]
    assert deleted
    with pytest.raises(KeyError, match=name):
        stacks.drop(name, tree)


def _copy_without(stack: str, tmp_path: Path) -> Path:
    """A project generated with copier keeping every stack but `stack` (copier.yml's
    task drops it with stacks.drop, as `drop-stack` does): the generator's render test
    and the keep-one-stack test in one."""
    from tests.generator import render, template_repository

    (kept,) = (name for name in WINGS if name != stack)
    template = template_repository(tmp_path / "template")
    return render(template, tmp_path / "repo", stacks=kept)


def _git(tree: Path, *args: str) -> None:
    who = ["-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run(["git", *who, *args], cwd=tree, check=True, capture_output=True)


def _run(tree: Path, *args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLFLOW_", "PYTEST_")) and k != "PYTHONPATH"
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**env, "PYTHONPATH": str(tree), "PYTHONUNBUFFERED": "1"},
    )


def _mentions(text: str, stack: stacks.Stack) -> list[str]:
    words = {stack.name, stack.title.split()[0]}
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE)
    return [line for line in text.splitlines() if pattern.search(line)]


@pytest.mark.e2e
@pytest.mark.parametrize("dropped", list(WINGS))
def test_dropping_a_wing_leaves_a_working_project(dropped, tmp_path):
    if len(WINGS) < 2:
        pytest.skip("one stack in this tree: dropping it leaves no project")
    gone = WINGS[dropped]
    tree = _copy_without(dropped, tmp_path)
    for entry in gone.paths:
        assert not (tree / entry).exists(), entry
    kept = [name for name in WINGS if name != dropped]

    # The remaining quick suite passes.
    quick = _run(tree, "-m", "pytest", "-m", "not e2e", "-q", "-p", "no:cacheprovider", "-x")
    assert quick.returncode == 0, quick.stdout[-5000:] + quick.stderr[-3000:]

    # The CLI offers what is left, and says nothing of what is gone.
    help_text = _run(tree, "-m", "pipelines", "--help")
    assert help_text.returncode == 0, help_text.stderr
    section = help_text.stdout.split("positional arguments:")[1].split("options:")[0]
    commands = set(re.findall(r"^    ([\w-]+)", section, flags=re.M))
    assert set(kept) | {"all", "report", "ui", "init-contract"} <= commands, commands
    assert dropped not in commands
    assert not _mentions(help_text.stdout, gone)

    # One run of what is left, then the report and the UI's help, in the copy.
    workdir = tmp_path / "runs"
    run = _run(tree, "-m", "pipelines", "all", "--workdir", str(workdir))
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
    assert not _mentions(run.stdout, gone), _mentions(run.stdout, gone)
    report = _run(tree, "-m", "pipelines", "report", "--workdir", str(workdir))
    assert report.returncode == 0, report.stdout + report.stderr
    markdown = (workdir / "report" / "penguins" / "comparison.md").read_text()
    assert not _mentions(markdown, gone), _mentions(markdown, gone)
    ui = _run(tree, "-m", "pipelines", "ui", "--help")
    assert ui.returncode == 0 and "--port" in ui.stdout

    # init-contract drafts the contract and only the companions of the wings left.
    draft = _run(
        tree, "-m", "pipelines", "init-contract", "data/penguins.csv", "--label", "species",
        "--out", str(tmp_path / "draft.yaml"),
    )  # fmt: skip
    assert draft.returncode == 0, draft.stdout + draft.stderr
    assert not (tmp_path / f"draft{gone.companion_suffix}").exists()
    for name in kept:
        assert (tmp_path / f"draft{WINGS[name].companion_suffix}").exists()
    assert not _mentions(draft.stdout, gone), _mentions(draft.stdout, gone)
