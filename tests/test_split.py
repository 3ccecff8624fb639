"""One deterministic split: same rows for both pipelines, in every process."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from components.shared.contract import REPO_ROOT
from components.shared.dataset import load_split, materialize_split, split_raw


def _keys(frame: pd.DataFrame) -> list[str]:
    return sorted(frame.astype(str).agg("|".join, axis=1))


def test_split_is_disjoint_and_covers_every_row(contract):
    train, eval_ = split_raw(contract.path, contract)
    assert len(train) + len(eval_) == 344
    assert not set(_keys(train)) & set(_keys(eval_))
    assert 0.15 < len(eval_) / 344 < 0.35
    assert set(eval_[contract.label]) == set(contract.classes)


def test_split_is_the_same_in_a_fresh_process(contract):
    code = (
        "from components.shared.contract import load_contract;"
        "from components.shared.dataset import split_raw;"
        "import hashlib; c = load_contract(); t, e = split_raw(c.path, c);"
        "print(hashlib.sha256(e.to_csv(index=False).encode()).hexdigest())"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(runs) == 1


def test_tfx_files_and_lightning_frames_hold_identical_rows(contract, tmp_path):
    split = load_split(contract.path, contract)
    root = materialize_split(contract.path, contract, tmp_path)
    for name, frame in (("train", split.train), ("eval", split.eval)):
        on_disk = pd.read_csv(root / name / "data.csv", dtype=str, keep_default_na=False)
        assert list(on_disk.columns) == contract.column_names
        # ExampleGen reads empty cells as missing; the Lightning reader has NaN there.
        from_disk = on_disk.replace({"": None})
        for column in contract.columns:
            if column.is_numeric:
                from_disk[column.name] = pd.to_numeric(from_disk[column.name]).astype("float64")
        # The files hold the same rows, shuffled (test below): compare them sorted.
        pd.testing.assert_frame_equal(_sorted(from_disk), _sorted(frame), check_dtype=False)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    as_text = frame.fillna("<NA>").astype(str)
    return as_text.sort_values(list(as_text.columns)).reset_index(drop=True)


def test_tfx_split_files_are_shuffled_reproducibly(contract, tmp_path):
    # ExampleGen writes the examples in the files' order (it does not shuffle them
    # again), so a CSV sorted by its label must not reach the Trainer sorted.
    frame = load_split(contract.path, contract).train
    first = materialize_split(contract.path, contract, tmp_path / "a") / "train" / "data.csv"
    second = materialize_split(contract.path, contract, tmp_path / "b") / "train" / "data.csv"
    assert first.read_bytes() == second.read_bytes()
    on_disk = pd.read_csv(first, dtype=str, keep_default_na=False)
    assert list(on_disk[contract.label]) != list(frame[contract.label])


def test_materialized_split_is_written_once(contract, tmp_path):
    first = materialize_split(contract.path, contract, tmp_path)
    mtime = (first / "train" / "data.csv").stat().st_mtime_ns
    second = materialize_split(contract.path, contract, tmp_path)
    assert first == second
    assert (second / "train" / "data.csv").stat().st_mtime_ns == mtime


def test_split_depends_on_the_seed(contract):
    other = contract.with_overrides(split_seed=contract.split_seed + 1)
    assert _keys(split_raw(contract.path, contract)[1]) != _keys(split_raw(contract.path, other)[1])


def test_split_is_the_same_from_lines_and_from_cells(contract, tmp_path):
    # A file without quotes is split from its lines' bytes; quoting forces the parsed
    # cells. Quoting a value changes no cell, so it must change no row's side either.
    quoted = tmp_path / "quoted.csv"
    quoted.write_text(contract.path.read_text().replace("Torgersen", '"Torgersen"'))
    simple, from_cells = load_split(contract.path, contract), load_split(quoted, contract)
    assert simple.sizes == from_cells.sizes
    pd.testing.assert_frame_equal(simple.eval, from_cells.eval)
    pd.testing.assert_frame_equal(simple.train, from_cells.train)
