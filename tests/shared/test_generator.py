"""The generator (copier.yml): a project made from this template with your CSV, and
`copier update` taking the template's later changes while keeping yours.

The single-stack renders (tfx only, lightning only, on the shipped data) are
tests/shared/test_wings.py's keep-one-stack test, which runs each project's quick suite
and a pipeline run. Here: both stacks on a CSV the test makes, whose project's own
default contract drives one pipeline run, and an update from one template commit to the
next. The project's quick suite is this suite (it pins the shipped example's contract,
tests/conftest.py), so it is not run a second time here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import yaml

from components.shared import stacks
from components.shared.contract import REPO_ROOT
from tests.generator import clean_env, copier, git, render, template_repository

pytestmark = pytest.mark.e2e

WINGS = stacks.load()


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return template_repository(tmp_path_factory.mktemp("generator") / "template")


@pytest.mark.skipif(len(WINGS) < 2, reason="one stack in this tree")
def test_a_project_on_your_csv_keeps_both_stacks_and_runs_on_your_data(template, tmp_path):
    csv = tmp_path / "vino.csv"
    shutil.copy(REPO_ROOT / "data" / "wine.csv", csv)
    project = render(
        template, tmp_path / "project",
        project_name="Vino Tinto", dataset_csv=str(csv), label="cultivar", python="3.10",
    )  # fmt: skip

    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["stacks"] == "both" and answers["project_slug"] == "vino-tinto"
    assert answers["_commit"] and answers["_src_path"] == str(template)
    assert list(stacks.load(project)) == list(WINGS)
    assert (project / "data" / "vino.csv").read_bytes() == csv.read_bytes()
    for wing in WINGS.values():
        assert (project / "data" / f"vino{wing.companion_suffix}").exists(), wing.name
    pyproject = (project / "pyproject.toml").read_text()
    assert 'name = "vino-tinto"' in pyproject
    assert 'default-contract = "data/vino.yaml"' in pyproject
    assert (project / "README.md").read_text().startswith("# Vino Tinto\n")
    assert (project / ".python-version").read_text() == "3.10\n"  # make setup's route
    assert not (project / "copier.yml").exists()

    # The project's own default contract is the CSV's: one run, with no --contract.
    stack = "lightning" if "lightning" in WINGS else next(iter(WINGS))
    run = subprocess.run(
        [sys.executable, "-m", "pipelines", stack, "--workdir", str(tmp_path / "runs")],
        cwd=project, env=clean_env(project), capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "vino" in run.stdout


def test_a_bad_csv_answer_makes_no_project_and_says_why(template, tmp_path):
    csv = tmp_path / "one-class.csv"
    rows = (REPO_ROOT / "data" / "penguins.csv").read_text().splitlines()[:40]  # Adelie only
    csv.write_text("\n".join(rows) + "\n")
    dest = tmp_path / "project"
    dest.mkdir()
    (dest / ".venv").symlink_to(REPO_ROOT / ".venv")
    result = copier(
        "copy", "--data", f"dataset_csv={csv}", "--data", "label=species",
        str(template), str(dest), cwd=dest,
    )  # fmt: skip
    assert result.returncode != 0
    assert "1 class(es)" in result.stdout + result.stderr
    assert "no contract drafted" in result.stdout + result.stderr
    assert not (dest / "data" / "one-class.yaml").exists()
    assert not (dest / "data" / "one-class.csv").exists()


def test_copier_update_takes_the_templates_later_change_and_keeps_yours(template, tmp_path):
    origin = tmp_path / "template"
    git(tmp_path, "clone", "-q", str(template), str(origin))
    kept = "lightning" if "lightning" in WINGS else next(iter(WINGS))
    project = render(origin, tmp_path / "project", stacks=kept)
    assert not (project / ".python-version").exists()  # "auto": setup's own choice
    first = yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"]

    # Your edit: the contract's epochs.
    contract = project / "data" / "penguins.yaml"
    contract.write_text(contract.read_text().replace("  epochs: 40", "  epochs: 7", 1))
    git(project, "commit", "-q", "-am", "fewer epochs")
    # The template's later change, in a file you did not touch.
    note = "A later change of the template.\n"
    with open(origin / "docs" / "serving.md", "a") as doc:
        doc.write(note)
    git(origin, "commit", "-q", "-am", "a later template change")

    result = copier("update", cwd=project)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert (project / "docs" / "serving.md").read_text().endswith(note)
    assert "  epochs: 7" in contract.read_text()
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] != first and answers["stacks"] == kept
    # The stacks you dropped stay dropped.
    assert list(stacks.load(project)) == [kept]
    for name, wing in WINGS.items():
        if name != kept:
            assert not any((project / path).exists() for path in wing.paths), name
