"""One deterministic split: same rows for both pipelines, in every process."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from components.shared.contract import REPO_ROOT
from components.shared.dataset import file_sha256, load_split, snapshot, split_raw


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


def test_split_files_and_split_frames_hold_identical_rows(contract, tmp_path):
    split = load_split(contract.path, contract)
    snap = snapshot(contract.path, contract, tmp_path)
    assert snap.sizes == split.sizes and snap.rows == len(split.rows)
    assert snap.sha256 == split.data_sha256 == file_sha256(contract.path)
    root = snap.split_dir
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


def test_split_files_are_shuffled_reproducibly(contract, tmp_path):
    # ExampleGen writes the examples in the files' order (it does not shuffle them
    # again), so a CSV sorted by its label must not reach the Trainer sorted.
    frame = load_split(contract.path, contract).train
    first = snapshot(contract.path, contract, tmp_path / "a").split_dir / "train" / "data.csv"
    second = snapshot(contract.path, contract, tmp_path / "b").split_dir / "train" / "data.csv"
    assert first.read_bytes() == second.read_bytes()
    on_disk = pd.read_csv(first, dtype=str, keep_default_na=False)
    assert list(on_disk[contract.label]) != list(frame[contract.label])


def test_a_snapshot_is_written_once_and_read_back_without_the_data(contract, tmp_path):
    first = snapshot(contract.path, contract, tmp_path)
    mtime = (first.eval_file).stat().st_mtime_ns
    data = tmp_path / "gone.csv"  # the second snapshot reads neither hash nor rows from it
    second = snapshot(data, contract, tmp_path, sha256=first.sha256)
    assert (second.split_dir, second.sizes) == (first.split_dir, first.sizes)
    assert second.eval_file.stat().st_mtime_ns == mtime


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
