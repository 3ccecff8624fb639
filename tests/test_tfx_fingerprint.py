"""Quick checks of the unchanged-rerun record (components/tfx/run_fingerprint.py).

The end-to-end behaviour (a real push, then a rerun answered without running TFX) is
in tests/test_tfx_pipeline.py; here, what invalidates the record.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from components.shared.contract import REPO_ROOT, load_contract
from components.tfx import run_fingerprint

BEAM_ARGS: list[str] = []


def _pushed_workdir(tmp_path):
    """Data, and a workdir as a pushed TFX run leaves it: MLMD store and one push."""
    contract = load_contract()
    data = tmp_path / "penguins.csv"
    shutil.copy(contract.path, data)
    workdir = tmp_path / "runs"
    (workdir / "tfx").mkdir(parents=True)
    (workdir / "tfx" / "metadata.db").write_bytes(b"")
    push = workdir / "serving" / "1700000000"
    push.mkdir(parents=True)
    (push / "saved_model.pb").write_bytes(b"")
    return contract, data, workdir, push


@pytest.fixture
def pushed_run(tmp_path):
    """That workdir with the record of its push."""
    contract, data, workdir, push = _pushed_workdir(tmp_path)
    taken = run_fingerprint.fingerprint(contract, data, BEAM_ARGS)
    run_fingerprint.remember(contract, workdir, taken, str(push), "OK: pushed")
    return contract, data, workdir, push


def test_unchanged_run_is_recognised(pushed_run):
    contract, data, workdir, _ = pushed_run
    record = run_fingerprint.unchanged_run(contract, data, workdir, BEAM_ARGS)
    assert record is not None and record["summary"] == "OK: pushed"


def test_changed_data_is_a_new_run(pushed_run):
    contract, data, workdir, _ = pushed_run
    with open(data, "a") as fh:
        fh.write("Adelie,Dream,40.1,18.2,190,3800,male,2009\n")
    assert run_fingerprint.unchanged_run(contract, data, workdir, BEAM_ARGS) is None


def test_data_edited_during_the_run_is_a_new_run(tmp_path):
    """The record holds the fingerprint taken when the run started, not when it ended."""
    contract, data, workdir, push = _pushed_workdir(tmp_path)
    taken = run_fingerprint.fingerprint(contract, data, BEAM_ARGS)
    with open(data, "a") as fh:  # while the pipeline runs
        fh.write("Adelie,Dream,40.1,18.2,190,3800,male,2009\n")
    run_fingerprint.remember(contract, workdir, taken, str(push), "OK: pushed")
    assert run_fingerprint.unchanged_run(contract, data, workdir, BEAM_ARGS) is None


def test_other_beam_args_are_a_new_run(pushed_run):
    contract, data, workdir, _ = pushed_run
    other = ["--direct_running_mode=multi_processing"]
    assert run_fingerprint.unchanged_run(contract, data, workdir, other) is None


def test_changed_contract_is_a_new_run(pushed_run, tmp_path):
    contract, data, workdir, _ = pushed_run
    edited = tmp_path / "penguins.yaml"
    text = contract.source.read_text()
    edited.write_text(text.replace("min_accuracy: 0.90", "min_accuracy: 0.80"))
    for companion in (contract.schema_path, contract.reference_path):
        shutil.copy(companion, tmp_path / companion.name)
    assert run_fingerprint.unchanged_run(load_contract(edited), data, workdir, BEAM_ARGS) is None


def test_a_newer_or_deleted_push_is_a_new_run(pushed_run):
    contract, data, workdir, push = pushed_run
    newer = push.parent / "1800000000"
    newer.mkdir()
    (newer / "saved_model.pb").write_bytes(b"")
    assert run_fingerprint.unchanged_run(contract, data, workdir, BEAM_ARGS) is None
    shutil.rmtree(newer)
    assert run_fingerprint.unchanged_run(contract, data, workdir, BEAM_ARGS) is not None
    shutil.rmtree(push)
    assert run_fingerprint.unchanged_run(contract, data, workdir, BEAM_ARGS) is None


def test_a_failed_run_forgets_the_record(pushed_run):
    contract, data, workdir, _ = pushed_run
    run_fingerprint.forget(contract, workdir)
    assert run_fingerprint.unchanged_run(contract, data, workdir, BEAM_ARGS) is None


def test_the_code_of_the_tfx_half_is_in_the_fingerprint():
    files = {str(p.relative_to(REPO_ROOT)) for p in run_fingerprint._source_files()}
    assert {
        "pipelines/tfx_pipeline.py",
        "components/tfx/transform/transform_module.py",
        "models/keras/keras_mlp.py",
        "components/shared/dataset.py",
    } <= files
    assert not any("lightning" in f for f in files)


def test_the_check_imports_no_tfx_stack():
    code = (
        "import sys, components.tfx.run_fingerprint\n"
        "heavy = {'tfx', 'tensorflow', 'apache_beam', 'mlflow', 'torch'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=Path(REPO_ROOT), check=True)
