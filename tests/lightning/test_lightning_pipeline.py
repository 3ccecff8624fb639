"""End-to-end runs of `python -m pipelines lightning` against a real MLflow SQLite store
and real Great Expectations. One workdir is shared by the runs that build on each other
(first run, second run, bad data, too-high threshold), so the suite trains few models."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.bad_data import KINDS
from tests.conftest import run_cli, write_contract

pytestmark = pytest.mark.e2e

MODEL = "penguins-lightning"


def _uri(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'mlflow' / 'mlflow.db'}"


@contextmanager
def tracking(workdir: Path) -> Iterator[object]:
    """An MlflowClient on the workdir's store, with mlflow's global URIs pointed there.

    mlflow.set_tracking_uri exports MLFLOW_TRACKING_URI; restore it afterwards, or every
    later CLI run from this test process would inherit this store.
    """
    import mlflow

    saved = os.environ.get("MLFLOW_TRACKING_URI")
    try:
        mlflow.set_tracking_uri(_uri(workdir))
        mlflow.set_registry_uri(_uri(workdir))
        yield mlflow.MlflowClient(_uri(workdir), registry_uri=_uri(workdir))
    finally:
        mlflow.set_tracking_uri(saved)
        if saved is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)


def _versions(client) -> list[int]:  # noqa: ANN001
    return sorted(int(v.version) for v in client.search_model_versions(f"name='{MODEL}'"))


def _champion(client) -> int:  # noqa: ANN001
    return int(client.get_model_version_by_alias(MODEL, "champion").version)


def _runs(client) -> list:  # noqa: ANN001
    return client.search_runs([client.get_experiment_by_name("penguins").experiment_id])


def _latest_run(client):  # noqa: ANN001, ANN202
    experiment = client.get_experiment_by_name("penguins")
    return client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"])[
        0
    ]


def _ok(result, code: int) -> None:  # noqa: ANN001
    assert result.returncode == code, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lightning")


@pytest.fixture(scope="module")
def first(workdir):  # noqa: ANN001, ANN201
    return run_cli("lightning", "--workdir", workdir)


@pytest.fixture(scope="module")
def rerun(workdir, first):  # noqa: ANN001, ANN201
    """The same data, contract and code again: answered from the first run's record."""
    _ok(first, 0)
    with tracking(workdir) as client:
        before = len(_runs(client))
    result = run_cli("lightning", "--workdir", workdir)
    with tracking(workdir) as client:
        after = len(_runs(client))
        versions = len(_versions(client))
    return result, after - before, versions


@pytest.fixture(scope="module")
def second(workdir, rerun):  # noqa: ANN001, ANN201
    return run_cli("lightning", "--workdir", workdir, "--force")


def test_an_unchanged_rerun_records_nothing(rerun):
    result, new_runs, versions = rerun
    _ok(result, 0)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and "unchanged since the run of" in lines[0], result.stdout
    assert f"promoted {MODEL} version 1 to champion" in lines[0]
    assert (new_runs, versions) == (0, 1)


def test_first_run_promotes_and_records_everything(workdir, first):
    _ok(first, 0)
    assert first.stdout.strip().splitlines()[-1] == f"promoted {MODEL} version 1 to champion"
    # Each step said it was done, in order, as the run went.
    steps = re.findall(r"^  (\w+) done in \d+\.\d s$", first.stdout, flags=re.M)
    assert steps == ["ingest", "validate", "drift", "preprocess", "train", "evaluate", "promote"]
    with tracking(workdir) as client:
        assert _champion(client) == 1
        experiment = client.get_experiment_by_name("penguins")
        assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
        assert experiment.artifact_location.startswith((workdir / "mlflow").as_uri())
        run = _latest_run(client)
        assert run.info.status == "FINISHED"
        # Artifacts beside the store, not in ./mlruns of the current directory.
        assert run.info.artifact_uri.startswith((workdir / "mlflow" / "artifacts").as_uri())
        assert run.data.tags["pipeline"] == "lightning"
        assert run.data.tags["outcome"] == "promoted"
        params = run.data.params
        for key in ("hidden_units", "learning_rate", "epochs", "batch_size", "seed"):
            assert key in params
        assert len(params["data_sha256"]) == 64
        assert int(params["train_rows"]) + int(params["eval_rows"]) == 344
        metrics = run.data.metrics
        assert metrics["eval_accuracy"] >= 0.9
        for key in ("eval_log_loss", "eval_f1_Adelie", "eval_f1_Chinstrap", "eval_f1_Gentoo"):
            assert key in metrics
        for step in ("ingest", "validate", "drift", "preprocess", "train", "evaluate"):
            assert f"time_{step}_s" in metrics
        history = client.get_metric_history(run.info.run_id, "val_loss")
        assert len(history) >= 2 and [m.step for m in history][:2] == [0, 1]
        contexts = {
            tag.value
            for dataset_input in run.inputs.dataset_inputs
            for tag in dataset_input.tags
            if tag.key == "mlflow.data.context"
        }
        assert contexts == {"training", "evaluation"}
        docs = [a.path for a in client.list_artifacts(run.info.run_id, "validation/data_docs")]
        assert "validation/data_docs/index.html" in docs
        artifacts = [a.path for a in client.list_artifacts(run.info.run_id, "validation")]
        assert "validation/ge_results.json" in artifacts

        import mlflow
        import pandas as pd

        from components.shared.contract import load_contract
        from components.shared.dataset import load_split

        contract = load_contract()
        rows = load_split(contract.path, contract).eval
        model = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")
        assert model.metadata.signature is not None
        raw = pd.read_csv(contract.path).head(20)  # raw rows, label and extras included
        predictions = model.predict(raw)
        assert set(predictions["prediction"]) <= set(contract.classes)
        accuracy = (model.predict(rows)["prediction"] == rows[contract.label]).mean()
        assert accuracy == pytest.approx(metrics["eval_accuracy"])


