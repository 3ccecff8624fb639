"""The template's drafted and shipped contracts, through TFDV: the schema a draft gets
accepts the CSV it was drafted from and rejects bad inputs; every shipped schema is in
sync with its contract."""

from __future__ import annotations

import pytest

pytest.importorskip("tensorflow_data_validation")

from components.shared.contract import REPO_ROOT, load_contract  # noqa: E402
from components.shared.dataset import read_raw_text, to_typed  # noqa: E402
from components.tfx import schema_path  # noqa: E402
from components.tfx.schema import build_schema, schema_text  # noqa: E402
from tests.bad_data import CORPUS  # noqa: E402
from tests.shared.test_template import draft_penguins, odd_csv  # noqa: E402
from tests.tfx.test_tfx_schema import _anomalous_features  # noqa: E402


def _typed(path, contract):  # noqa: ANN001, ANN202
    raw = read_raw_text(path).replace({v: "" for v in contract.missing_values})
    return to_typed(raw, contract)


@pytest.fixture(scope="module")
def drafted(tmp_path_factory):  # noqa: ANN201
    return draft_penguins(tmp_path_factory.mktemp("draft") / "birds.yaml")[1]


def test_drafted_schema_passes_the_csv_it_was_made_from(drafted, tmp_path):
    assert _anomalous_features(drafted, _typed(drafted.path, drafted), tmp_path) == {}


def test_drafted_tfdv_schema_rejects_bad_inputs(drafted, tmp_path):
    for kind in ("out_of_range", "unseen_category", "mostly_null_column"):
        bad = CORPUS[kind].make(tmp_path)
        found = _anomalous_features(drafted, _typed(bad, drafted), tmp_path)
        assert CORPUS[kind].names in found, (kind, found)


def test_a_text_column_gets_no_domain_in_the_schema(tmp_path):
    from tests.conftest import run_cli

    csv = odd_csv(tmp_path / "visits.csv")
    out = tmp_path / "visits.yaml"
    assert run_cli("init-contract", csv, "--label", "outcome", "--out", out).returncode == 0
    contract = load_contract(out)
    feature = next(f for f in build_schema(contract).feature if f.name == "comment")
    assert not feature.HasField("string_domain") and feature.presence.min_fraction == 1.0


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "data").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_schema_is_in_sync_with_its_contract(path):
    contract = load_contract(path)
    assert schema_path(contract).read_text() == schema_text(
        contract
    ), "run `make contract-artifacts`"
