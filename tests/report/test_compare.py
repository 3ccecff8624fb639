"""Both pipelines in one place: `all` against a real MLflow server over HTTP, the report,
the MLflow UI reviewed in headless Chromium, and serving parity with `mlflow models
serve`."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from components.shared.contract import REPO_ROOT
from components.shared.traffic import BATCH_ROWS
from tests.conftest import cli_env, run_cli
from tests.servers import free_port, mlflow_server, wait_http

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", REPO_ROOT / "runs" / "test-artifacts"))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One `python -m pipelines all` run, tracked by a real `mlflow server`."""
    root = tmp_path_factory.mktemp("all")
    with mlflow_server(root) as url:
        workdir = root / "work"
        result = run_cli("all", "--workdir", workdir, env={"MLFLOW_TRACKING_URI": url})
        yield url, workdir, result


@pytest.fixture(scope="module")
def reviewed(served, tmp_path_factory):
    """Then each stack once more, rejected: one published and one rejected run each."""
    from tests.review import run_rejected

    url, workdir, result = served
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run_rejected(url, workdir, tmp_path_factory.mktemp("unreachable"))
    return served


def _runs(url: str, experiment: str) -> dict[str, mlflow.entities.Run]:
    client = MlflowClient(url, registry_uri=url)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"])
    latest = {}
    for run in runs:
        latest.setdefault(run.data.tags.get("pipeline"), run)
    return latest


def test_all_runs_both_pipelines_and_writes_the_report(served, contract):
    url, workdir, result = served
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "tfx exit 0, lightning exit 0" in result.stdout
    assert "make ui" in result.stdout
    report = workdir / "report" / contract.name
    for name in ("comparison.md", "comparison.html", "step_times.png", "metrics.png"):
        assert (report / name).stat().st_size > 0, name
    title = (report / "comparison.md").read_text().splitlines()[0]
    assert title == f"# TFX vs Lightning + MLflow on {contract.name}: the comparison", title
    html = (report / "comparison.html").read_text()
    assert "data:image/png;base64," in html and 'src="metrics.png"' not in html


def test_tfx_run_in_mlflow_holds_tfma_metrics_and_lineage(served, contract):
    url, workdir, _ = served
    run = _runs(url, contract.experiment)["tfx"]
    assert run.data.tags["outcome"] == "pushed"
    assert run.data.params["learning_rate"] == str(contract.hyperparameters.learning_rate)
    assert len(run.data.params["data_sha256"]) == 64
    assert run.data.metrics["eval_accuracy"] >= contract.min_accuracy
    for cls in contract.classes:
        assert 0 < run.data.metrics[f"eval_f1_{cls}"] <= 1
    for stage in ("ingest", "validate", "preprocess", "train", "evaluate", "promote"):
        assert run.data.metrics[f"time_{stage}_s"] > 0, stage
    assert json.loads(run.data.tags["mlmd_execution_ids"])["Trainer"] > 0
    assert Path(run.data.tags["published_model"]).is_dir()
    artifacts = {
        a.path for a in MlflowClient(url).list_artifacts(run.info.run_id, "validation/tfdv")
    }
    assert "validation/tfdv/statistics.html" in artifacts
    # The accuracy is TFMA's own number: the same as in the Evaluator's output.
    from components.tfx.mlflow_record import eval_metrics

    tfma_dir = Path(workdir) / "tfx" / "Evaluator" / "evaluation"
    newest = max(tfma_dir.iterdir(), key=lambda p: int(p.name))
    assert eval_metrics(str(newest))["eval_accuracy"] == pytest.approx(
        run.data.metrics["eval_accuracy"]
    )


