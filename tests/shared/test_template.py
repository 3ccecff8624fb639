"""The repository as a template: a second dataset (wine) runs through the pipelines by its
contract alone, and `init-contract` drafts a working contract from a user's CSV.

Quick tests profile CSVs (each stack's own validator checks the drafts in tests/<stack>/
test_*_template.py); the e2e test runs `all` on wine in a workdir that already holds a
penguins champion, which must stay put.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from components.shared import stacks
from components.shared.contract import DEFAULT_CONTRACT, REPO_ROOT, ContractError, load_contract
from tests.conftest import draft_penguins, needs_stacks, run_cli

WINE = REPO_ROOT / "data" / "wine.yaml"


def _ok(result, code: int = 0) -> None:  # noqa: ANN001
    assert result.returncode == code, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"


@pytest.fixture(scope="module")
def drafted(tmp_path_factory) -> tuple[object, object]:
    """(CLI result, contract) of init-contract on the shipped penguins CSV."""
    return draft_penguins(tmp_path_factory.mktemp("draft") / "birds.yaml")


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
    assert (contract.experiment, contract.model_name) == ("birds", "birds")
    # Companions beside the contract, one per stack in the tree (stacks.toml).
    for stack in stacks.load().values():
        assert contract.companion(stack.companion_suffix).exists(), stack.name
    for field in ("min/max", "domain", "label 'species'", "min_accuracy"):
        assert field in result.stdout, field


def test_init_contract_refuses_to_overwrite_a_contract(drafted):
    _, contract = drafted
    result = run_cli(
        "init-contract", "data/penguins.csv", "--label", "species", "--out", contract.source
    )
    assert result.returncode == 1 and "--force" in result.stderr


def odd_csv(path: Path) -> Path:
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
    csv = odd_csv(tmp_path / "visits.csv")
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
@needs_stacks("tfx", "lightning")
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
@needs_stacks("tfx", "lightning")
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
@needs_stacks("tfx", "lightning")
def test_tfx_run_readback_keeps_pipelines_apart(shared):
    """MLMD is shared by every contract in a workdir: reading back penguins' latest TFX run
    must not return wine's (there is none yet), and wine's must be wine's."""
    _ok(shared["wine"])
    from tfx.orchestration.metadata import sqlite_metadata_connection_config

    from components.shared.layout import Workdir
    from components.tfx import STACK, reports

    db = Workdir(shared["workdir"]).metadata_db(STACK)
    config = sqlite_metadata_connection_config(str(db))
    assert reports.latest_run(config, "penguins-tfx") == {}
    assert reports.latest_run(config, "wine-tfx")["Pusher"].state == "COMPLETE"


def test_init_contract_keeps_flags_exact_lists_extrapolations_and_beats_the_majority(tmp_path):
    rows = 100
    frame = pd.DataFrame(
        {
            "churned": ["yes" if i % 5 == 0 else "no" for i in range(rows)],  # 80 % "no"
            "is_member": [i % 2 for i in range(rows)],
            "rating": [1 + i % 5 for i in range(rows)],
            "spend": [round(20 + i * 1.5, 1) for i in range(rows)],
        }
    )
    frame.to_csv(tmp_path / "shop.csv", index=False)
    result = run_cli(
        "init-contract",
        tmp_path / "shop.csv",
        "--label",
        "churned",
        "--out",
        tmp_path / "shop.yaml",
    )
    _ok(result)
    contract = load_contract(tmp_path / "shop.yaml")
    member, rating, spend = (contract.column(n) for n in ("is_member", "rating", "spend"))
    assert (member.type, member.min, member.max) == ("int", 0, 1)  # a 2 must fail
    assert (rating.min, rating.max) == (1, 5)
    assert spend.min < 20 and spend.max > 168.5
    out = result.stdout
    assert "is_member: a 0/1 flag" in out
    assert "spend 20..168.5 -> " in out and "is_member 0..1 ->" not in out
    # Always answering "no" scores 0.8: the drafted gate must refuse such a model.
    assert contract.min_accuracy >= 0.85
    assert "warning: label 'churned' is imbalanced (no 80.0%, yes 20.0%)" in out
