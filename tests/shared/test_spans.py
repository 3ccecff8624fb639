"""Data in spans: span-<N>/ folders, the training window, and the split both stacks read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from components.shared import spans
from components.shared.contract import REPO_ROOT, ContractError, load_contract
from components.shared.dataset import (
    DataFileError,
    DataValidationError,
    check_readable,
    data_sha256,
    load_split,
    snapshot,
)
from tests.conftest import write_contract

SHIPPED = REPO_ROOT / "data" / "penguins-spans"


def _keys(frame: pd.DataFrame) -> set[str]:
    return set(frame.astype(str).agg("|".join, axis=1))


def test_the_shipped_spans_are_the_penguins_by_year(contract, tmp_path):
    spans.write_by_column(contract.path, "year", tmp_path)
    for made in sorted(tmp_path.glob("span-*/*.csv")):
        shipped = SHIPPED / made.parent.name / made.name
        assert (
            shipped.read_bytes() == made.read_bytes()
        ), f"rerun the command in data/README.md: {shipped}"
    assert [s.number for s in spans.list_spans(SHIPPED)] == [2007, 2008, 2009]


def test_a_window_of_every_span_splits_exactly_as_the_single_file(contract):
    whole = load_split(contract.path, contract)
    window = load_split(SHIPPED, contract)
    assert [p.number for p in window.spans] == [2007, 2008, 2009]
    assert window.sizes == whole.sizes
    assert _keys(window.train) == _keys(whole.train)
    assert _keys(window.eval) == _keys(whole.eval)


def test_the_window_is_the_newest_spans_and_the_arrived_batch_the_newest_one(tmp_path):
    contract = load_contract(write_contract(tmp_path, training={"window_spans": 2}))
    split = load_split(SHIPPED, contract)
    assert [p.number for p in split.spans] == [2008, 2009]
    newest = pd.read_csv(SHIPPED / "span-2009" / "penguins.csv")
    assert (
        len(split.arrived) == len(newest) == sum(split.span_rows(2009)[i].shape[0] for i in (0, 1))
    )
    assert set(split.arrived["year"]) == {2009}
    assert set(split.train["year"]) == {2008, 2009}


def test_the_data_hash_covers_the_window_only(tmp_path):
    contract = load_contract(write_contract(tmp_path, training={"window_spans": 2}))
    folder = tmp_path / "spans"
    shutil.copytree(SHIPPED, folder)
    before = data_sha256(folder, contract)
    (folder / "span-2007" / "penguins.csv").write_text("outside the window\n")
    assert data_sha256(folder, contract) == before
    with open(folder / "span-2009" / "penguins.csv", "a") as fh:
        fh.write("Adelie,Dream,40.0,18.0,190,3800,male,2009\n")
    assert data_sha256(folder, contract) != before


def test_the_staged_spans_follow_the_window_and_each_is_written_once(tmp_path):
    contract = load_contract(write_contract(tmp_path, training={"window_spans": 2}))
    folder = tmp_path / "spans"
    shutil.copytree(SHIPPED / "span-2007", folder / "span-2007")
    shutil.copytree(SHIPPED / "span-2008", folder / "span-2008")
    first = snapshot(folder, contract, tmp_path / "staged")
    assert first.spans == (2007, 2008)
    written = (first.split_dir / "span-2008" / "train" / "data.csv").stat().st_mtime_ns
    shutil.copytree(SHIPPED / "span-2009", folder / "span-2009")
    second = snapshot(folder, contract, tmp_path / "staged")
    assert second.spans == (2008, 2009) and second.split_dir == first.split_dir
    assert sorted(p.name for p in second.split_dir.iterdir()) == ["span-2008", "span-2009"]
    assert (second.split_dir / "span-2008" / "train" / "data.csv").stat().st_mtime_ns == written
    assert second.sizes == load_split(folder, contract).sizes
    assert second.eval_file == second.split_dir / "span-2009" / "eval" / "data.csv"
    record = json.loads((second.split_dir / "span-2009" / "snapshot.json").read_text())
    assert record["sha256"] == spans.spans_sha256([spans.Span(2009, folder / "span-2009")])


def test_a_span_too_small_to_split_is_refused_by_name(tmp_path, contract):
    folder = tmp_path / "spans"
    shutil.copytree(SHIPPED, folder)
    one_row = pd.read_csv(SHIPPED / "span-2009" / "penguins.csv").head(1)
    one_row.to_csv(folder / "span-2010.csv", index=False)  # not a folder: not a span
    (folder / "span-2010").mkdir()
    one_row.to_csv(folder / "span-2010" / "penguins.csv", index=False)
    with pytest.raises(DataValidationError, match="span 2010 has"):
        load_split(folder, contract)
    with pytest.raises(DataValidationError, match="span 2010 has"):
        snapshot(folder, contract, tmp_path / "staged")


@pytest.mark.parametrize(
    "layout, message",
    [
        ({"notes/readme.txt": "x"}, "no span-<N>/ folder"),
        ({"span-1/readme.txt": "x"}, "holds no .csv file"),
        ({"span-1/a.csv": "a\n1\n", "span-01/a.csv": "a\n1\n"}, "two folders are span 1"),
    ],
)
def test_a_folder_that_is_not_spans_is_refused_by_name(tmp_path, layout, message):
    for name, text in layout.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    with pytest.raises(DataFileError, match=message):
        check_readable(tmp_path)


@pytest.mark.parametrize("value", [0, -1, "3", 1.5, True])
def test_window_spans_must_be_a_whole_number_from_one(tmp_path, value):
    with pytest.raises(ContractError, match="training.window_spans"):
        load_contract(write_contract(tmp_path, training={"window_spans": value}))


def test_the_shipped_contract_trains_on_three_spans(contract):
    assert contract.window_spans == 3
    assert Path(contract.path).is_file()