def test_both_pipelines_log_comparable_columns(served, contract):
    url, workdir, _ = served
    runs = _runs(url, contract.experiment)
    tfx_run, lightning_run = runs["tfx"], runs["lightning"]
    shared_params = {"hidden_units", "learning_rate", "epochs", "batch_size", "seed", "data_sha256"}
    for key in shared_params:
        assert tfx_run.data.params[key] == lightning_run.data.params[key], key
    for key in (
        "eval_accuracy", "eval_f1_macro", "eval_log_loss", "best_epoch", "epochs_run",
        "time_train_s", "time_validate_s", "time_total_s",
    ):  # fmt: skip
        assert key in tfx_run.data.metrics and key in lightning_run.data.metrics, key
    # Per-component times are an artifact, not a chart panel each.
    assert not any(key.startswith("component_time_") for key in tfx_run.data.metrics)
    # The same majority-class baseline on the same eval rows, in both stacks' runs.
    for key in ["eval_accuracy_baseline", *(f"eval_recall_baseline_{c}" for c in contract.classes)]:
        assert tfx_run.data.metrics[key] == lightning_run.data.metrics[key], key
    markdown = (workdir / "report" / contract.name / "comparison.md").read_text()
    baseline = f"{tfx_run.data.metrics['eval_accuracy_baseline']:.3f}"
    assert f"| accuracy of the majority-class baseline | {baseline} | {baseline} |" in markdown


def test_lightning_registry_lives_on_the_server(served, contract):
    """README, MLflow on a tracking server: the version and the `champion` alias are in the
    server's store, the artifacts went through it, and the model loads by alias from it;
    nothing was written to the workdir's own SQLite store."""
    url, workdir, result = served
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run = _runs(url, contract.experiment)["lightning"]
    client = MlflowClient(url, registry_uri=url)
    name = contract.registered_model("lightning")
    champion = client.get_model_version_by_alias(name, "champion")
    assert champion.run_id == run.info.run_id
    assert run.data.tags["model_version"] == str(champion.version)
    assert run.info.artifact_uri.startswith("mlflow-artifacts:")  # proxied by the server
    assert not (workdir / "mlflow" / "mlflow.db").exists()
    mlflow.set_tracking_uri(url)  # conftest puts MLflow's defaults back after the test
    mlflow.set_registry_uri(url)
    model = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    from components.shared.dataset import load_split

    rows = load_split(contract.path, contract).eval
    accuracy = (model.predict(rows)["prediction"] == rows[contract.label]).mean()
    assert accuracy == pytest.approx(run.data.metrics["eval_accuracy"])


def test_both_champions_are_in_the_registry_and_answer_raw_rows_alike(served, contract):
    """The TFX push is registered as <model_name>-tfx beside the Lightning champion: both
    load with mlflow.pyfunc by alias, take the same raw rows (missing values and an
    unseen category included) and give the same columns; TFX's version points at its
    run and at the SavedModel Pusher pushed."""
    url, workdir, result = served
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    runs = _runs(url, contract.experiment)
    client = MlflowClient(url, registry_uri=url)
    tfx_name = contract.registered_model("tfx")
    champion = client.get_model_version_by_alias(tfx_name, "champion")
    tfx_run = runs["tfx"]
    assert champion.run_id == tfx_run.info.run_id
    assert champion.tags["pushed_destination"] == tfx_run.data.tags["published_model"]
    assert tfx_run.data.tags["registered_model"] == f"models:/{tfx_name}/{champion.version}"
    assert f"registered {tfx_name} version {champion.version} as champion" in result.stdout
    mlflow.set_tracking_uri(url)  # conftest puts MLflow's defaults back after the test
    mlflow.set_registry_uri(url)
    from components.shared.dataset import load_split

    rows = load_split(contract.path, contract).eval.drop(columns=[contract.label])
    rows.loc[rows.index[0], "island"] = "Atlantis"  # a category the model never saw
    rows.loc[rows.index[1], "body_mass_g"] = float("nan")
    answers = {}
    for stack in ("tfx", "lightning"):
        model = mlflow.pyfunc.load_model(f"models:/{contract.registered_model(stack)}@champion")
        answers[stack] = model.predict(rows)
        expected = ["prediction", *(f"prob_{c}" for c in contract.classes)]
        assert list(answers[stack].columns) == expected, stack
        assert answers[stack][expected[1:]].sum(axis=1).round(4).eq(1).all(), stack
    agree = (answers["tfx"]["prediction"] == answers["lightning"]["prediction"]).mean()
    assert agree >= 0.95


