"""Quick checks of the Lightning pipeline's steps, without running the pipeline."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from benchmarks import scale_data
from components.lightning import drift, preprocess
from components.shared.contract import REPO_ROOT
from components.shared.dataset import load_split


@pytest.fixture(scope="module")
def batch(contract) -> pd.DataFrame:
    split = load_split(contract.path, contract)
    return pd.concat([split.train, split.eval], ignore_index=True)


def test_generated_suite_covers_every_contract_column(contract):
    from components.lightning.validate_data import build_expectations

    expectations = build_expectations(contract)
    by_column: dict[str, set[str]] = {}
    for expectation in expectations:
        column = getattr(expectation, "column", None)
        if column:
            by_column.setdefault(column, set()).add(expectation.expectation_type)
    assert list(by_column) == contract.column_names
    for column in contract.columns:
        kinds = by_column[column.name]
        assert {"expect_column_to_exist", "expect_column_values_to_not_be_null"} <= kinds
        if column.is_numeric:
            assert {
                "expect_column_values_to_be_in_type_list",
                "expect_column_values_to_be_between",
            } <= kinds
        else:
            assert "expect_column_values_to_be_in_set" in kinds
    table = {e.expectation_type: e for e in expectations if not getattr(e, "column", None)}
    columns = table["expect_table_columns_to_match_set"]
    assert set(columns.column_set) == set(contract.column_names) and columns.exact_match
    assert table["expect_table_row_count_to_be_between"].min_value == contract.min_rows


def test_validation_passes_clean_data_and_names_a_bad_column(contract, batch, tmp_path):
    from components.lightning.validate_data import validate

    assert validate(batch, contract, tmp_path / "clean").success
    bad = batch.copy()
    bad.loc[bad.index % 3 == 0, "island"] = "Atlantis"
    report = validate(bad, contract, tmp_path / "bad")
    assert not report.success and report.columns == ["island"]
    assert (tmp_path / "bad" / "data_docs" / "index.html").exists()


def test_validation_reads_columns_by_name_and_names_each_mismatch_once(contract, batch, tmp_path):
    from components.lightning.validate_data import validate

    assert validate(batch[list(reversed(batch.columns))], contract, tmp_path / "reordered").success
    renamed = batch.rename(columns={"sex": "gender"})
    report = validate(renamed, contract, tmp_path / "renamed")
    # One line per column and cause, not one per expectation on the missing column.
    assert report.reasons == ["sex: missing from the file", "gender: not in the contract"]


def test_shipped_data_does_not_drift_from_itself(contract, batch):
    findings, _ = drift.check_drift(batch, contract, drift.load_reference(contract))
    assert findings == []


def test_drift_names_the_shifted_column(contract, batch):
    shifted = batch.copy()
    shifted["bill_depth_mm"] = shifted["bill_depth_mm"] + 3.0  # > 1 reference std
    shifted.loc[shifted.index % 2 == 0, "sex"] = "male"
    findings, _ = drift.check_drift(shifted, contract, drift.load_reference(contract))
    assert {f.column for f in findings} == {"bill_depth_mm"}


def test_comparators_on_hand_made_distributions():
    """TFDV's two distances: L-infinity of category frequencies; Jensen-Shannon divergence
    (base 2) of histograms spread onto the union of their bucket edges."""
    assert drift.l_infinity({"a": 0.5, "b": 0.5}, {"a": 0.8, "b": 0.2}) == pytest.approx(0.3)
    assert drift.l_infinity({"a": 1.0}, {"b": 1.0}) == pytest.approx(1.0)
    even = {"edges": [0.0, 1.0, 2.0], "counts": [5, 5]}
    assert drift.jensen_shannon(even, even) == pytest.approx(0.0)
    # Disjoint ranges share nothing: the divergence's maximum.
    assert drift.jensen_shannon(even, {"edges": [5.0, 6.0, 7.0], "counts": [1, 1]}) == (
        pytest.approx(1.0)
    )
    # Half of one side's mass falls on the other's: P = (1/2, 1/2, 0), Q = (0, 1/2, 1/2).
    shifted = {"edges": [1.0, 2.0, 3.0], "counts": [5, 5]}
    assert drift.jensen_shannon(even, shifted) == pytest.approx(0.5)
    # A constant column is a bucket of no width: its mass stays where it lies.
    point = {"edges": [1.5, 1.5], "counts": [4]}
    assert drift.jensen_shannon(point, point) == pytest.approx(0.0)


def test_each_shipped_year_passes_and_one_island_or_species_drifts(contract, batch):
    """The thresholds separate the penguins' own years (the spans they came in) from
    batches that are not the same population."""
    reference = drift.load_reference(contract)
    for year in (2007, 2008, 2009):
        findings, _ = drift.check_drift(batch[batch["year"] == year], contract, reference)
        assert findings == [], year
    findings, _ = drift.check_drift(batch[batch["island"] == "Biscoe"], contract, reference)
    assert {f.column for f in findings} == {"island", "species"}
    findings, _ = drift.check_drift(batch[batch["species"] == "Adelie"], contract, reference)
    assert "species" in {f.column for f in findings}


def test_a_reference_of_means_is_refused_with_the_way_out(contract, batch):
    old = {"numeric": {"bill_depth_mm": {"mean": 17.0, "std": 2.0}}, "categorical": {}}
    with pytest.raises(ValueError, match="regenerate it"):
        drift.check_drift(batch, contract, old)


def test_importing_validation_leaves_out_the_optional_modules_it_never_uses():
    """Installed here only for the other wing; with the speed-up off, GE imports them."""
    from components.lightning.validate_data import UNUSED_OPTIONAL_MODULES
    from components.shared.speedups import OFF_VARIABLE

    probe = (
        "import sys, components.lightning.validate_data as v;"
        "print(','.join(m for m in v.UNUSED_OPTIONAL_MODULES if m in sys.modules))"
    )

    def loaded(off: str) -> set[str]:
        env = {**os.environ, OFF_VARIABLE: off}
        run = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True,
            cwd=REPO_ROOT, env=env,
        )  # fmt: skip
        return set(filter(None, run.stdout.strip().split(",")))

    assert loaded("") == set()
    installed = {m for m in UNUSED_OPTIONAL_MODULES if _installed(m)}
    assert loaded("module-stubs") == installed


def _installed(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is absent
        return False


def test_preprocessing_is_fitted_on_train_and_handles_missing_values(contract):
    split = load_split(contract.path, contract)
    prep = preprocess.fit(split.train, contract)
    assert prep["numeric"]["body_mass_g"]["mean"] == pytest.approx(
        split.train["body_mass_g"].mean()
    )
    row = split.eval.head(1).copy()
    row["body_mass_g"] = np.nan
    row["sex"] = None
    x = preprocess.transform(row, prep)
    names = list(prep["numeric"]) + [
        f"{c}={v}" for c, vocab in prep["categorical"].items() for v in vocab
    ]
    assert x.shape == (1, len(names)) and x.dtype == np.float32
    assert x[0, names.index("body_mass_g")] == pytest.approx(0.0)  # imputed with train mean
    assert x[0, names.index("sex=__missing__")] == 1.0
    omitted = preprocess.transform(row.drop(columns=["sex", "body_mass_g"]), prep)
    np.testing.assert_array_equal(omitted, x)  # optional inputs may be left out of a request
    json.dumps(prep)  # the served model reads it as plain JSON


@pytest.mark.e2e
def test_generated_rows_pass_the_pipelines_validation(tmp_path):
    """The same contract's Great Expectations suite and drift check accept the draw
    (the TFDV side runs in `make bench-scale`)."""
    from components.lightning import validate_data
    from components.shared.contract import load_contract
    from components.shared.dataset import load_split

    contract = load_contract(scale_data.write_dataset(20_000, tmp_path, seed=1))
    split = load_split(contract.path, contract)
    frame = pd.concat([split.train, split.eval])
    report = validate_data.validate(frame, contract, tmp_path / "gx")
    assert report.success, [str(f) for f in report.failures]
    findings, _ = drift.check_drift(frame, contract, drift.load_reference(contract))
    assert not findings