def test_tensorboard_event_files_hold_the_epoch_losses(workdir, first):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _ok(first, 0)
    with tracking(workdir) as client:
        run = _latest_run(client)
        epochs = int(run.data.metrics["epochs_run"])
    logs = workdir / "tensorboard" / "lightning" / "penguins" / run.info.run_id
    events = EventAccumulator(str(logs))
    events.Reload()
    train_loss = [e.value for e in events.Scalars("train_loss")]
    # One value per epoch, the same epochs MLflow recorded; training loss going down.
    assert len(train_loss) == epochs >= 2
    assert len(events.Scalars("val_loss")) == epochs
    assert train_loss[-1] < train_loss[0]


def test_champion_is_exported_to_onnx_that_agrees_with_it(workdir, first):
    import json

    _ok(first, 0)
    out = workdir / "edge" / "lightning" / "penguins"
    record = json.loads((out / "edge.json").read_text())
    assert "error" not in record, record
    import mlflow
    import numpy as np
    import onnxruntime
    import pandas as pd

    from models.lightning.features import transform

    assert record["agreement"] == 1.0 and record["max_abs_prob_diff"] < 1e-5
    assert 0 < record["size_bytes"] < 1_000_000
    # Missing values and an unseen category, through model.onnx and the JSON beside it,
    # score like the champion served by MLflow.
    raw = pd.DataFrame(
        [{"island": None, "sex": "unknown", "bill_length_mm": np.nan, "bill_depth_mm": 18.0,
          "flipper_length_mm": 200.0, "body_mass_g": None}]
    )  # fmt: skip
    preprocessing = json.loads((out / "preprocessing.json").read_text())
    session = onnxruntime.InferenceSession(str(out / "model.onnx"))
    (edge,) = session.run(None, {"features": transform(raw, preprocessing).astype("float32")})
    with tracking(workdir):
        served = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion").predict(raw)
    full = served[[c for c in served.columns if c.startswith("prob_")]].to_numpy()
    assert np.abs(edge - full).max() < 1e-5