def test_both_stacks_runs_read_right_in_mlflow(served, contract):
    """Names with stack, dataset and time; the pipeline's own duration; the same split
    logged as the same MLflow datasets by both."""
    url, _, _ = served
    runs = _runs(url, contract.experiment)
    digests = {}
    for stack, run in runs.items():
        assert run.info.run_name.startswith(f"{stack}-{contract.name}-"), run.info.run_name
        assert run.info.end_time - run.info.start_time >= 1000 * run.data.metrics["time_train_s"]
        inputs = {d.dataset.name: d.dataset.digest for d in run.inputs.dataset_inputs}
        assert set(inputs) == {f"{contract.name}-training", f"{contract.name}-evaluation"}
        digests[stack] = inputs
    assert digests["tfx"] == digests["lightning"]


def test_report_numbers_equal_what_mlflow_stored(served, contract):
    url, workdir, _ = served
    runs = _runs(url, contract.experiment)
    stored = json.loads((workdir / "report" / contract.name / "report.json").read_text())
    markdown = (workdir / "report" / contract.name / "comparison.md").read_text()
    for stack in ("tfx", "lightning"):
        assert stored[stack]["run_id"] == runs[stack].info.run_id
        accuracy = runs[stack].data.metrics["eval_accuracy"]
        assert stored[stack]["metrics"]["eval_accuracy"] == accuracy
        assert f"{accuracy:.3f}" in markdown


def test_served_models_agree_on_raw_rows(served, contract):
    _, workdir, _ = served
    parity = json.loads((workdir / "report" / contract.name / "parity.json").read_text())
    assert parity["rows"] > 50
    models = parity["models"]
    assert set(models) == {"tfx", "lightning"}
    assert models["tfx"]["accuracy"] >= contract.min_accuracy
    assert models["lightning"]["accuracy"] >= contract.min_accuracy
    # What each stack's run recorded as published, read by format, not by stack.
    assert models["tfx"]["served_by"].startswith("TensorFlow SavedModel")
    assert models["lightning"]["model"].startswith("models:/penguins-lightning/")
    assert parity["agreement"] >= 0.95
    markdown = (workdir / "report" / contract.name / "comparison.md").read_text()
    assert "rows where all predict the same class" in markdown


