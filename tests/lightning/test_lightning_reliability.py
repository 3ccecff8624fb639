"""Fail closed, lose nothing, Lightning: every kind of bad input through the Lightning
pipeline, a SIGKILL during training, and two runs at once on one store.

One good baseline run is shared by the module; every bad input, the crash and the
concurrent runs then use the same workdir, so each also checks that the MLflow
`champion` stays exactly as it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from components.shared.contract import load_contract
from tests.bad_data import CORPUS
from tests.conftest import run_cli, write_contract
from tests.failing_runs import check_case, kill, mlflow_client, popen, run_corpus, runs, wait_for

MODEL = "penguins-lightning"


def _versions(client) -> list[int]:  # noqa: ANN001
    return sorted(int(v.version) for v in client.search_model_versions(f"name='{MODEL}'"))


def _champion(client):  # noqa: ANN001, ANN202
    return client.get_model_version_by_alias(MODEL, "champion")


@pytest.fixture(scope="module")
def lightning_workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lightning")


@pytest.fixture(scope="module")
def lightning_baseline(lightning_workdir):  # noqa: ANN201
    result = run_cli("lightning", "--workdir", lightning_workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    with mlflow_client(lightning_workdir) as client:
        return _versions(client), _champion(client).version


@pytest.fixture(scope="module")
def lightning_corpus(lightning_baseline, lightning_workdir, tmp_path_factory) -> dict:
    out_dir = tmp_path_factory.mktemp("lightning-corpus")
    return run_corpus("lightning", lightning_workdir, out_dir), out_dir


@pytest.mark.e2e
@pytest.mark.parametrize("kind", list(CORPUS))
def test_lightning_bad_input_fails_closed(kind, lightning_corpus, lightning_workdir):
    results, out_dir = lightning_corpus
    check_case(kind, results[kind], "lightning")
    data_path = str((out_dir / f"{kind}.csv").resolve())
    with mlflow_client(lightning_workdir) as client:
        (run,) = runs(client, "lightning", f"params.data_path = '{data_path}'")
        assert run.info.status == "FAILED"
        assert "time_train_s" not in run.data.metrics
        assert run.data.tags["outcome"] == "data_invalid"
        artifacts = [a.path for a in client.list_artifacts(run.info.run_id, "validation")]
        if CORPUS[kind].reader:
            # The reader refused the file: nothing was validated, so there is no report;
            # the run says why in its outcome tags.
            assert "validation/ge_results.json" not in artifacts
            assert CORPUS[kind].names in run.data.tags["outcome_detail"]
        else:
            assert "validation/ge_results.json" in artifacts


@pytest.mark.e2e
def test_lightning_bad_inputs_register_and_promote_nothing(
    lightning_baseline, lightning_corpus, lightning_workdir
):
    versions, champion = lightning_baseline
    with mlflow_client(lightning_workdir) as client:
        assert _versions(client) == versions
        assert _champion(client).version == champion


def _lightning_training(workdir: Path):  # noqa: ANN202
    """True once a RUNNING lightning run has logged an epoch's val_loss: Lightning fits."""

    def training() -> bool:
        with mlflow_client(workdir) as client:
            running = runs(client, "lightning", "attributes.status = 'RUNNING'")
            return any("val_loss" in run.data.metrics for run in running)

    return training


@pytest.mark.e2e
def test_lightning_sigkill_in_training_then_rerun(
    lightning_baseline, lightning_corpus, lightning_workdir, tmp_path
):
    contract = load_contract()
    # Long enough to be caught mid-fit: many epochs, no early stop.
    hp = dict(contract.raw["hyperparameters"], epochs=2000, early_stopping_patience=2000)
    slow = write_contract(tmp_path, hyperparameters=hp)
    victim = popen("lightning", "--workdir", lightning_workdir, "--contract", slow)
    wait_for(_lightning_training(lightning_workdir), "Lightning to start fitting", victim)
    with mlflow_client(lightning_workdir) as client:
        versions = _versions(client)
        (killed,) = runs(client, "lightning", "attributes.status = 'RUNNING'")
    kill(victim)
    assert killed.data.tags["run_pid"] == str(victim.pid)

    rerun = run_cli("lightning", "--workdir", lightning_workdir)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"marked run {killed.info.run_id} KILLED" in rerun.stdout
    with mlflow_client(lightning_workdir) as client:
        assert client.get_run(killed.info.run_id).info.status == "KILLED"
        assert not runs(client, "lightning", "attributes.status = 'RUNNING'")
        # The killed run registered nothing; the rerun one version, now the champion.
        assert _versions(client) == [*versions, versions[-1] + 1]
        champion = _champion(client)
        assert int(champion.version) == versions[-1] + 1 and champion.status == "READY"


@pytest.mark.e2e
def test_two_lightning_runs_at_once_are_both_recorded(
    lightning_baseline, lightning_corpus, lightning_workdir
):
    with mlflow_client(lightning_workdir) as client:
        versions = _versions(client)
        finished = len(runs(client, "lightning", "attributes.status = 'FINISHED'"))
    procs = [popen("lightning", "--workdir", lightning_workdir, "--force") for _ in range(2)]
    outputs = [p.communicate(timeout=900) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out + err
    with mlflow_client(lightning_workdir) as client:
        assert len(runs(client, "lightning", "attributes.status = 'FINISHED'")) == finished + 2
        new = _versions(client)
        assert new == [*versions, versions[-1] + 1, versions[-1] + 2]
        champion = _champion(client)
        assert int(champion.version) in new[-2:] and champion.status == "READY"


@pytest.mark.e2e
def test_lightning_accepts_reordered_columns_a_bom_and_crlf(
    lightning_baseline, lightning_corpus, lightning_workdir, tmp_path
):
    from tests.bad_data import bom_crlf_reordered

    result = run_cli(
        "lightning", "--workdir", lightning_workdir, "--data", bom_crlf_reordered(tmp_path)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith(f"promoted {MODEL} version ")
