"""Fail closed, lose nothing: every kind of bad input through both pipelines, a SIGKILL
during training of each, concurrent runs, and the security defaults.

One good baseline run per pipeline is shared by the module; every bad input, the crash and
the concurrent runs then use the same workdir, so each also checks that what the baseline
published (TFX push, MLflow `champion`) stays exactly as it was.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from components.shared.contract import REPO_ROOT, load_contract
from tests.bad_data import CORPUS
from tests.conftest import cli_env, run_cli, write_contract

MODEL = "penguins-lightning"
# Stopped at the TFX validation gate (ExampleValidator anomalies); header_only stops in the
# shared split's min_rows check first, the exit-1 kinds in the reader.
GATE_KINDS = [k for k, kind in CORPUS.items() if kind.exit_code == 2 and k != "header_only"]
# What TFDV's ExampleValidator reports for each of them against the schema generated from
# the contract (components/tfx/schema.py), in both splits: the README's table.
TFDV_ANOMALIES = {
    "missing_column": {("bill_length_mm", "SCHEMA_MISSING_COLUMN")},
    "renamed_column": {("gender", "SCHEMA_NEW_COLUMN"), ("sex", "SCHEMA_MISSING_COLUMN")},
    "extra_column": {("comments", "SCHEMA_NEW_COLUMN")},
    "text_in_numeric": {
        ("flipper_length_mm", "UNEXPECTED_DATA_TYPE"),
        ("flipper_length_mm", "INT_TYPE_NOT_INT_STRING"),
    },
    "out_of_range": {("body_mass_g", "INT_TYPE_BIG_INT")},
    "unseen_category": {("island", "ENUM_TYPE_UNEXPECTED_STRING_VALUES")},
    "renamed_labels": {("species", "ENUM_TYPE_UNEXPECTED_STRING_VALUES")},
    "mostly_null_column": {("bill_depth_mm", "FEATURE_TYPE_LOW_FRACTION_PRESENT")},
    "mostly_missing_label": {("species", "FEATURE_TYPE_LOW_FRACTION_PRESENT")},
}


def _popen(*args: str) -> subprocess.Popen:
    """`python -m pipelines ARGS` in its own process group, so the test can SIGKILL it
    with every child (Beam workers, DataLoader workers)."""
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines", *map(str, args)],
        cwd=REPO_ROOT,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)


def _wait_for(condition, what: str, proc: subprocess.Popen, timeout: float = 600) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"process ended (exit {proc.returncode}) before {what}:\n{out}\n{err}")
        if time.monotonic() > deadline:
            _kill(proc)
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.3)


def _run_corpus(pipeline: str, workdir: Path, out_dir: Path) -> dict[str, dict]:
    """Every CORPUS kind through `main([pipeline, ...])` in one process (corpus_runner)."""
    cases = [f"{kind}={CORPUS[kind].make(out_dir)}" for kind in CORPUS]
    results = out_dir / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "tests.corpus_runner", results, "--"]
        + [pipeline, "--workdir", str(workdir), "--cases", *cases],
        cwd=REPO_ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(results.read_text())


def _check_case(kind: str, result: dict) -> None:
    expected = CORPUS[kind]
    shown = f"stdout:\n{result['stdout'][-2000:]}\nstderr:\n{result['stderr'][-2000:]}"
    assert result["code"] == expected.exit_code, shown
    assert expected.names in result["stderr"], shown


@contextmanager
def _mlflow(workdir: Path) -> Iterator[object]:
    """An MlflowClient on the workdir's store; restores MLFLOW_TRACKING_URI afterwards
    (mlflow.set_tracking_uri exports it, and later CLI runs would inherit it)."""
    import mlflow

    uri = f"sqlite:///{workdir / 'mlflow' / 'mlflow.db'}"
    saved = os.environ.get("MLFLOW_TRACKING_URI")
    try:
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        yield mlflow.MlflowClient(uri, registry_uri=uri)
    finally:
        mlflow.set_tracking_uri(saved)
        if saved is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)


def _runs(client, pipeline: str, extra: str = "") -> list:  # noqa: ANN001
    experiment = client.get_experiment_by_name("penguins")
    query = f"tags.pipeline = '{pipeline}'" + (f" and {extra}" if extra else "")
    return client.search_runs([experiment.experiment_id], filter_string=query)


# ---------------------------------------------------------------------------- TFX


def _tfx():
    return pytest.importorskip("pipelines.tfx_pipeline")


def _tfx_executions(workdir: Path) -> dict[str, int]:
    from ml_metadata.metadata_store import metadata_store
    from tfx.orchestration import metadata

    tfx_pipeline = _tfx()
    store = metadata_store.MetadataStore(
        metadata.sqlite_metadata_connection_config(str(tfx_pipeline.metadata_path(workdir)))
    )
    prefix = tfx_pipeline.pipeline_name(load_contract()) + "."
    return {
        ctx.name[len(prefix) :]: len(store.get_executions_by_context(ctx.id))
        for ctx in store.get_contexts_by_type("node")
    }


def _serving_snapshot(workdir: Path) -> dict[str, str | None]:
    """Every entry of the serving directory: name -> sha256 of its saved_model.pb."""
    root = _tfx().serving_dir(workdir, load_contract())
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
    return _run_corpus("tfx", tfx_workdir, tmp_path_factory.mktemp("tfx-corpus"))


@pytest.mark.e2e
@pytest.mark.parametrize("kind", list(CORPUS))
def test_tfx_bad_input_fails_closed(kind, tfx_corpus):
    result = tfx_corpus[kind]
    _check_case(kind, result)
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

    root = _tfx().pipeline_root(tfx_workdir) / "ExampleValidator" / "anomalies"
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
    with _mlflow(tfx_workdir) as client:
        stopped = _runs(client, "tfx", "tags.outcome = 'data_invalid'")
        assert len(stopped) == len(GATE_KINDS)
        for run in stopped:
            assert run.info.status == "FAILED"
            reports = [a.path for a in client.list_artifacts(run.info.run_id, "validation/tfdv")]
            assert "validation/tfdv/anomalies-train.html" in reports


def _training_started(workdir: Path, before: set[str]):  # noqa: ANN202
    """True once a new Trainer execution has written its first TensorBoard event file:
    Keras is fitting."""
    runs = _tfx().pipeline_root(workdir) / "Trainer" / "model_run"

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
    model_runs = tfx_pipeline.pipeline_root(tfx_workdir) / "Trainer" / "model_run"
    before = {p.name for p in model_runs.glob("*")}

    victim = _popen("tfx", "--workdir", tfx_workdir, "--contract", contract_file)
    _wait_for(_training_started(tfx_workdir, before), "the Trainer to start fitting", victim)
    _kill(victim)
    assert _serving_snapshot(tfx_workdir) == pushed_before

    # What a push killed mid-copy leaves: a partial version in the staging directory
    # (AtomicPusher copies there, then renames). The next push must drop it unpublished.
    from components.tfx.push import staging_dir

    staging = Path(staging_dir(str(tfx_pipeline.serving_dir(tfx_workdir, contract))))
    (staging / "1000000000" / "variables").mkdir(parents=True)
    (staging / "1000000000" / "variables" / "variables.index").write_bytes(b"half")

    rerun = _popen("tfx", "--workdir", tfx_workdir, "--contract", contract_file)
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
        str(tfx_pipeline.metadata_path(tfx_workdir))
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
    from components.tfx.predict import latest_push

    assert latest_push(tfx_pipeline.serving_dir(tfx_workdir, contract)).name == new[0]
    assert not staging.exists()
    with _mlflow(tfx_workdir) as client:
        assert not _runs(client, "tfx", "attributes.status = 'RUNNING'")


# ---------------------------------------------------------------------- Lightning


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
    with _mlflow(lightning_workdir) as client:
        return _versions(client), _champion(client).version


@pytest.fixture(scope="module")
def lightning_corpus(lightning_baseline, lightning_workdir, tmp_path_factory) -> dict:
    out_dir = tmp_path_factory.mktemp("lightning-corpus")
    return _run_corpus("lightning", lightning_workdir, out_dir), out_dir


@pytest.mark.e2e
@pytest.mark.parametrize("kind", list(CORPUS))
def test_lightning_bad_input_fails_closed(kind, lightning_corpus, lightning_workdir):
    results, out_dir = lightning_corpus
    _check_case(kind, results[kind])
    data_path = str((out_dir / f"{kind}.csv").resolve())
    with _mlflow(lightning_workdir) as client:
        (run,) = _runs(client, "lightning", f"params.data_path = '{data_path}'")
        assert run.info.status == "FAILED"
        assert "time_train_s" not in run.data.metrics
        if CORPUS[kind].exit_code == 2:
            assert run.data.tags["outcome"] == "data_invalid"
            artifacts = [a.path for a in client.list_artifacts(run.info.run_id, "validation")]
            assert "validation/ge_results.json" in artifacts
        else:
            # The reader refused the file: nothing was validated, so there is no report;
            # the run says why in its outcome tags.
            assert run.data.tags["outcome"] == "error"
            assert CORPUS[kind].names in run.data.tags["outcome_detail"]


@pytest.mark.e2e
def test_lightning_bad_inputs_register_and_promote_nothing(
    lightning_baseline, lightning_corpus, lightning_workdir
):
    versions, champion = lightning_baseline
    with _mlflow(lightning_workdir) as client:
        assert _versions(client) == versions
        assert _champion(client).version == champion


def _lightning_training(workdir: Path):  # noqa: ANN202
    """True once a RUNNING lightning run has logged an epoch's val_loss: Lightning fits."""

    def training() -> bool:
        with _mlflow(workdir) as client:
            running = _runs(client, "lightning", "attributes.status = 'RUNNING'")
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
    victim = _popen("lightning", "--workdir", lightning_workdir, "--contract", slow)
    _wait_for(_lightning_training(lightning_workdir), "Lightning to start fitting", victim)
    with _mlflow(lightning_workdir) as client:
        versions = _versions(client)
        (killed,) = _runs(client, "lightning", "attributes.status = 'RUNNING'")
    _kill(victim)
    assert killed.data.tags["run_pid"] == str(victim.pid)

    rerun = run_cli("lightning", "--workdir", lightning_workdir)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"marked run {killed.info.run_id} KILLED" in rerun.stdout
    with _mlflow(lightning_workdir) as client:
        assert client.get_run(killed.info.run_id).info.status == "KILLED"
        assert not _runs(client, "lightning", "attributes.status = 'RUNNING'")
        # The killed run registered nothing; the rerun one version, now the champion.
        assert _versions(client) == [*versions, versions[-1] + 1]
        champion = _champion(client)
        assert int(champion.version) == versions[-1] + 1 and champion.status == "READY"


