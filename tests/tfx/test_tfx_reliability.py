"""Fail closed, lose nothing, TFX: every kind of bad input through the TFX pipeline, a
SIGKILL during training, a rerun and a concurrent run.

One good baseline run is shared by the module; every bad input, the crash and the
concurrent run then use the same workdir, so each also checks that the baseline's push
stays exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from components.shared.contract import load_contract
from components.shared.layout import Workdir
from components.tfx import STACK
from tests.bad_data import CORPUS
from tests.conftest import run_cli, write_contract
from tests.failing_runs import check_case, kill, mlflow_client, popen, run_corpus, runs, wait_for

# Stopped at the TFX validation gate (ExampleValidator anomalies); header_only and
# tiny_eval stop in the shared split's size checks first, the reader's kinds in the reader.
SPLIT_KINDS = ("header_only", "tiny_eval")
GATE_KINDS = [k for k, kind in CORPUS.items() if not kind.reader and k not in SPLIT_KINDS]
# What TFDV's ExampleValidator reports for each of them against the schema generated from
# the contract (components/tfx/schema.py), in both splits: docs/reliability.md's table.
TFDV_ANOMALIES = {
    "missing_column": {("bill_length_mm", "SCHEMA_MISSING_COLUMN")},
    "renamed_column": {("gender", "SCHEMA_NEW_COLUMN"), ("sex", "SCHEMA_MISSING_COLUMN")},
    "extra_column": {("comments", "SCHEMA_NEW_COLUMN")},
    "text_in_numeric": {
        ("flipper_length_mm", "UNEXPECTED_DATA_TYPE"),
        ("flipper_length_mm", "INT_TYPE_NOT_INT_STRING"),
    },
    "out_of_range": {("body_mass_g", "INT_TYPE_BIG_INT")},
    "unseen_category": {
        ("island", "ENUM_TYPE_UNEXPECTED_STRING_VALUES"),
        ("island", "FEATURE_TYPE_HIGH_UNIQUE"),
    },
    "renamed_labels": {("species", "ENUM_TYPE_UNEXPECTED_STRING_VALUES")},
    "mostly_null_column": {("bill_depth_mm", "FEATURE_TYPE_LOW_FRACTION_PRESENT")},
    "mostly_missing_label": {("species", "FEATURE_TYPE_LOW_FRACTION_PRESENT")},
    "single_class": {("species", "FEATURE_TYPE_LOW_UNIQUE")},
    "single_category": {("island", "FEATURE_TYPE_LOW_UNIQUE")},
    "drifted": set(),  # the schema holds; DistributionValidator stops it
}


def _tfx():  # noqa: ANN202
    """The TFX wing's pipeline module (skips when TFX is not installed)."""
    pytest.importorskip("tfx")
    from pipelines.tfx import pipeline

    return pipeline


def _tfx_executions(workdir: Path) -> dict[str, int]:
    from ml_metadata.metadata_store import metadata_store
    from tfx.orchestration import metadata

    tfx_pipeline = _tfx()
    store = metadata_store.MetadataStore(
        metadata.sqlite_metadata_connection_config(str(Workdir(workdir).metadata_db(STACK)))
    )
    prefix = tfx_pipeline.pipeline_name(load_contract()) + "."
    return {
        ctx.name[len(prefix) :]: len(store.get_executions_by_context(ctx.id))
        for ctx in store.get_contexts_by_type("node")
    }


def _serving_snapshot(workdir: Path) -> dict[str, str | None]:
    """Every entry of the serving directory: name -> sha256 of its saved_model.pb."""
    root = Workdir(workdir).serving(STACK, load_contract())
    return {
        p.name: hashlib.sha256((p / "saved_model.pb").read_bytes()).hexdigest()
        if (p / "saved_model.pb").exists()
        else None
        for p in sorted(root.iterdir())
    }


@pytest.fixture(scope="module")
def tfx_workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tfx")


