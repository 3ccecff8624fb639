"""Beyond one machine (docs/lightning.md, docs/beyond-one-machine.md): the Lightning
pipeline under torchrun, on one node and as two nodes on loopback, and recording through
an MLflow server whose store is a real PostgreSQL database, for real; what needs a
cluster, by configuration: the ranks Lightning derives on node 1 of 2, a remote
postgresql:// store URI and the documented commands, parsed by the tools that will run
them."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from components.shared.contract import REPO_ROOT
from components.shared.layout import Workdir
from tests.conftest import cli_env, run_cli
from tests.servers import VENV_BIN, free_port, mlflow_server, postgres_bindir, postgres_server

pytest.importorskip("pytorch_lightning", reason="Lightning is not installed")

MODEL = "penguins-lightning"
# Where the commands these tests parse are documented.
TORCHRUN_DOC = REPO_ROOT / "docs" / "lightning.md"
SERVER_DOC = REPO_ROOT / "docs" / "beyond-one-machine.md"

# What torchrun sets in the first process of node 1 (the second node) of a
# `--nnodes=2 --nproc-per-node=2` job.
NODE_1_OF_2 = {
    "WORLD_SIZE": "4",
    "RANK": "2",
    "LOCAL_RANK": "0",
    "GROUP_RANK": "1",
    "LOCAL_WORLD_SIZE": "2",
    "MASTER_ADDR": "10.0.0.1",
    "MASTER_PORT": "29500",
    "TORCHELASTIC_RUN_ID": "penguins",
}


# --- torchrun, for real ------------------------------------------------------------------


def _torchrun(*launcher: str) -> list[str]:
    return [str(VENV_BIN / "torchrun"), *launcher, "-m", "pipelines", "lightning"]


def _client(workdir: Path):  # noqa: ANN202
    from mlflow import MlflowClient

    uri = f"sqlite:///{workdir / 'mlflow' / 'mlflow.db'}"
    return MlflowClient(uri, registry_uri=uri)


def _the_one_run(client):  # noqa: ANN001, ANN202
    """The experiment's only run (of any status): other ranks must have made none."""
    from mlflow.entities import ViewType

    experiment = client.get_experiment_by_name("penguins")
    runs = client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL)
    assert len(runs) == 1, [(r.info.run_id, r.data.tags.get("run_pid")) for r in runs]
    return runs[0]


def _promoted_once(client, run) -> None:  # noqa: ANN001
    assert run.info.status == "FINISHED"
    assert run.data.tags["outcome"] == "promoted"
    assert run.data.metrics["eval_accuracy"] >= 0.9
    versions = client.search_model_versions(f"name='{MODEL}'")
    assert [int(v.version) for v in versions] == [1]
    champion = client.get_model_version_by_alias(MODEL, "champion")
    assert int(champion.version) == 1 and champion.run_id == run.info.run_id