def test_both_champions_predict_in_a_real_browser_as_they_do_in_mlflow(served, contract):
    """export-web: TF.js and ONNX Runtime Web bundles, one page, headless Chromium; every
    eval row's class as the champion's, and the report shows the figures."""
    url, workdir, _ = served
    env = {"MLFLOW_TRACKING_URI": url}
    result = run_cli("export-web", "--workdir", workdir, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = json.loads((workdir / "web" / f"{contract.name}.json").read_text())["rows"]
    for stack, runtime in (("tfx", "TensorFlow.js"), ("lightning", "ONNX Runtime Web")):
        bundle = workdir / "web" / stack / contract.name
        measured = json.loads((bundle / "browser.json").read_text())
        assert measured["runtime"].startswith(runtime), measured
        assert measured["rows"] == len(rows) > 50
        assert measured["agreement"] == 1.0, measured
        assert measured["max_abs_prob_diff"] < 1e-4, measured
        assert measured["champion"].startswith(f"models:/{contract.registered_model(stack)}/")
        assert measured["load_ms"] > 0 and measured["per_row_ms"] > 0
        # Only the files the page loads: no npm tree in the bundle.
        assert not (bundle / "node_modules").exists()
        assert measured["size_bytes"] < 30e6, measured["size_bytes"]
    assert not _processes_with("--remote-debugging-pipe"), "Chromium outlived export-web"
    # The missing values of the eval rows reach both in-page models as missing.
    assert any(value is None for row in rows for value in row.values())

    report = run_cli("report", "--workdir", workdir, env=env)
    assert report.returncode == 0, report.stderr[-3000:]
    markdown = (workdir / "report" / contract.name / "comparison.md").read_text()
    assert "### In the browser" in markdown
    assert "TF.js graph model" in markdown and "ONNX + preprocessing.json" in markdown


def test_export_web_fails_when_a_bundle_disagrees_with_its_champion(served, contract):
    """The measurement can fail: the Lightning bundle built from a wrong preprocessing
    (the train means shifted) no longer matches its champion, and export-web says so."""
    url, workdir, _ = served
    source = workdir / "edge" / "lightning" / contract.name / "preprocessing.json"
    kept = source.read_text()
    wrong = json.loads(kept)
    for stats in wrong["numeric"].values():
        stats["mean"] += 3 * stats["std"]
    try:
        source.write_text(json.dumps(wrong))
        result = run_cli(
            "export-web", "--stack", "lightning", "--workdir", workdir,
            env={"MLFLOW_TRACKING_URI": url},
        )  # fmt: skip
    finally:
        source.write_text(kept)
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert "agreement" in result.stderr
    measured = json.loads(
        (workdir / "web" / "lightning" / contract.name / "browser.json").read_text()
    )
    assert measured["agreement"] < 1.0


def _post(url: str, body: bytes) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _processes_with(needle: str) -> list[str]:
    """Command lines of the live processes whose arguments contain `needle`."""
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            cmdline = (entry / "cmdline").read_bytes()
            if entry.name.isdigit() and needle.encode() in cmdline:
                found.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return found


@pytest.mark.parametrize(
    ("stack", "server"), [("tfx", "mlflow"), ("lightning", "mlflow"), ("lightning", "litserve")]
)
def test_serve_answers_logs_and_monitor_flags_shifted_traffic(served, contract, stack, server):
    """`python -m pipelines serve --stack S --server X` serves S's champion from the
    registry: raw rows in (a missing value included), the same JSON from every server,
    4xx with the reason for a request that does not fit, every answered request logged as
    one whole JSON line under concurrent load. Through MLflow's server, `monitor --replay`
    of the shipped clean traffic exits 0 and of the shifted traffic exits 2, naming the
    moved features, each with a monitoring run in MLflow. Once stopped, no server process
    is left."""
    import subprocess
    import sys

    url, workdir, _ = served
    log = workdir / "serving_logs" / stack / f"{contract.name}.jsonl"
    logged_before = len(log.read_text().splitlines()) if log.exists() else 0
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines", "serve", "--stack", stack, "--server", server,
         "--workdir", str(workdir), "--port", str(port)],
        cwd=REPO_ROOT, env=cli_env({"MLFLOW_TRACKING_URI": url}),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    monitored = {}
    try:
        wait_http(f"{base}/{'ping' if server == 'mlflow' else 'health'}", 240, proc)
        rows = [
            {"island": "Biscoe", "bill_length_mm": 47.5, "bill_depth_mm": 15.0,
             "flipper_length_mm": 217.0, "body_mass_g": 5200.0, "sex": "male"},
            {"island": "Torgersen", "bill_length_mm": 38.9, "bill_depth_mm": 18.5,
             "flipper_length_mm": 190.0, "body_mass_g": None, "sex": None},
        ]  # fmt: skip
        status, answer = _post(base, json.dumps({"dataframe_records": rows}).encode())
        assert status == 200, answer
        expected = {"prediction", *(f"prob_{c}" for c in contract.classes)}
        assert [set(p) for p in answer["predictions"]] == [expected, expected]
        assert [p["prediction"] for p in answer["predictions"]] == ["Gentoo", "Adelie"]
        status, answer = _post(base, json.dumps({"dataframe_records": [{"sex": 3}]}).encode())
        assert status == 400 and "island" in json.dumps(answer), (status, answer)
        for malformed in (b"{not json", b"[1, 2]", b'{"dataframe_records": 5}'):
            status, answer = _post(base, malformed)
            assert 400 <= status < 500, (malformed, status, answer)
        # 8 clients at once, 5 requests each: every answered request is one whole line.
        from concurrent.futures import ThreadPoolExecutor

        body = json.dumps({"dataframe_records": rows[:1]}).encode()
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: _post(base, body)[0], range(40)))
        assert statuses == [200] * 40
        # `monitor` judges a stack's logged traffic, whichever server logged it: once per
        # stack is enough, through its default server.
        for kind in ("clean", "shifted") if server == "mlflow" else ():
            monitored[kind] = run_cli(
                "monitor", "--stack", stack, "--workdir", workdir, "--url", base,
                "--replay", REPO_ROOT / "data" / "traffic" / f"{contract.name}-{kind}.csv",
                env={"MLFLOW_TRACKING_URI": url},
            )  # fmt: skip
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    assert _port_closes(port, within_s=30)
    deadline = time.monotonic() + 30  # uvicorn finishes its shutdown after the port closes
    while _processes_with(f"--port\0{port}") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_with(f"--port\0{port}") == []
    said = proc.stdout.read()
    name = contract.registered_model(stack)
    assert f"serving {name} version 1 (champion) with {server}" in said, said
    lines = log.read_text().splitlines()[logged_before:]
    logged = [json.loads(line) for line in lines]  # a torn line would not parse
    # The answered requests, then the two replays; refused ones never reach the model.
    traffic = REPO_ROOT / "data" / "traffic" / f"{contract.name}-clean.csv"
    eval_rows = len(traffic.read_text().splitlines()) - 1  # the header
    replayed = 2 * -(-eval_rows // BATCH_ROWS) if monitored else 0
    assert len(logged) == 1 + 40 + replayed
    assert {(r["model"], r["version"], r["server"]) for r in logged} == {(name, "1", server)}
    assert logged[0]["inputs"][1]["body_mass_g"] is None
    assert [o["prediction"] for o in logged[0]["outputs"]] == ["Gentoo", "Adelie"]
    if not monitored:
        return

    clean, shifted = monitored["clean"], monitored["shifted"]
    assert clean.returncode == 0, clean.stdout[-3000:] + clean.stderr[-3000:]
    assert "no skew (exit 0)" in clean.stdout
    assert shifted.returncode == 2, shifted.stdout[-3000:] + shifted.stderr[-3000:]
    # The shipped shift moves the first two numeric features and the first categorical.
    moved = {"bill_length_mm", "bill_depth_mm", "island"}
    flagged = {line.split()[1].rstrip(":") for line in shifted.stdout.splitlines()
               if line.strip().startswith("SKEW")}  # fmt: skip
    assert flagged == moved, shifted.stdout
    assert f"skew (exit 2): {', '.join(sorted(moved))}" in shifted.stderr
    client = MlflowClient(url)
    experiment = client.get_experiment_by_name(contract.experiment)
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.monitor = '{stack}'",
        order_by=["attributes.start_time DESC"],
        max_results=2,
    )
    assert [r.data.tags["outcome"] for r in runs] == ["skew", "no skew"]
    assert runs[0].data.tags["model_version"] == "1"
    assert runs[0].data.tags["skewed_features"] == ", ".join(sorted(moved))
    assert runs[0].data.params["rows"] == str(eval_rows)
    artifacts = {a.path for a in client.list_artifacts(runs[0].info.run_id, "monitoring")}
    assert {"monitoring/report", "monitoring/distances.json"} <= artifacts, artifacts


