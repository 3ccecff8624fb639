"""End to end: the real TFX pipeline on Beam, through the CLI, in one shared workdir.

One good run is shared by the module (module-scoped fixtures); the cached rerun, the bad
data runs and the unreachable threshold then reuse its workdir, so each also checks that
the earlier push stays intact.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from components.shared.contract import load_contract
from components.shared.dataset import load_split
from components.shared.latency import LATENCY_BATCH_ROWS
from tests.bad_data import KINDS
from tests.conftest import run_cli, write_contract

pytestmark = pytest.mark.e2e

pytest.importorskip("tfx")
from components.shared.layout import Workdir  # noqa: E402
from components.tfx import STACK, reports  # noqa: E402
from pipelines.tfx.pipeline import pipeline_name  # noqa: E402
from tests.tfx.test_tfx_build import COMPONENTS as PIPELINE_COMPONENTS  # noqa: E402

COMPONENTS = set(PIPELINE_COMPONENTS)


def _nodes(workdir: Path, contract) -> dict[str, reports.NodeRun]:
    from tfx.orchestration import metadata

    db = Workdir(workdir).metadata_db(STACK)
    return reports.latest_run(
        metadata.sqlite_metadata_connection_config(str(db)), pipeline_name(contract)
    )


def _executions_per_node(workdir: Path, contract) -> dict[str, int]:
    from ml_metadata.metadata_store import metadata_store
    from tfx.orchestration import metadata

    store = metadata_store.MetadataStore(
        metadata.sqlite_metadata_connection_config(str(Workdir(workdir).metadata_db(STACK)))
    )
    prefix = pipeline_name(contract) + "."
    return {
        ctx.name[len(prefix) :]: len(store.get_executions_by_context(ctx.id))
        for ctx in store.get_contexts_by_type("node")
    }


def _pushes(workdir: Path) -> list[Path]:
    root = Workdir(workdir).serving(STACK, load_contract())
    return sorted(p for p in root.glob("*") if (p / "saved_model.pb").exists())


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tfx")


@pytest.fixture(scope="module")
def good_run(workdir, contract):
    result = run_cli("tfx", "--workdir", workdir)
    # Snapshot MLMD now: later tests add runs to the same store.
    return result, _nodes(workdir, contract), _executions_per_node(workdir, contract)


def test_good_run_is_blessed_and_pushed(good_run, workdir, contract):
    result, nodes, executions = good_run
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("OK: blessed") and str(Workdir(workdir).serving(STACK, contract)) in last
    # No TF import noise (the CUDA-factory lines of a machine without a GPU).
    assert "Unable to register" not in result.stdout + result.stderr
    assert len(_pushes(workdir)) == 1
    # One execution per component, each reported on the terminal as it finished, in the
    # order it ran, while TFX's own output went to the log.
    assert set(nodes) == COMPONENTS
    assert executions == dict.fromkeys(COMPONENTS, 1)
    assert all(n.state == "COMPLETE" for n in nodes.values())
    finished = re.findall(r"^  (\S+) done in \d+\.\d s$", result.stdout, flags=re.M)
    assert sorted(finished) == sorted(COMPONENTS)
    assert finished.index("Transform") < finished.index("Trainer") < finished.index("Pusher")
    assert (Workdir(workdir).data_reports(STACK, contract) / "statistics.html").exists()
    assert (Workdir(workdir).data_reports(STACK, contract) / "anomalies-train.html").exists()


def test_pushed_model_predicts_raw_rows_like_the_evaluator(good_run, workdir, contract):
    import tensorflow as tf

    _, nodes, _ = good_run
    evaluation_uri = nodes["Evaluator"].outputs["evaluation"][0].uri
    tfma_accuracy = reports.evaluator_accuracy(evaluation_uri)

    model = tf.saved_model.load(str(_pushes(workdir)[0]))
    serve = model.signatures["serving_raw"]
    rows = load_split(contract.path, contract).eval
    columns = {
        c.name: tf.constant(rows[c.name].astype("float32").to_numpy())
        if c.is_numeric
        else tf.constant(rows[c.name].fillna("").astype(str).to_numpy())
        for c in contract.features
    }
    outputs = serve(**columns)
    labels = rows[contract.label].map(contract.classes.index).to_numpy()
    accuracy = float(np.mean(outputs["class_index"].numpy() == labels))
    assert abs(accuracy - tfma_accuracy) < 1e-6
    assert accuracy >= contract.min_accuracy
    names = [b.decode() for b in outputs["class"].numpy()]
    assert names == [contract.classes[i] for i in outputs["class_index"].numpy()]


def test_trainer_tensorboard_logs_are_published(good_run, workdir, contract):
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, nodes, _ = good_run
    links = list(Workdir(workdir).tensorboard(STACK, contract).iterdir())
    assert len(links) == 1 and links[0].is_symlink()
    assert links[0].resolve() == Path(nodes["Trainer"].outputs["model_run"][0].uri).resolve()
    losses = {}
    for split in ("train", "validation"):
        events = EventAccumulator(str(links[0] / split))
        events.Reload()
        losses[split] = [
            float(tf.make_ndarray(e.tensor_proto)) for e in events.Tensors("epoch_loss")
        ]
    # One loss per epoch, both curves as long, training loss going down.
    assert len(losses["train"]) >= 2 and len(losses["train"]) == len(losses["validation"])
    assert losses["train"][-1] < losses["train"][0]


def test_push_is_exported_to_tflite_that_agrees_with_it(good_run, workdir, contract):
    import json

    import tensorflow as tf

    out = Workdir(workdir).edge(STACK, contract)
    result = json.loads((out / "edge.json").read_text())
    assert "error" not in result, result
    assert result["push"] == str(_pushes(workdir)[0])
    assert result["agreement"] == 1.0 and result["max_abs_prob_diff"] < 1e-3
    assert 0 < result["size_bytes"] < 1_000_000
    assert result["latency_single_ms"] > 0 and result["latency_batch_ms"] > 0
    assert result["latency_batch_rows"] == min(LATENCY_BATCH_ROWS, result["rows"])
    # Missing values (NaN, "") and an unseen category, through the .tflite alone, score
    # like the full SavedModel.
    columns = {
        c.name: np.array([np.nan, 45.0], "float32")
        if c.is_numeric
        else np.array(["", "Atlantis"], object)
        for c in contract.features
    }
    runner = tf.lite.Interpreter(str(out / "model.tflite")).get_signature_runner("serving_raw")
    lite = runner(**columns)["probabilities"]
    full = (
        tf.saved_model.load(str(_pushes(workdir)[0]))
        .signatures["serving_raw"](
            **{
                k: tf.constant(v.astype(str) if v.dtype == object else v)
                for k, v in columns.items()
            }
        )["probabilities"]
        .numpy()
    )
    assert np.abs(lite - full).max() < 1e-3


def test_unchanged_rerun_is_recognised_before_tfx_runs(good_run, workdir, contract):
    executions = _executions_per_node(workdir, contract)
    result = run_cli("tfx", "--workdir", workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "unchanged since the run of" in result.stdout
    assert "OK: blessed" in result.stdout  # the summary of the run it stands for
    assert _executions_per_node(workdir, contract) == executions


def test_rerun_hits_the_cache(good_run, workdir, contract):
    result = run_cli("tfx", "--workdir", workdir, "--force")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "unchanged since" not in result.stdout
    nodes = _nodes(workdir, contract)
    # The resolver is a query, it always runs; everything else is reused.
    cached = {n for n, run in nodes.items() if run.state == "CACHED"}
    assert {"CsvExampleGen", "StatisticsGen", "Transform", "Trainer"} <= cached
    # The terminal says which components were reused as they come.
    said = dict(re.findall(r"^  (\S+) (cached|done) in \d+\.\d s$", result.stdout, flags=re.M))
    assert set(said) == set(nodes)
    # (An importer that finds its artifact again is CACHED in MLMD but logs no cache hit.)
    assert (
        {"CsvExampleGen", "StatisticsGen", "Transform", "Trainer"}
        <= {n for n, how in said.items() if how == "cached"}
        <= cached
    )


@pytest.mark.parametrize("kind", list(KINDS))
def test_bad_data_stops_before_training(kind, good_run, workdir, contract, tmp_path):
    make, column = KINDS[kind]
    before = _pushes(workdir)
    trained_before = _executions_per_node(workdir, contract)
    result = run_cli("tfx", "--workdir", workdir, "--data", make(tmp_path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert column in result.stderr
    nodes = _nodes(workdir, contract)
    assert nodes["AnomaliesGate"].state == "FAILED"
    assert not {"Transform", "Trainer", "Evaluator", "Pusher"} & set(nodes)
    after = _executions_per_node(workdir, contract)
    for name in ("Transform", "Trainer", "Pusher"):
        assert after[name] == trained_before[name]
    assert _pushes(workdir) == before and before


def test_a_model_that_does_not_beat_the_baseline_by_the_lift_is_not_blessed(
    good_run, workdir, tmp_path
):
    """min_accuracy alone would bless it; the majority-class baseline plus a lift that no
    model can reach (over 1.0) must not."""
    before = _pushes(workdir)
    contract_file = write_contract(
        tmp_path,
        evaluation={"min_accuracy": 0.5, "max_accuracy_drop": 0.02, "min_lift_over_baseline": 0.6},
    )
    result = run_cli("tfx", "--workdir", workdir, "--contract", contract_file)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "baseline: always predicting 'Adelie' scores" in result.stdout
    assert "not blessed" in result.stderr
    assert "sparse_categorical_accuracy" in result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("tfx: not blessed (exit 3): sparse_categorical_accuracy"), last
    assert last.endswith("the previous push stays in place")
    assert _pushes(workdir) == before and before
    assert all((p / "saved_model.pb").exists() for p in before)
