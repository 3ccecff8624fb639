"""The template's drafted_penguins and shipped contracts, through Great Expectations and the drift
reference: the suite a draft gets accepts the CSV it was drafted_penguins from and rejects bad
inputs; every shipped drift reference is in sync with its contract."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("great_expectations")

from components.lightning import (  # noqa: E402
    drift,
    reference_path,  # noqa: E402
    validate_data,
)
from components.shared.contract import REPO_ROOT, load_contract  # noqa: E402
from tests.bad_data import CORPUS  # noqa: E402
from tests.conftest import typed_rows as _typed  # noqa: E402
from tests.shared.test_template import odd_csv  # noqa: E402

# Bad inputs the profiled penguins contract must reject, and the column it must name.
REJECTED = (
    "missing_column",
    "extra_column",
    "text_in_numeric",
    "out_of_range",
    "unseen_category",
    "renamed_labels",
    "mostly_null_column",
)


def test_drafted_suite_passes_the_csv_it_was_made_from(drafted_penguins, tmp_path):
    report = validate_data.validate(
        _typed(drafted_penguins.path, drafted_penguins), drafted_penguins, tmp_path
    )
    assert report.success, [str(f) for f in report.failures]


@pytest.mark.parametrize("kind", REJECTED)
def test_drafted_contract_rejects_bad_inputs(drafted_penguins, tmp_path, kind):
    bad = CORPUS[kind].make(tmp_path)
    report = validate_data.validate(
        _typed(bad, drafted_penguins), drafted_penguins, tmp_path / "docs"
    )
    assert not report.success
    assert CORPUS[kind].names in report.columns, [str(f) for f in report.failures]


def test_a_text_column_passes_the_suite(tmp_path):
    from tests.conftest import run_cli

    csv = odd_csv(tmp_path / "visits.csv")
    out = tmp_path / "visits.yaml"
    assert run_cli("init-contract", csv, "--label", "outcome", "--out", out).returncode == 0
    contract = load_contract(out)
    assert validate_data.validate(_typed(csv, contract), contract, tmp_path).success


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "data").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_drift_reference_is_in_sync_with_its_contract(path):
    contract = load_contract(path)
    shipped = json.loads(reference_path(contract).read_text())
    shipped.pop(drift.STAMP_KEY)
    assert shipped == drift.compute_reference(contract), "run `make contract-artifacts`"
    assert drift.fresh_companion(contract) == reference_path(contract)