@pytest.fixture(scope="module")
def tfx_baseline(tfx_workdir):  # noqa: ANN201
    _tfx()
    result = run_cli("tfx", "--workdir", tfx_workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    snapshot = _serving_snapshot(tfx_workdir)
    assert len(snapshot) == 1 and None not in snapshot.values()
    return snapshot, _tfx_executions(tfx_workdir)


@pytest.fixture(scope="module")
def tfx_corpus(tfx_baseline, tfx_workdir, tmp_path_factory) -> dict[str, dict]:
    return run_corpus("tfx", tfx_workdir, tmp_path_factory.mktemp("tfx-corpus"))


@pytest.mark.e2e
@pytest.mark.parametrize("kind", list(CORPUS))
def test_tfx_bad_input_fails_closed(kind, tfx_corpus):
    result = tfx_corpus[kind]
    check_case(kind, result, STACK)
    if kind in GATE_KINDS:
        assert "data validation failed, nothing trained or pushed" in result["stderr"]


@pytest.mark.e2e
def test_tfx_bad_inputs_train_and_push_nothing(tfx_baseline, tfx_corpus, tfx_workdir):
    pushed, executions = tfx_baseline
    after = _tfx_executions(tfx_workdir)
    for node in ("Transform", "Trainer", "Evaluator", "Pusher"):
        assert after[node] == executions[node], node
    # Each gate kind went through the real ExampleValidator and was stopped by the gate.
    assert after["AnomaliesGate"] == executions["AnomaliesGate"] + len(GATE_KINDS)
    assert _serving_snapshot(tfx_workdir) == pushed
    # The corpus ran in CORPUS order: the last ExampleValidator outputs are the gate kinds'.
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    from components.tfx.gate import load_split_anomalies

    root = Workdir(tfx_workdir).stack_root(STACK) / "ExampleValidator" / "anomalies"
    outputs = sorted(root.iterdir(), key=lambda p: int(p.name))[-len(GATE_KINDS) :]
    for kind, uri in zip(GATE_KINDS, outputs, strict=True):
        by_split = load_split_anomalies(str(uri))
        assert set(by_split) == {"train", "eval"}, kind
        for anomalies in by_split.values():
            found = {
                (feature, anomalies_pb2.AnomalyInfo.Type.Name(reason.type))
                for feature, info in anomalies.anomaly_info.items()
                for reason in info.reason
            }
            assert found == TFDV_ANOMALIES[kind], kind
    # DistributionValidator ran for each of them too; the drifted batch broke no schema
    # rule, and only its drift check names the moved feature, in the train split (the
    # one it compares).
    root = Workdir(tfx_workdir).stack_root(STACK) / "DistributionValidator" / "anomalies"
    outputs = sorted(root.iterdir(), key=lambda p: int(p.name))[-len(GATE_KINDS) :]
    drifted = load_split_anomalies(str(outputs[GATE_KINDS.index("drifted")]))
    assert set(drifted) == {"train"}
    for anomalies in drifted.values():
        over = {
            ".".join(info.path.step)
            for info in anomalies.drift_skew_info
            if any(m.value > m.threshold for m in info.drift_measurements)
        }
        assert over == {"bill_depth_mm"}
    with mlflow_client(tfx_workdir) as client:
        stopped = runs(client, "tfx", "tags.outcome = 'data_invalid'")
        assert len(stopped) == len(GATE_KINDS)
        for run in stopped:
            assert run.info.status == "FAILED"
            reports = [a.path for a in client.list_artifacts(run.info.run_id, "validation/tfdv")]
            assert "validation/tfdv/anomalies-train.html" in reports


def _training_started(workdir: Path, before: set[str]):  # noqa: ANN202
    """True once a new Trainer execution has written its first TensorBoard event file:
    Keras is fitting."""
    runs = Workdir(workdir).stack_root(STACK) / "Trainer" / "model_run"

    def started() -> bool:
        return any(
            p.name not in before and list(p.glob("train/events.out.tfevents.*"))
            for p in runs.glob("*")
        )

    return started


@pytest.mark.e2e
def test_tfx_sigkill_in_training_then_rerun_and_a_concurrent_run(
    tfx_baseline, tfx_corpus, tfx_workdir, tmp_path
):
    from components.tfx import reports

    tfx_pipeline = _tfx()
    contract = load_contract()
    hp = dict(contract.raw["hyperparameters"], seed=7)
    # Another seed retrains (Transform stays cached); the test is about recovery, not
    # about this model beating the baseline, so any accuracy drop is allowed.
    contract_file = write_contract(
        tmp_path,
        hyperparameters=hp,
        evaluation={**contract.raw["evaluation"], "max_accuracy_drop": 1.0},
    )
    pushed_before = _serving_snapshot(tfx_workdir)
    model_runs = Workdir(tfx_workdir).stack_root(STACK) / "Trainer" / "model_run"
    before = {p.name for p in model_runs.glob("*")}

    victim = popen("tfx", "--workdir", tfx_workdir, "--contract", contract_file)
    wait_for(_training_started(tfx_workdir, before), "the Trainer to start fitting", victim)
    kill(victim)
    assert _serving_snapshot(tfx_workdir) == pushed_before

    # What a push killed mid-copy leaves: a partial version in the staging directory
    # (AtomicPusher copies there, then renames). The next push must drop it unpublished.
    from components.tfx import staging_dir

    staging = Path(staging_dir(str(Workdir(tfx_workdir).serving(STACK, contract))))
    (staging / "1000000000" / "variables").mkdir(parents=True)
    (staging / "1000000000" / "variables" / "variables.index").write_bytes(b"half")

    rerun = popen("tfx", "--workdir", tfx_workdir, "--contract", contract_file)
    # Once the rerun holds the workdir (it prints its header after taking the lock),
    # a second run on the same workdir must refuse at once instead of sharing MLMD.
    for line in rerun.stdout:
        if line.startswith("TFX pipeline"):
            break
    second = run_cli("tfx", "--workdir", tfx_workdir, "--contract", contract_file)
    assert second.returncode == 1, second.stdout + second.stderr
    assert "another TFX run is using" in second.stderr
    out, err = rerun.communicate(timeout=900)
    assert rerun.returncode == 0, out + err
    assert "OK: blessed" in out

    # MLMD still opens and records the rerun's Trainer as complete.
    from tfx.orchestration import metadata

    config = metadata.sqlite_metadata_connection_config(
        str(Workdir(tfx_workdir).metadata_db(STACK))
    )
    nodes = reports.latest_run(config, tfx_pipeline.pipeline_name(contract))
    assert nodes["Trainer"].state == "COMPLETE" and nodes["Pusher"].state == "COMPLETE"

    # The serving directory holds the old push untouched plus one complete new push,
    # byte for byte the model the Trainer wrote; nothing half-written.
    after = _serving_snapshot(tfx_workdir)
    new = sorted(set(after) - set(pushed_before))
    assert {k: after[k] for k in pushed_before} == pushed_before
    assert len(new) == 1 and new[0].isdigit()
    trained = Path(nodes["Trainer"].outputs["model"][0].uri) / "Format-Serving" / "saved_model.pb"
    assert after[new[0]] == hashlib.sha256(trained.read_bytes()).hexdigest()

    assert Workdir(tfx_workdir).latest_push(STACK, contract).name == new[0]
    assert not staging.exists()
    with mlflow_client(tfx_workdir) as client:
        assert not runs(client, "tfx", "attributes.status = 'RUNNING'")


# ---------------------------------------------------------------------- Lightning


@pytest.mark.e2e
def test_tfx_accepts_reordered_columns_a_bom_and_crlf(
    tfx_baseline, tfx_corpus, tfx_workdir, tmp_path
):
    from tests.bad_data import bom_crlf_reordered

    result = run_cli("tfx", "--workdir", tfx_workdir, "--data", bom_crlf_reordered(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("OK: blessed")
    # Judged against the blessed baseline (TFMA keys its plots by model name then), the
    # run still records its confusion matrix.
    from components.shared.tracking import CONFUSION_MATRIX_ARTIFACT

    with mlflow_client(tfx_workdir) as client:
        (latest,) = client.search_runs(
            [client.get_experiment_by_name("penguins").experiment_id],
            filter_string="tags.pipeline = 'tfx'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        stored = client.download_artifacts(latest.info.run_id, CONFUSION_MATRIX_ARTIFACT, tmp_path)
        assert sum(map(sum, json.loads(Path(stored).read_text())["matrix"])) == 94