def test_onnx_agreement_covers_every_row_across_slices(workdir, first, contract, tmp_path):
    """More eval rows than one onnxruntime slice: every row is still checked, and the
    batch latency is timed on the fixed batch, not on all of them."""
    import pandas as pd

    from components.lightning import edge
    from components.shared.dataset import load_split
    from components.shared.latency import LATENCY_BATCH_ROWS

    _ok(first, 0)
    rows = load_split(contract.path, contract).eval
    many = pd.concat([rows] * (edge.AGREEMENT_SLICE_ROWS // len(rows) + 2), ignore_index=True)
    with tracking(workdir):
        result = edge.export(f"models:/{MODEL}@champion", contract, many, tmp_path)
    assert result["rows"] == len(many) > edge.AGREEMENT_SLICE_ROWS
    assert result["agreement"] == 1.0
    assert result["latency_batch_rows"] == LATENCY_BATCH_ROWS


def test_second_run_is_compared_with_the_champion(workdir, second):
    _ok(second, 0)
    assert second.stdout.strip().splitlines()[-1] == f"promoted {MODEL} version 2 to champion"
    assert "gate champion: pass" in second.stdout and "champion v1" in second.stdout
    with tracking(workdir) as client:
        assert _champion(client) == 2
        run = _latest_run(client)
        assert "champion_eval_accuracy" in run.data.metrics


@pytest.mark.parametrize("kind", list(KINDS))
def test_bad_data_stops_before_training(workdir, second, kind, tmp_path):
    _ok(second, 0)
    maker, column = KINDS[kind]
    with tracking(workdir) as client:
        versions, champion = _versions(client), _champion(client)
    result = run_cli("lightning", "--workdir", workdir, "--data", maker(tmp_path))
    _ok(result, 2)
    assert column in result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("lightning: stopped by validation (exit 2): ") and column in last
    with tracking(workdir) as client:
        assert _versions(client) == versions
        assert _champion(client) == champion
        run = _latest_run(client)
        assert run.info.status == "FAILED"
        assert run.data.tags["outcome"] == "data_invalid"
        assert "time_train_s" not in run.data.metrics
        artifacts = [a.path for a in client.list_artifacts(run.info.run_id, "validation")]
        assert "validation/ge_results.json" in artifacts


def test_not_beating_the_baseline_by_the_lift_registers_a_rejected_version(
    workdir, second, tmp_path
):
    """min_accuracy alone would promote it; the majority-class baseline plus a lift that
    no model can reach (over 1.0) must not."""
    _ok(second, 0)
    contract = write_contract(
        tmp_path,
        evaluation={"min_accuracy": 0.5, "max_accuracy_drop": 0.02, "min_lift_over_baseline": 0.6},
    )
    with tracking(workdir) as client:
        versions, champion = _versions(client), _champion(client)
    result = run_cli("lightning", "--workdir", workdir, "--contract", contract)
    _ok(result, 3)
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("lightning: not blessed (exit 3): min_accuracy"), last
    assert "majority baseline" in last
    with tracking(workdir) as client:
        new = _versions(client)
        assert new == [*versions, versions[-1] + 1]
        assert _champion(client) == champion
        version = client.get_model_version(MODEL, str(new[-1]))
        assert "min_accuracy" in version.tags["rejected_reason"]
        assert _latest_run(client).data.tags["outcome"] == "not_blessed"


def test_ddp_on_two_cpu_processes(tmp_path):
    result = run_cli("lightning", "--workdir", tmp_path, "--devices", "2", "--strategy", "ddp")
    _ok(result, 0)
    assert "Starting with 2 processes" in result.stdout + result.stderr
    with tracking(tmp_path) as client:
        assert _champion(client) == 1
        run = _latest_run(client)
        assert run.data.params["devices"] == "2"
        assert run.data.metrics["eval_accuracy"] >= 0.9


def test_a_model_worse_than_the_champion_is_rejected(workdir, second, tmp_path):
    """Gate (b): min_accuracy 0, but one epoch at a tiny learning rate cannot come within
    max_accuracy_drop of the champion on the same eval rows. (Such a model is about as
    good as always predicting the majority class, so the baseline gate may fail too.)"""
    _ok(second, 0)
    from components.shared.contract import load_contract

    hp = load_contract().raw["hyperparameters"]
    contract = write_contract(
        tmp_path,
        hyperparameters={**hp, "epochs": 1, "learning_rate": 1e-5},
        evaluation={"min_accuracy": 0.0, "max_accuracy_drop": 0.02},
    )
    with tracking(workdir) as client:
        champion = _champion(client)
    result = run_cli("lightning", "--workdir", workdir, "--contract", contract)
    _ok(result, 3)
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("lightning: not blessed (exit 3): "), last
    assert "champion: eval accuracy" in last and f"vs champion v{champion}" in last
    with tracking(workdir) as client:
        assert _champion(client) == champion
        rejected = client.get_model_version(MODEL, str(_versions(client)[-1]))
        assert "champion: eval accuracy" in rejected.tags["rejected_reason"]


def test_rollback_gives_champion_back_to_each_earlier_champion_in_turn(workdir, second):
    """`rollback --stack lightning` moves `champion` to the newest earlier version that
    held it and tags the one it leaves; once at the first champion it refuses (exit 1)
    and moves nothing."""
    with tracking(workdir) as client:
        promoted = sorted(
            int(v.version)
            for v in client.search_model_versions(f"name='{MODEL}'")
            if v.tags.get("status") == "champion"
        )
        assert len(promoted) >= 2 and _champion(client) == promoted[-1], promoted
    for back_to, left in reversed(list(zip(promoted, promoted[1:], strict=False))):
        result = run_cli("rollback", "--stack", "lightning", "--workdir", workdir)
        _ok(result, 0)
        assert f"{MODEL} champion is version {back_to} again" in result.stdout
        with tracking(workdir) as client:
            assert _champion(client) == back_to
            assert client.get_model_version(MODEL, str(left)).tags["status"] == "rolled_back"
    result = run_cli("rollback", "--stack", "lightning", "--workdir", workdir)
    _ok(result, 1)
    assert f"{MODEL} version {promoted[0]} is its first champion" in result.stderr
    with tracking(workdir) as client:
        assert _champion(client) == promoted[0]
        rollbacks = client.search_runs(
            [client.get_experiment_by_name("penguins").experiment_id],
            filter_string="tags.rollback = 'lightning'",
        )
        assert len(rollbacks) == len(promoted) - 1
