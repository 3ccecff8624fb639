"""Quick checks of the unchanged-rerun record (pipelines/tfx/fingerprint.py).

The end-to-end behaviour (a real push, then a rerun answered without running TFX) is
in tests/tfx/test_tfx_pipeline.py; here, what invalidates the record.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from components.shared import stacks
from components.shared.contract import REPO_ROOT, load_contract
from components.shared.dataset import file_sha256
from components.shared.layout import Workdir
from pipelines.tfx import fingerprint as run_fingerprint

BEAM_ARGS: list[str] = []


def _pushed_workdir(tmp_path):
    """Data, and a workdir as a pushed TFX run leaves it: MLMD store and one push."""
    contract = load_contract()
    data = tmp_path / "penguins.csv"
    shutil.copy(contract.path, data)
    workdir = Workdir(tmp_path / "runs")
    workdir.metadata_db("tfx").parent.mkdir(parents=True)
    workdir.metadata_db("tfx").write_bytes(b"")
    push = workdir.serving("tfx", contract) / "1700000000"
    push.mkdir(parents=True)
    (push / "saved_model.pb").write_bytes(b"")
    return contract, data, workdir, push


@pytest.fixture
def pushed_run(tmp_path):
    """That workdir with the record of its push."""
    contract, data, workdir, push = _pushed_workdir(tmp_path)
    taken = run_fingerprint.fingerprint(contract, file_sha256(data), BEAM_ARGS)
    run_fingerprint.remember(contract, workdir, taken, str(push), "OK: pushed")
    return contract, data, workdir, push


def test_unchanged_run_is_recognised(pushed_run):
    contract, data, workdir, _ = pushed_run
    record = run_fingerprint.unchanged_run(contract, file_sha256(data), workdir, BEAM_ARGS)
    assert record is not None and record["summary"] == "OK: pushed"


def test_changed_data_is_a_new_run(pushed_run):
    contract, data, workdir, _ = pushed_run
    with open(data, "a") as fh:
        fh.write("Adelie,Dream,40.1,18.2,190,3800,male,2009\n")
    assert run_fingerprint.unchanged_run(contract, file_sha256(data), workdir, BEAM_ARGS) is None


def test_data_edited_during_the_run_is_a_new_run(tmp_path):
    """The record holds the fingerprint taken when the run started, not when it ended."""
    contract, data, workdir, push = _pushed_workdir(tmp_path)
    taken = run_fingerprint.fingerprint(contract, file_sha256(data), BEAM_ARGS)
    with open(data, "a") as fh:  # while the pipeline runs
        fh.write("Adelie,Dream,40.1,18.2,190,3800,male,2009\n")
    run_fingerprint.remember(contract, workdir, taken, str(push), "OK: pushed")
    assert run_fingerprint.unchanged_run(contract, file_sha256(data), workdir, BEAM_ARGS) is None


def test_other_beam_args_are_a_new_run(pushed_run):
    contract, data, workdir, _ = pushed_run
    other = ["--direct_running_mode=multi_processing"]
    assert run_fingerprint.unchanged_run(contract, file_sha256(data), workdir, other) is None


def test_changed_contract_is_a_new_run(pushed_run, tmp_path):
    contract, data, workdir, _ = pushed_run
    edited = tmp_path / "penguins.yaml"
    text = contract.source.read_text()
    edited.write_text(text.replace("min_accuracy: 0.90", "min_accuracy: 0.80"))
    for stack in stacks.load().values():
        companion = contract.companion(stack.companion_suffix)
        shutil.copy(companion, tmp_path / companion.name)
    assert (
        run_fingerprint.unchanged_run(load_contract(edited), file_sha256(data), workdir, BEAM_ARGS)
        is None
    )


def test_a_newer_or_deleted_push_is_a_new_run(pushed_run):
    contract, data, workdir, push = pushed_run
    newer = push.parent / "1800000000"
    newer.mkdir()
    (newer / "saved_model.pb").write_bytes(b"")
    assert run_fingerprint.unchanged_run(contract, file_sha256(data), workdir, BEAM_ARGS) is None
    shutil.rmtree(newer)
    assert (
        run_fingerprint.unchanged_run(contract, file_sha256(data), workdir, BEAM_ARGS) is not None
    )
    shutil.rmtree(push)
    assert run_fingerprint.unchanged_run(contract, file_sha256(data), workdir, BEAM_ARGS) is None


def test_a_failed_run_forgets_the_record(pushed_run):
    contract, data, workdir, _ = pushed_run
    run_fingerprint.forget(contract, workdir)
    assert run_fingerprint.unchanged_run(contract, file_sha256(data), workdir, BEAM_ARGS) is None


def test_every_file_of_the_tfx_wing_is_in_the_fingerprint():
    files = set(run_fingerprint.source_files())
    wing = set(stacks.load()["tfx"].files())
    assert wing and wing <= files
    named = {str(p.relative_to(REPO_ROOT)) for p in files}
    assert {
        "pipelines/tfx/pipeline.py",
        "pipelines/tfx/run.py",
        "models/keras/preprocessing.py",
        "models/keras/model.py",
        "models/keras/features.py",
        "components/shared/dataset.py",
        "stacks.toml",
    } <= named
    assert not any("lightning" in f for f in named)


def test_an_edit_anywhere_in_the_tfx_wing_is_a_new_run(pushed_run, tmp_path):
    """The record covers the whole wing as stacks.toml lists it, not a hand-kept list."""
    contract, data, workdir, _ = pushed_run
    tree = tmp_path / "tree"
    for path in run_fingerprint.source_files():
        target = tree / path.relative_to(REPO_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    before = run_fingerprint.source_files(tree)
    (tree / "components" / "tfx" / "a_new_step.py").write_text("X = 1\n")
    after = run_fingerprint.source_files(tree)
    assert set(after) - set(before) == {tree / "components" / "tfx" / "a_new_step.py"}


def test_the_check_imports_no_tfx_stack():
    code = (
        "import sys, pipelines.tfx.fingerprint\n"
        "heavy = {'tfx', 'tensorflow', 'apache_beam', 'mlflow', 'torch'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=Path(REPO_ROOT), check=True)
