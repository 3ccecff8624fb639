"""A CSV is read by its header: order, byte-order marks and CRLF line ends change
nothing; a file that shares no column with the contract is refused in one line."""

from __future__ import annotations

import pytest

from components.shared.dataset import DataValidationError, load_split, snapshot
from components.shared.outcome import Outcome, collapse, last_line
from tests.bad_data import CORPUS, FORMATTED, PENGUINS


@pytest.mark.parametrize("variant", list(FORMATTED))
def test_a_reformatted_file_gives_the_same_rows_and_split(variant, contract, tmp_path):
    shipped = load_split(PENGUINS, contract)
    reformatted = load_split(FORMATTED[variant](tmp_path), contract)
    assert list(reformatted.rows.columns) == contract.column_names
    assert reformatted.rows.equals(shipped.rows)
    assert reformatted.n_train == shipped.n_train
    # What TFX's ExampleGen reads is byte for byte the shipped file's split.
    ours = snapshot(PENGUINS, contract, tmp_path / "snapshots")
    theirs = snapshot(FORMATTED[variant](tmp_path), contract, tmp_path / "snapshots")
    assert ours.split_dir != theirs.split_dir
    for part in ("train", "eval"):
        shipped_part = (ours.split_dir / part / "data.csv").read_bytes()
        assert (theirs.split_dir / part / "data.csv").read_bytes() == shipped_part


def test_a_file_with_none_of_the_contracts_columns_is_refused_in_one_line(contract, tmp_path):
    wrong = CORPUS["wrong_file"].make(tmp_path)
    for read in (load_split, lambda p, c: snapshot(p, c, tmp_path / "snapshots")):
        with pytest.raises(DataValidationError) as refused:
            read(wrong, contract)
        message = str(refused.value)
        assert "\n" not in message
        assert "none of the contract's 8 columns" in message and "alcohol" in message
        assert "wrong --data or --contract?" in message


def test_the_last_line_names_stack_outcome_exit_code_and_causes():
    reasons = [f"column_{i}: out of range" for i in range(5)]
    line = last_line("tfx", Outcome.DATA_INVALID, reasons + reasons)
    assert line == (
        "tfx: stopped by validation (exit 2): column_0: out of range; column_1: out of range;"
        " column_2: out of range; and 2 more above"
    )
    assert last_line("lightning", Outcome.NOT_BLESSED, ["min_accuracy: 0.5 < 0.9"]) == (
        "lightning: not blessed (exit 3): min_accuracy: 0.5 < 0.9"
    )
    assert collapse(["a", "a", "b"]) == ["a", "b"]
    assert collapse([str(i) for i in range(12)], limit=10)[-1].startswith("... and 2 more")