@pytest.mark.e2e
def test_torchrun_on_one_node_with_two_processes(tmp_path):
    command = _torchrun("--nnodes=1", "--nproc-per-node=2", f"--master-port={free_port()}")
    result = subprocess.run(
        [*command, "--workdir", str(tmp_path), "--devices", "2", "--strategy", "ddp"],
        cwd=REPO_ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    # Rank 0 ran the pipeline; rank 1 only trained.
    assert result.stdout.count(f"promoted {MODEL} version 1 to champion") == 1, out
    assert "rank 1: trained; rank 0 records the run" in result.stdout, out
    client = _client(tmp_path)
    run = _the_one_run(client)
    _promoted_once(client, run)
    params = run.data.params
    assert (params["devices"], params["num_nodes"], params["world_size"]) == ("2", "1", "2")
    assert params["cluster_environment"] == "TorchElasticEnvironment"
    assert int(run.data.metrics["epochs_run"]) >= 2


@pytest.mark.e2e
def test_torchrun_as_two_nodes_on_loopback(tmp_path):
    """Two torchrun agents, node ranks 0 and 1, one process each, meeting on one static
    rendezvous endpoint: what two machines run (docs/lightning.md), with 127.0.0.1 as HOST."""
    endpoint = f"127.0.0.1:{free_port()}"
    procs = []
    for node in (0, 1):
        log = open(tmp_path / f"node{node}.log", "w")  # noqa: SIM115 - closed below
        command = _torchrun(
            "--nnodes=2", "--nproc-per-node=1", f"--node-rank={node}", f"--rdzv-endpoint={endpoint}"
        )
        args = ["--workdir", str(tmp_path), "--devices", "1", "--num-nodes", "2"]
        proc = subprocess.Popen(
            [*command, *args, "--strategy", "ddp"],
            cwd=REPO_ROOT,
            env=cli_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        procs.append((proc, log))
    try:
        codes = [proc.wait(timeout=900) for proc, _ in procs]
    finally:
        for proc, log in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
    node0, node1 = ((tmp_path / f"node{n}.log").read_text() for n in (0, 1))
    assert codes == [0, 0], f"node 0:\n{node0}\nnode 1:\n{node1}"
    assert f"promoted {MODEL} version 1 to champion" in node0
    assert "rank 1: trained; rank 0 records the run" in node1
    assert "promoted" not in node1
    client = _client(tmp_path)
    run = _the_one_run(client)
    _promoted_once(client, run)
    params = run.data.params
    assert (params["devices"], params["num_nodes"], params["world_size"]) == ("1", "2", "2")
    assert params["cluster_environment"] == "TorchElasticEnvironment"


# --- several nodes, by configuration -----------------------------------------------------


@pytest.fixture
def lightning_ranks_restored(monkeypatch):
    """Building a DDP Trainer sets Lightning's process-wide rank_zero_only.rank (and may
    set OMP_NUM_THREADS): put both back after the test."""
    from pytorch_lightning.utilities.rank_zero import rank_zero_only

    monkeypatch.setattr(rank_zero_only, "rank", getattr(rank_zero_only, "rank", 0))
    import torch

    monkeypatch.setenv("OMP_NUM_THREADS", str(torch.get_num_threads()))


@pytest.fixture
def node_1_of_2(monkeypatch, lightning_ranks_restored):
    for name, value in NODE_1_OF_2.items():
        monkeypatch.setenv(name, value)


def test_on_node_1_of_2_the_trainer_uses_torchruns_processes(node_1_of_2, tmp_path, monkeypatch):
    import os

    import torch.multiprocessing
    from pytorch_lightning.plugins.environments import TorchElasticEnvironment
    from pytorch_lightning.strategies import DDPStrategy
    from pytorch_lightning.strategies.launchers import _MultiProcessingLauncher

    from components.lightning.train import build_trainer

    trainer = build_trainer(1, tmp_path, devices=2, num_nodes=2, strategy="ddp")
    strategy = trainer.strategy
    assert isinstance(strategy, DDPStrategy)
    assert isinstance(strategy.cluster_environment, TorchElasticEnvironment)
    assert strategy.process_group_backend == "gloo"
    assert (trainer.world_size, trainer.global_rank, trainer.node_rank, trainer.local_rank) == (
        4,
        2,
        1,
        0,
    )
    assert trainer.num_nodes == 2 and trainer.num_devices == 2 and not trainer.is_global_zero
    # DistributedSampler shards over all 4 ranks: this one reads shard 2.
    assert strategy.distributed_sampler_kwargs == {"num_replicas": 4, "rank": 2}
    # It would not spawn: its launcher runs the fit in this very process and starts none.
    assert not isinstance(strategy.launcher, _MultiProcessingLauncher)

    def no_new_process(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the launcher tried to start a process")

    monkeypatch.setattr(subprocess, "Popen", no_new_process)
    monkeypatch.setattr(torch.multiprocessing, "start_processes", no_new_process)
    assert strategy.launcher.launch(os.getpid) == os.getpid()


def test_without_torchrun_ddp_spawns_its_workers(lightning_ranks_restored, monkeypatch, tmp_path):
    from pytorch_lightning.strategies.launchers import _MultiProcessingLauncher

    from components.lightning.train import build_trainer

    for name in NODE_1_OF_2:
        monkeypatch.delenv(name, raising=False)
    trainer = build_trainer(1, tmp_path, devices=2, strategy="ddp")
    launcher = trainer.strategy.launcher
    assert isinstance(launcher, _MultiProcessingLauncher) and launcher._start_method == "spawn"
    assert (trainer.world_size, trainer.global_rank) == (2, 0)


def test_devices_and_nodes_that_do_not_match_torchrun_stop_before_mlflow(
    node_1_of_2, contract, tmp_path, capsys
):
    from pipelines.lightning import run as lightning_run

    code = lightning_run.run(contract, contract.path, Workdir(tmp_path), devices=2, num_nodes=1)
    assert code == 1
    assert "run the pipeline with --devices 2 --num-nodes 2" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # no MLflow store, no run


def test_several_nodes_without_torchrun_are_refused(contract, tmp_path, monkeypatch, capsys):
    from pipelines.lightning import run as lightning_run

    for name in NODE_1_OF_2:
        monkeypatch.delenv(name, raising=False)
    code = lightning_run.run(contract, contract.path, Workdir(tmp_path), devices=2, num_nodes=2)
    assert code == 1
    assert "several nodes need torchrun" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# --- the documented commands ------------------------------------------------------------


def _doc_commands(doc: Path, program: str) -> list[list[str]]:
    """The shell commands in `doc` that run `program`, continuation lines joined."""
    blocks = re.findall(r"```bash\n(.*?)```", doc.read_text(), flags=re.S)
    lines = "\n".join(blocks).replace("\\\n", " ").splitlines()
    commands = []
    for line in lines:
        words = shlex.split(line, comments=True)
        while words and "=" in words[0] and not words[0].startswith("-"):
            words = words[1:]  # VAR=value prefixes
        if words and Path(words[0]).name == program:
            commands.append(words)
    return commands


def test_documented_torchrun_commands_are_valid_and_consistent():
    from torch.distributed.run import get_args_parser

    from pipelines.__main__ import build_parser

    commands = _doc_commands(TORCHRUN_DOC, "torchrun")
    assert len(commands) >= 2
    nodes_seen = set()
    for words in commands:
        words = [w.replace("$R", "1").replace("HOST", "10.0.0.1") for w in words[1:]]
        launcher = get_args_parser().parse_args(words)
        assert launcher.module and launcher.training_script == "pipelines"
        pipeline = build_parser().parse_args(launcher.training_script_args)
        assert pipeline.command == "lightning" and pipeline.strategy == "ddp"
        nproc, nnodes = int(launcher.nproc_per_node), int(launcher.nnodes)
        assert pipeline.devices == nproc and pipeline.num_nodes == nnodes, words
        if nnodes > 1:
            # Static rendezvous: --node-rank (not join order) puts global rank 0 on node 0.
            assert launcher.rdzv_backend == "static" and launcher.node_rank == 1
            assert launcher.rdzv_endpoint == "10.0.0.1:29500"
        nodes_seen.add(nnodes)
    assert nodes_seen == {1, 2}


# --- MLflow on PostgreSQL, by configuration ----------------------------------------------

POSTGRES_URI = "postgresql://mlflow@db.internal:5432/mlflow?sslmode=require"


def test_a_postgresql_tracking_uri_reaches_mlflows_sql_store(monkeypatch, tmp_path):
    """No database here: what the pipeline hands MLflow for a postgresql:// URI, and
    which store and driver MLflow makes of it, for runs and for the registry."""
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils
    from sqlalchemy.engine import make_url

    from components.shared.tracking import is_server, tracking_uri

    monkeypatch.setenv("MLFLOW_TRACKING_URI", POSTGRES_URI)
    uri = tracking_uri(Workdir(tmp_path))
    assert uri == POSTGRES_URI  # as given, query included: not the workdir's SQLite store
    # A database, not a server: the pipeline gives a new experiment an artifact location
    # (docs/beyond-one-machine.md: use the server, which proxies artifacts).
    assert not is_server(uri)
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert tracking_uri(Workdir(tmp_path)).startswith("sqlite:///")
    # MLflow's SQLAlchemy store for both: runs and registry live in the same database.
    sql_store = tracking_utils._tracking_store_registry.get_store_builder("sqlite:///x.db")
    assert tracking_utils._tracking_store_registry.get_store_builder(uri) is sql_store
    registry = registry_utils._get_store_registry()
    assert registry.get_store_builder(uri) is registry.get_store_builder("sqlite:///x.db")
    # ... through SQLAlchemy's psycopg2 dialect: the driver the README installs.
    url = make_url(uri)
    assert (url.get_dialect().name, url.get_dialect().driver) == ("postgresql", "psycopg2")
    assert (url.host, url.port, url.database, url.password) == ("db.internal", 5432, "mlflow", None)


def test_documented_mlflow_server_command_parses_with_the_installed_mlflow():
    from mlflow.cli import server
    from sqlalchemy.engine import make_url

    (words,) = [w for w in _doc_commands(SERVER_DOC, "mlflow") if w[1:2] == ["server"]]
    params = server.make_context("server", words[2:]).params
    store = make_url(params["backend_store_uri"])
    assert store.get_backend_name() == "postgresql"
    assert store.password is None  # in ~/.pgpass, not in a URI that ps and logs show
    assert params["serve_artifacts"] and params["artifacts_destination"].startswith("s3://")
    assert (params["host"], params["port"]) == ("0.0.0.0", 5000)
    # Clients then record into it with the make target the doc shows.
    assert any(
        line.startswith("MLFLOW_TRACKING_URI=http://") and line.endswith(" make run")
        for line in SERVER_DOC.read_text().splitlines()
    )


@pytest.mark.e2e
@pytest.mark.skipif(postgres_bindir() is None, reason="PostgreSQL server not installed")
def test_lightning_promotes_through_a_server_backed_by_postgresql(tmp_path, contract):
    """README, MLflow on a tracking server with PostgreSQL, run here on loopback: the run,
    the registered version and the `champion` alias land in PostgreSQL's tables, through
    the server, and the workdir's own SQLite store is never made."""
    import sqlalchemy
    from mlflow.tracking import MlflowClient

    with postgres_server() as database, mlflow_server(tmp_path, database) as url:
        workdir = tmp_path / "work"
        result = run_cli("lightning", "--workdir", workdir, env={"MLFLOW_TRACKING_URI": url})
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        client = MlflowClient(url, registry_uri=url)
        champion = client.get_model_version_by_alias(MODEL, "champion")
        run = client.get_run(champion.run_id)
        assert run.data.tags["outcome"] == "promoted"
        assert run.info.artifact_uri.startswith("mlflow-artifacts:")
        engine = sqlalchemy.create_engine(database)
        try:
            with engine.connect() as db:
                aliases = db.execute(
                    sqlalchemy.text("SELECT name, alias, version FROM registered_model_aliases")
                ).all()
                statuses = db.execute(
                    sqlalchemy.text("SELECT status FROM runs WHERE run_uuid = :id"),
                    {"id": champion.run_id},
                ).scalar_one()
        finally:
            engine.dispose()
        assert aliases == [(MODEL, "champion", int(champion.version))]
        assert statuses == "FINISHED"
    assert not (workdir / "mlflow" / "mlflow.db").exists()