def test_report_shows_the_latest_monitor_verdict_of_each_stack(served, contract):
    """After the serve tests' replays, the report's "Serving and monitoring" section shows
    each stack's latest `monitor` verdict as MLflow holds it."""
    url, workdir, _ = served
    result = run_cli("report", "--workdir", workdir, env={"MLFLOW_TRACKING_URI": url})
    assert result.returncode == 0, result.stderr[-3000:]
    text = (workdir / "report" / contract.name / "comparison.md").read_text()
    section = text.split("## Serving and monitoring")[1].split("\n## ")[0]
    client = MlflowClient(url)
    experiment = client.get_experiment_by_name(contract.experiment)
    runs = client.search_runs([experiment.experiment_id], max_results=5000)
    monitored = [run for run in runs if "monitor" in run.data.tags]
    if not monitored:
        assert "No `monitor` run recorded yet." in section
    for stack in {run.data.tags["monitor"] for run in monitored}:
        (latest,) = client.search_runs(
            [experiment.experiment_id], f"tags.monitor = '{stack}'",
            order_by=["attributes.start_time DESC"], max_results=1,
        )  # fmt: skip
        tags = latest.data.tags
        assert f"| {stack} | {tags['model_version']} | " in section
        assert f"| {tags['outcome']} | {tags['skewed_features']} |" in section


