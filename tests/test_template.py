"""The repository as a template: a second dataset (wine) runs through both pipelines by its
contract alone, and `init-contract` drafts a working contract from a user's CSV.

Quick tests profile CSVs and validate with each stack's own validator; the e2e test runs
`all` on wine in a workdir that already holds a penguins champion, which must stay put.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from components.shared.contract import DEFAULT_CONTRACT, REPO_ROOT, ContractError, load_contract
from components.shared.dataset import read_raw_text, to_typed
from tests.bad_data import CORPUS
from tests.conftest import run_cli

WINE = REPO_ROOT / "data" / "wine.yaml"
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


def _ok(result, code: int = 0) -> None:  # noqa: ANN001
    assert result.returncode == code, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def _typed(path: Path, contract) -> pd.DataFrame:  # noqa: ANN001
    raw = read_raw_text(path).replace({v: "" for v in contract.missing_values})
    return to_typed(raw, contract)


@pytest.fixture(scope="module")
def drafted(tmp_path_factory) -> tuple[object, object]:
    """(CLI result, contract) of init-contract on the shipped penguins CSV."""
    out = tmp_path_factory.mktemp("draft") / "birds.yaml"
    result = run_cli("init-contract", "data/penguins.csv", "--label", "species", "--out", out)
    _ok(result)
    return result, load_contract(out)


def test_init_contract_drafts_a_loadable_contract_with_companions(drafted):
    result, contract = drafted
    assert contract.name == "birds"
    assert contract.path == REPO_ROOT / "data" / "penguins.csv"
    assert contract.classes == ("Adelie", "Chinstrap", "Gentoo")
    # The shipped contract's features, and year: a profile cannot know it is bookkeeping
    # (the shipped contract ignores it; the review sets role: ignored).
    shipped = load_contract(DEFAULT_CONTRACT)
    assert shipped.column("year").role == "ignored"
    assert [c.name for c in contract.features] == [c.name for c in shipped.features] + ["year"]
    assert contract.column("year").type == "int"
    assert (contract.experiment, contract.registered_model) == ("birds", "birds-lightning")
    # Companions beside the contract, written by whichever stacks exist.
    assert contract.schema_path.exists() and contract.reference_path.exists()
    for field in ("min/max", "domain", "label 'species'", "min_accuracy"):
        assert field in result.stdout, field


def test_init_contract_refuses_to_overwrite_a_contract(drafted):
    _, contract = drafted
    result = run_cli(
        "init-contract", "data/penguins.csv", "--label", "species", "--out", contract.source
    )
    assert result.returncode == 1 and "--force" in result.stderr


def test_drafted_contract_passes_the_csv_it_was_made_from_in_both_stacks(drafted, tmp_path):
    _, contract = drafted
    validate_data = pytest.importorskip("components.lightning.validate_data")
    frame = _typed(contract.path, contract)
    report = validate_data.validate(frame, contract, tmp_path)
    assert report.success, [str(f) for f in report.failures]
    pytest.importorskip("tensorflow_data_validation")
    from tests.test_tfx_schema import _anomalous_features

    assert _anomalous_features(contract, frame, tmp_path) == {}


@pytest.mark.parametrize("kind", REJECTED)
def test_drafted_contract_rejects_bad_inputs(drafted, tmp_path, kind):
    _, contract = drafted
    validate_data = pytest.importorskip("components.lightning.validate_data")
    bad = CORPUS[kind].make(tmp_path)
    report = validate_data.validate(_typed(bad, contract), contract, tmp_path / "docs")
    assert not report.success
    assert CORPUS[kind].names in report.columns, [str(f) for f in report.failures]


def test_drafted_tfdv_schema_rejects_bad_inputs(drafted, tmp_path):
    _, contract = drafted
    pytest.importorskip("tensorflow_data_validation")
    from tests.test_tfx_schema import _anomalous_features

    for kind in ("out_of_range", "unseen_category", "mostly_null_column"):
        bad = CORPUS[kind].make(tmp_path)
        found = _anomalous_features(contract, _typed(bad, contract), tmp_path)
        assert CORPUS[kind].names in found, (kind, found)


def _odd_csv(path: Path) -> Path:
    """Rows with a free-text column, a date column and two constant columns."""
    rows = 60
    frame = pd.DataFrame(
        {
            "outcome": ["yes" if i % 3 else "no" for i in range(rows)],
            "score": [round(10 + (i * 7) % 23 * 0.5, 1) for i in range(rows)],
            "colour": [("red", "green", "blue")[i % 3] for i in range(rows)],
            "comment": [
                f"visit {i}: patient felt {'fine' if i % 2 else 'tired'}" for i in range(rows)
            ],
            "visited_on": [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(rows)],
            "site": ["lab-1"] * rows,
            "version": [3] * rows,
        }
    )
    frame.to_csv(path, index=False)
    return path


def test_init_contract_says_what_it_did_with_text_dates_and_constants(tmp_path):
    csv = _odd_csv(tmp_path / "visits.csv")
    result = run_cli("init-contract", csv, "--label", "outcome", "--out", tmp_path / "visits.yaml")
    _ok(result)
    said = {line.split(":")[0].split()[-1]: line for line in result.stdout.splitlines()}
    assert "free text" in said["comment"] and "ignored" in said["comment"]
    assert "dates" in said["visited_on"] and "ignored" in said["visited_on"]
    assert "constant" in said["site"] and "constant" in said["version"]

    contract = load_contract(tmp_path / "visits.yaml")
    types = {c.name: (c.type, c.role) for c in contract.columns}
    assert types == {
        "outcome": ("categorical", "label"),
        "score": ("float", "feature"),
        "colour": ("categorical", "feature"),
        "comment": ("text", "ignored"),
        "visited_on": ("text", "ignored"),
        "site": ("categorical", "ignored"),
        "version": ("int", "ignored"),
    }
    # Both stacks accept a text column: no domain in the TFDV schema, no set in GE.
    schema = pytest.importorskip("components.tfx.schema")
    feature = next(f for f in schema.build_schema(contract).feature if f.name == "comment")
    assert not feature.HasField("string_domain") and feature.presence.min_fraction == 1.0
    validate_data = pytest.importorskip("components.lightning.validate_data")
    assert validate_data.validate(_typed(csv, contract), contract, tmp_path).success


def test_text_columns_must_be_ignored(tmp_path):
    text = WINE.read_text().replace(
        "{type: float, role: feature, min: 10.6, max: 15.3,", "{type: text, role: feature,"
    )
    assert text != WINE.read_text()
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(ContractError, match="alcohol.*role: ignored"):
        load_contract(tmp_path / "bad.yaml")


def test_wine_csv_is_sklearns_wine_data():
    from sklearn.datasets import load_wine

    shipped = pd.read_csv(REPO_ROOT / "data" / "wine.csv")
    bundled = load_wine(as_frame=True)
    assert shipped.shape == (178, 14)
    assert shipped["cultivar"].tolist() == [bundled.target_names[t] for t in bundled.target]
    features = bundled.data.rename(columns=lambda c: c.replace("/", "_"))
    pd.testing.assert_frame_equal(shipped.drop(columns="cultivar"), features, check_dtype=False)


def test_wine_companions_are_in_sync():
    contract = load_contract(WINE)
    schema = pytest.importorskip("components.tfx.schema")
    assert contract.schema_path.read_text() == schema.schema_text(
        contract
    ), "run `make contract-artifacts`"
    drift = pytest.importorskip("components.lightning.drift")
    shipped = json.loads(contract.reference_path.read_text())
    assert shipped == drift.compute_reference(contract), "run `make contract-artifacts`"


# --- end to end: wine by contract alone, beside a penguins champion -----------------------


def _client(workdir: Path):  # noqa: ANN202
    from mlflow import MlflowClient

    uri = f"sqlite:///{workdir / 'mlflow' / 'mlflow.db'}"
    return MlflowClient(uri, registry_uri=uri)


def _champion(client, model: str) -> tuple[str, str]:  # noqa: ANN001
    version = client.get_model_version_by_alias(model, "champion")
    return version.version, version.run_id


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> dict:
    """One workdir: a penguins Lightning champion first, then `all` on wine."""
    workdir = tmp_path_factory.mktemp("template")
    penguins = run_cli("lightning", "--workdir", workdir)
    _ok(penguins)
    before = _champion(_client(workdir), "penguins-lightning")
    wine = run_cli("all", "--contract", WINE, "--workdir", workdir)
    return {"workdir": workdir, "before": before, "wine": wine}


@pytest.mark.e2e
def test_wine_runs_through_both_pipelines_and_the_report(shared):
    _ok(shared["wine"])
    workdir = shared["workdir"]
    pushed = [p for p in (workdir / "serving" / "tfx" / "wine").iterdir() if p.is_dir()]
    assert pushed and (pushed[0] / "saved_model.pb").exists()
    assert not (workdir / "serving" / "tfx" / "penguins").exists()
    client = _client(workdir)
    _, run_id = _champion(client, "wine-lightning")
    wine = client.get_experiment_by_name("wine")
    assert client.get_run(run_id).info.experiment_id == wine.experiment_id
    stacks = {r.data.tags["pipeline"] for r in client.search_runs([wine.experiment_id])}
    assert stacks == {"tfx", "lightning"}
    assert (workdir / "report" / "wine" / "comparison.html").exists()


@pytest.mark.e2e
def test_wine_leaves_the_penguins_champion_and_experiment_alone(shared):
    _ok(shared["wine"])
    workdir = shared["workdir"]
    client = _client(workdir)
    assert _champion(client, "penguins-lightning") == shared["before"]
    penguins = client.get_experiment_by_name("penguins")
    runs = client.search_runs([penguins.experiment_id])
    assert {r.data.tags["pipeline"] for r in runs} == {"lightning"}
    assert {r.data.tags["contract"] for r in runs} == {"penguins"}


@pytest.mark.e2e
def test_tfx_run_readback_keeps_pipelines_apart(shared):
    """MLMD is shared by every contract in a workdir: reading back penguins' latest TFX run
    must not return wine's (there is none yet), and wine's must be wine's."""
    _ok(shared["wine"])
    pytest.importorskip("ml_metadata")
    from components.tfx import reports
    from pipelines import tfx_pipeline

    config = tfx_pipeline.sqlite_metadata_connection_config(
        str(tfx_pipeline.metadata_path(shared["workdir"]))
    )
    assert reports.latest_run(config, "penguins-tfx") == {}
    assert reports.latest_run(config, "wine-tfx")["Pusher"].state == "COMPLETE"
