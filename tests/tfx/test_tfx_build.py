"""Quick checks of the TFX pipeline definition: built and compiled, never run."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sys
from pathlib import Path

import pytest

from components.shared.layout import Workdir
from pipelines.tfx import beam_options

tfx_run = pytest.importorskip("pipelines.tfx.run")
from pipelines.tfx.pipeline import create_pipeline  # noqa: E402

# From /work/shared/notes/tfx-1.16-facts.md: the portable Flink runner's arguments.
FLINK_ARGS = [
    "--runner=FlinkRunner",
    "--flink_master=http://localhost:8081",
    "--flink_submit_uber_jar",
    "--parallelism=2",
    "--environment_type=LOOPBACK",
    "--experiments=use_loopback_process_worker=True",
    "--sdk_worker_parallelism=2",
    "--environment_cache_millis=1000000",
]
COMPONENTS = [
    "CsvExampleGen",
    "StatisticsGen",
    "ImportSchemaGen",
    "ExampleValidator",
    "ReferenceStatistics",
    "DistributionValidator",
    "AnomaliesGate",
    "Transform",
    "Trainer",
    "latest_blessed_model_resolver",
    "Evaluator",
    "Pusher",
]


def test_beam_mode_follows_the_data_size_unless_chosen():
    # Small data: no args at all (Beam's default is in memory; TFX then skips its sdist).
    assert beam_options.with_default_beam_args([]) == []
    small = beam_options.MULTI_PROCESSING_FROM_ROWS - 1
    assert beam_options.with_default_beam_args([], rows=small) == []
    assert beam_options.runner_description([]) == "DirectRunner, in_memory"
    large = beam_options.with_default_beam_args([], rows=beam_options.MULTI_PROCESSING_FROM_ROWS)
    assert large == [
        "--direct_running_mode=multi_processing",
        f"--direct_num_workers={os.cpu_count()}",
    ]
    chosen = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
    assert beam_options.with_default_beam_args(chosen, rows=1) == chosen
    assert beam_options.runner_description(chosen) == "DirectRunner, multi_processing"
    # Another runner: no DirectRunner option is added, whatever the size.
    assert beam_options.with_default_beam_args(FLINK_ARGS, rows=10**7) == FLINK_ARGS
    assert beam_options.runner_description(FLINK_ARGS) == "FlinkRunner"


def test_run_temp_dir_holds_the_runs_temporary_files_and_is_removed(tmp_path):
    import subprocess
    import tempfile

    before = tempfile.gettempdir()
    with tfx_run.run_temp_dir(tmp_path / "tmp"):
        ours = Path(tempfile.mkdtemp())
        child = subprocess.run(
            [sys.executable, "-c", "import tempfile; print(tempfile.gettempdir())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    assert ours.parent == tmp_path / "tmp"
    assert child == str(tmp_path / "tmp")
    assert not (tmp_path / "tmp").exists()
    assert tempfile.gettempdir() == before


def test_pipeline_builds_and_compiles_with_flink_args(contract, tmp_path):
    from tfx.dsl.compiler.compiler import Compiler

    pipeline = create_pipeline(
        contract,
        tmp_path / "split",
        Workdir(tmp_path),
        reference_statistics=tmp_path / "reference",
        beam_pipeline_args=FLINK_ARGS,
    )
    assert {c.id for c in pipeline.components} == set(COMPONENTS)
    assert pipeline.beam_pipeline_args == FLINK_ARGS
    assert pipeline.enable_cache
    ir = Compiler().compile(pipeline)
    nodes = {n.pipeline_node.node_info.id: n.pipeline_node for n in ir.nodes}
    # The gate is an upstream of Transform even though Transform reads none of its outputs.
    assert "AnomaliesGate" in nodes["Transform"].upstream_nodes
    assert ir.deployment_config  # beam args travel in the compiled pipeline


def test_concurrent_run_is_refused(contract, tmp_path, capsys):
    from pipelines.tfx import cli as tfx_cli

    lock = Workdir(tmp_path).lock("tfx")
    lock.parent.mkdir(parents=True)
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code = tfx_cli.run(contract, contract.path, Workdir(tmp_path), [], force=False)
    assert code == 1
    assert "another TFX run" in capsys.readouterr().err


def test_pending_edge_export_starts_nothing_when_nothing_was_pushed(contract, tmp_path):
    from components.tfx import edge

    pending = edge.PendingExport(contract, tmp_path / "edge")
    pending.cancel()
    assert pending._child._child is None
    assert not (tmp_path / "edge" / "edge.json").exists()


def test_pending_edge_export_reports_a_failed_export_without_raising(contract, tmp_path):
    from components.tfx import edge

    pending = edge.PendingExport(contract, tmp_path / "edge")
    missing = tmp_path / "no-such-push", str(tmp_path / "no-such-graph"), tmp_path / "no.csv"
    result = pending.start(*missing)()
    assert result["error"].startswith("exit 1:") and "no-such-" in result["error"]
    assert result == json.loads((tmp_path / "edge" / "edge.json").read_text())
    pending.cancel()  # after the wait: nothing left to stop


def test_pending_mlflow_record_without_a_job_writes_nothing_and_reports_a_failed_one(
    contract, tmp_path
):
    from components.tfx import mlflow_record

    log = tmp_path / "mlflow.log"
    unused = mlflow_record.PendingRecord(contract, Workdir(tmp_path / "a"), log)
    unused.cancel()  # no job: no store, no run
    assert not (tmp_path / "a").exists()

    broken = mlflow_record.PendingRecord(contract, Workdir(tmp_path / "b"), log)
    wait = broken.start({"experiment": contract.experiment})  # no tags, params, metrics
    with pytest.raises(RuntimeError, match=r"exit 1: .*KeyError"):
        wait()


def test_a_recorder_prepared_for_a_job_that_never_comes_leaves_a_whole_store(contract, tmp_path):
    """Started ahead (as the Evaluator starts) and cancelled before its job, the recorder
    finishes opening the store rather than being killed in its migrations."""
    from mlflow import MlflowClient

    from components.shared.tracking import tracking_uri
    from components.tfx import mlflow_record

    workdir = Workdir(tmp_path)
    pending = mlflow_record.PendingRecord(contract, workdir, tmp_path / "mlflow.log")
    pending.prepare()
    pending.cancel()
    assert pending._child._child.returncode == 0
    client = MlflowClient(tracking_uri=tracking_uri(workdir))
    experiment = client.get_experiment_by_name(contract.experiment)
    assert experiment is not None
    assert client.search_runs([experiment.experiment_id]) == []  # no job: no run


def test_component_events_call_the_start_hook_once_as_that_component_starts():
    events = []
    handler = tfx_run._ComponentEvents(
        show=False, on_start={"Evaluator": lambda: events.append("children")}
    )
    logger = logging.getLogger("component-events-test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        for component in ("Trainer", "Evaluator", "Evaluator", "Pusher"):
            logger.info(tfx_run._ComponentEvents.RUNNING, component)
            events.append(component)
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert events == ["Trainer", "children", "Evaluator", "Evaluator", "Pusher"]


def test_importing_the_tfx_runner_leaves_torch_out():
    import subprocess

    probe = "import sys, pipelines.tfx.run; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout.strip()
    assert out == "False"


def test_per_class_f1_from_tfmas_confusion_matrix_is_sklearns():
    """The TFX run's eval_f1_<class> comes from the confusion matrix: the same numbers as
    the Lightning side's sklearn f1_score on the same predictions, an absent class too."""
    import numpy as np
    from sklearn.metrics import confusion_matrix, f1_score

    from components.tfx.mlflow_record import f1_per_class

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 200)
    predicted = np.where(rng.random(200) < 0.7, truth, rng.integers(0, 3, 200))
    labels = [0, 1, 2, 3]  # class 3: never true, never predicted
    matrix = confusion_matrix(truth, predicted, labels=labels).tolist()
    expected = f1_score(truth, predicted, labels=labels, average=None, zero_division=0)
    assert f1_per_class(matrix) == pytest.approx(list(expected))