def test_mlflow_ui_reviews_both_stacks_side_by_side(reviewed, contract):
    """The three pages `python -m pipelines ui` links to, in headless Chromium
    (tests/review.py): the runs table lists both stacks' published and rejected runs with
    the shared columns, the registry shows both champions, and the compare view puts a TFX
    and a Lightning run's shared metrics side by side. Screenshots go to the artifacts."""
    from tests.review import capture

    url, _, _ = reviewed
    client = MlflowClient(url)
    experiment = client.get_experiment_by_name(contract.experiment)
    runs = client.search_runs([experiment.experiment_id])
    # The pipeline runs; the serve tests' `monitor` runs sit beside them (tag `monitor`).
    outcomes = {(r.data.tags["pipeline"], r.data.tags["outcome"]) for r in runs
                if "pipeline" in r.data.tags}  # fmt: skip
    assert outcomes == {
        ("tfx", "pushed"), ("tfx", "not_blessed"),
        ("lightning", "promoted"), ("lightning", "not_blessed"),
    }  # fmt: skip
    review = capture(url, contract, ARTIFACTS)
    assert set(review.compared) == {"tfx", "lightning"}
    for column in ("eval_accuracy", "eval_accuracy_baseline", "pipeline", "outcome"):
        assert column in review.runs, column
    baseline = review.compared["tfx"].data.metrics["eval_accuracy_baseline"]
    assert str(baseline) in review.runs  # the table shows the stored value in full
    assert review.champions == 2, review.models
    for run in review.compared.values():
        assert run.info.run_name in review.compare
        # The compare view rounds to 3 significant digits.
        assert f"{run.data.metrics['eval_f1_macro']:.3g}" in review.compare, review.compare[-2000:]
    for name in ("mlflow-runs.png", "mlflow-models.png", "mlflow-compare.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000, name


def test_ui_subcommand_serves_the_workdir_store_on_loopback(served):
    import subprocess
    import sys

    _, workdir, _ = served
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines", "ui", "--workdir", str(workdir), "--port", str(port)],
        cwd=REPO_ROOT,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc=proc)
        # SIGTERM to the command alone, as a supervisor or `kill` sends it: the server
        # must stop with it, not outlive it on the port.
        proc.terminate()
        proc.wait(timeout=30)
        assert _port_closes(port, within_s=30), f"the MLflow UI still serves on {port}"
        said = proc.stdout.read()
        assert "Uvicorn running" in said and "DeprecationWarning" not in said, said
    finally:
        with contextlib.suppress(ProcessLookupError):  # the group is gone when all went
            os.killpg(proc.pid, signal.SIGKILL)


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _port_closes(port: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while _port_open(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True