@pytest.mark.e2e
def test_two_lightning_runs_at_once_are_both_recorded(
    lightning_baseline, lightning_corpus, lightning_workdir
):
    with _mlflow(lightning_workdir) as client:
        versions = _versions(client)
        finished = len(_runs(client, "lightning", "attributes.status = 'FINISHED'"))
    procs = [_popen("lightning", "--workdir", lightning_workdir) for _ in range(2)]
    outputs = [p.communicate(timeout=900) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out + err
    with _mlflow(lightning_workdir) as client:
        assert len(_runs(client, "lightning", "attributes.status = 'FINISHED'")) == finished + 2
        new = _versions(client)
        assert new == [*versions, versions[-1] + 1, versions[-1] + 2]
        champion = _champion(client)
        assert int(champion.version) in new[-2:] and champion.status == "READY"


def test_a_run_is_stale_only_when_its_process_is_gone_from_this_host():
    from components.shared import tracking

    mine = tracking.process_tags()
    assert not tracking._process_gone(mine)
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    assert tracking._process_gone({**mine, "run_pid": str(ended.pid)})
    # Another machine's process (a shared tracking server) cannot be checked from here.
    assert not tracking._process_gone({**mine, "run_pid": str(ended.pid), "run_host": "x"})
    # A live pid that started at another time: the run's process is gone, the pid reused.
    assert tracking._process_gone({**mine, "run_process_start": "1"})
    assert not tracking._process_gone({})


# ------------------------------------------------------------------------ security


def test_ui_binds_loopback_unless_told():
    from pipelines import ui
    from pipelines.__main__ import build_parser

    assert build_parser().parse_args(["ui"]).host == "127.0.0.1"
    command = ui.command(Path("runs"), "127.0.0.1", 5000)
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert ui.is_loopback("127.0.0.1") and ui.is_loopback("::1")
    assert not ui.is_loopback("0.0.0.0")


def test_ui_on_all_interfaces_warns(tmp_path):
    proc = _popen("ui", "--host", "0.0.0.0", "--port", "0", "--workdir", tmp_path)
    try:
        # The warning comes first, before the server starts.
        line = proc.stderr.readline()
    finally:
        _kill(proc)
    assert line.startswith("warning: serving the MLflow UI on 0.0.0.0")
    assert "no authentication" in line


def _tracked_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout
    return [REPO_ROOT / name for name in out.decode().split("\0") if name]


def _calls(path: Path, module: str, function: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == function
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == module
    ]


def _weights_only(call: ast.Call) -> bool:
    return any(
        k.arg == "weights_only" and isinstance(k.value, ast.Constant) and k.value.value is True
        for k in call.keywords
    )


def test_every_torch_load_refuses_pickled_code():
    python = [p for p in _tracked_files() if p.suffix == ".py" and p.exists()]
    loads = [(p, c) for p in python for c in _calls(p, "torch", "load")]
    assert loads, "no torch.load found: the test would pass vacuously"
    unsafe = [f"{p.relative_to(REPO_ROOT)}:{c.lineno}" for p, c in loads if not _weights_only(c)]
    assert not unsafe, f"torch.load without weights_only=True: {unsafe}"
    pickled = [
        f"{p.relative_to(REPO_ROOT)}:{c.lineno}"
        for p in python
        if p.parent.name != "tests"
        for module in ("pickle", "cloudpickle", "dill")
        for c in _calls(p, module, "load") + _calls(p, module, "loads")
    ]
    assert not pickled, f"unpickling in pipeline code: {pickled}"


SECRET_PATTERNS = [
    # key = "long literal" for names that hold credentials
    re.compile(
        r"(?i)\b[\w-]*(api[_-]?key|secret|token|passw(or)?d|credential)[\w-]*\b[\"']?\s*[:=]\s*"
        r"[\"'][^\"'\s]{8,}[\"']"
    ),
    re.compile(r"AKIA[0-9A-Z]{16}"),  # AWS access key id
    re.compile(r"gh[pousr]_[A-Za-z0-9]{36}"),  # GitHub token
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"(?i)://[^/\s:@]+:[^/\s@]{4,}@"),  # user:password@ in a URL
]
# (file, matched text) pairs reviewed and known not to be credentials.
SECRET_ALLOWLIST: set[tuple[str, str]] = set()


def _secrets(text: str) -> list[str]:
    return [m.group(0) for pattern in SECRET_PATTERNS for m in pattern.finditer(text)]


def test_secret_patterns_catch_credentials():
    samples = [
        'api_key = "sk-live-0123456789abcdef"',
        "AWS_ACCESS_KEY_ID=AKIAABCDEFGHIJKLMNOP",
        "password: 'correct-horse-battery'",
        "postgresql://admin:hunter22@db:5432/mlflow",
        "-----BEGIN RSA PRIVATE KEY-----",
    ]
    assert all(_secrets(sample) for sample in samples)
    assert not _secrets('token = os.environ["MLFLOW_TRACKING_TOKEN"]')


def test_no_credentials_in_the_repository():
    found = []
    for path in _tracked_files():
        if not path.is_file() or path == Path(__file__):
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue  # binary
        name = str(path.relative_to(REPO_ROOT))
        found += [(name, hit) for hit in _secrets(text) if (name, hit) not in SECRET_ALLOWLIST]
    assert not found
