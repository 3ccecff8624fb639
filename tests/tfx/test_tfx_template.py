"""The template's drafted_penguins and shipped contracts, through TFDV: the schema a draft gets
accepts the CSV it was drafted_penguins from and rejects bad inputs; every shipped schema is in
sync with its contract."""

from __future__ import annotations

import pytest

pytest.importorskip("tensorflow_data_validation")

from components.shared.contract import REPO_ROOT, load_contract  # noqa: E402
from components.tfx import schema_path  # noqa: E402
from components.tfx.schema import build_schema, schema_text  # noqa: E402
from tests.bad_data import CORPUS  # noqa: E402
from tests.conftest import typed_rows as _typed  # noqa: E402
from tests.shared.test_template import odd_csv  # noqa: E402
from tests.tfx.test_tfx_schema import _anomalous_features  # noqa: E402


def test_drafted_schema_passes_the_csv_it_was_made_from(drafted_penguins, tmp_path):
    assert (
        _anomalous_features(
            drafted_penguins, _typed(drafted_penguins.path, drafted_penguins), tmp_path
        )
        == {}
    )


def test_drafted_tfdv_schema_rejects_bad_inputs(drafted_penguins, tmp_path):
    for kind in ("out_of_range", "unseen_category", "mostly_null_column"):
        bad = CORPUS[kind].make(tmp_path)
        found = _anomalous_features(drafted_penguins, _typed(bad, drafted_penguins), tmp_path)
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
