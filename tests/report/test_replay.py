"""`python -m pipelines replay` on the shipped day-two scenario, end to end in every stack
here: spans arrive, one drifts, one carries shuffled labels, one is corrected, a rollback,
a rerun after it, and a new span judged against the restored model.

One replay (a fresh workdir, every stack after each event) serves every test here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow import MlflowClient

from components.shared import stacks
from components.shared.contract import load_contract
from components.shared.layout import Workdir
from components.shared.scenario import STEP_TAG, load_scenario
from components.shared.tracking import CHAMPION, tracking_uri
from tests.conftest import needs_stacks, run_cli

pytestmark = pytest.mark.e2e

SCENARIO = Path("data/scenarios/penguins.yaml")
PRESENT = list(stacks.load())
needs_tfx = pytest.mark.skipif("tfx" not in PRESENT, reason="the TFX wing was dropped")


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):  # noqa: ANN201 - (CLI result, Workdir)
    workdir = tmp_path_factory.mktemp("replay") / "day-two"
    result = run_cli("replay", "--scenario", SCENARIO, "--workdir", workdir, timeout=1800)
    return result, Workdir(workdir)


@pytest.fixture(scope="module")
def client(replayed) -> MlflowClient:  # noqa: ANN001
    uri = tracking_uri(replayed[1])
    return MlflowClient(uri, registry_uri=uri)


def test_the_replay_reproduces_the_scenarios_timeline(replayed):
    result, workdir = replayed
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    timeline = json.loads((workdir.root / "replay" / "timeline.json").read_text())
    scenario = load_scenario(SCENARIO)
    assert [row["event"] for row in timeline["events"]] == [e.name for e in scenario.events]
    for row, event in zip(timeline["events"], scenario.events, strict=True):
        for stack in PRESENT:
            assert row["stacks"][stack]["outcome"] == event.expect[stack].value, (row, stack)
    assert "| 3 | 2009 arrives with bill_depth_mm 3 mm deeper | stopped by drift" in result.stdout
    assert "every outcome as expected" in result.stdout
    for stack in PRESENT:  # step 3 drifted against the reference and the previous span
        said = timeline["events"][2]["stacks"][stack]["last_line"]
        assert "bill_depth_mm: drift" in said and "against the previous span" in said, said
    if "tfx" in PRESENT:  # step 7: TFX's cache handed back the blessing the rollback withdrew
        said = timeline["events"][6]["stacks"]["tfx"]["last_line"]
        assert "blessing was withdrawn by `rollback`" in said, said


def test_every_run_is_tagged_with_its_event_and_the_report_shows_the_timeline(replayed, client):
    _, workdir = replayed
    contract = load_contract("data/penguins.yaml")
    experiment = client.get_experiment_by_name(contract.experiment)
    runs = client.search_runs([experiment.experiment_id], max_results=500)
    steps = {}
    for run in runs:
        stack = run.data.tags.get("pipeline") or run.data.tags.get("rollback")
        assert STEP_TAG in run.data.tags, run.info.run_name
        steps.setdefault(int(run.data.tags[STEP_TAG]), set()).add(stack)
    assert steps == {step: set(PRESENT) for step in range(1, 9)}

    report = run_cli("report", "--workdir", workdir.root)
    assert report.returncode == 0, report.stderr
    markdown = (workdir.report(contract) / "comparison.md").read_text()
    section = markdown.split("## Day two: the replayed timeline")[1].split("\n## ")[0]
    expected = {
        4: "| 4 | 2009 re-delivered with its labels shuffled | not blessed | not blessed |",
        6: "| 6 | rollback to the 2007-2008 model | rolled back | rolled back |",
        7: "| 7 | the same spans rerun after the rollback | not blessed | pushed |",
    }
    if PRESENT == ["tfx", "lightning"]:
        for row in expected.values():
            assert row in section
    assert "| drift check |" in section


def _mlmd(workdir: Workdir):  # noqa: ANN202 - an MLMD store
    import ml_metadata as mlmd
    from ml_metadata.proto import metadata_store_pb2

    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(workdir.metadata_db("tfx"))
    return mlmd.MetadataStore(config)


@needs_tfx
def test_tfx_ingests_each_delivery_once_and_trains_on_the_rolling_window(replayed):
    _, workdir = replayed
    store = _mlmd(workdir)
    ingested = [a for a in store.get_artifacts_by_type("Examples") if "/CsvExampleGen/" in a.uri]
    spans = [a.properties["span"].int_value for a in ingested]
    # 2007 and 2008 once each (the backfills were cache hits); 2009 per delivery (drifted,
    # shuffled, corrected; the rerun's was a cache hit); 2010 once.
    assert sorted(spans) == [2007, 2008, 2009, 2009, 2009, 2010]
    types = {t.id: t.name for t in store.get_execution_types()}
    transforms = [e for e in store.get_executions() if types[e.type_id].endswith(".Transform")]
    latest = max(transforms, key=lambda e: e.id)
    inputs = [
        ev.artifact_id
        for ev in store.get_events_by_execution_ids([latest.id])
        if ev.type == ev.INPUT
    ]
    examples = store.get_artifacts_by_id(inputs)
    window = {a.properties["span"].int_value: a.id for a in examples if "span" in a.properties}
    assert sorted(window) == [2008, 2009, 2010]
    # From step 2 on, each arriving span was judged against the one before it too: steps
    # 2, 3, 4, 5 and 8 (step 7's was a cache hit).
    node = store.get_context_by_type_and_name("node", "penguins-tfx.PreviousSpanValidator")
    judged = [
        e for e in store.get_executions_by_context(node.id) if e.last_known_state == e.COMPLETE
    ]
    assert len(judged) == 5
    newest_2009 = max(a.id for a in ingested if a.properties["span"].int_value == 2009)
    assert window[2009] == newest_2009  # the corrected delivery, not an earlier one


@needs_stacks("tfx", "lightning")
def test_both_stacks_trained_on_the_same_rows_of_each_span(replayed, client):
    contract = load_contract("data/penguins.yaml")
    experiment = client.get_experiment_by_name(contract.experiment)
    inputs = {}
    for run in client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.{STEP_TAG} = '8'"
    ):
        stack = run.data.tags.get("pipeline")
        inputs[stack] = sorted(
            (d.dataset.name, d.dataset.digest) for d in run.inputs.dataset_inputs
        )
    assert inputs["tfx"] == inputs["lightning"]
    assert [name for name, _ in inputs["tfx"]] == sorted(
        f"penguins-span-{span}-{side}" for span in (2008, 2009, 2010)
        for side in ("training", "evaluation")
    )  # fmt: skip


def _version_of_step(client: MlflowClient, name: str, step: int):  # noqa: ANN202
    versions = client.search_model_versions(f"name = '{name}'")
    return next(v for v in versions if client.get_run(v.run_id).data.tags[STEP_TAG] == str(step))


def test_the_rollback_gave_back_step_twos_model_and_the_next_model_was_judged_against_it(
    replayed, client
):
    _, workdir = replayed
    contract = load_contract("data/penguins.yaml")
    experiment = client.get_experiment_by_name(contract.experiment)
    for stack in PRESENT:
        name = contract.registered_model(stack)
        restored, rolled_back = (_version_of_step(client, name, s) for s in (2, 5))
        assert rolled_back.tags["status"] == "rolled_back", stack
        (rollback,) = client.search_runs(
            [experiment.experiment_id], filter_string=f"tags.rollback = '{stack}'"
        )
        assert (rollback.data.tags["from_version"], rollback.data.tags["to_version"]) == (
            str(rolled_back.version),
            str(restored.version),
        )
        champion = client.get_model_version_by_alias(name, CHAMPION)
        assert client.get_run(champion.run_id).data.tags[STEP_TAG] == "8", stack
    if "tfx" not in PRESENT:
        return

    # TFX republished step 2's push, and step 8's Evaluator took it as its baseline.
    from components.tfx.rollback import model_of_push

    name = contract.registered_model("tfx")
    step_two = Path(_version_of_step(client, name, 2).tags["pushed_destination"])
    pushes = sorted(p for p in workdir.serving("tfx", contract).iterdir() if p.is_dir())
    assert len(pushes) == 5  # steps 1, 2, 5, the republished 2, and 8
    assert (pushes[-2] / "saved_model.pb").read_bytes() == (
        step_two / "saved_model.pb"
    ).read_bytes()
    store = _mlmd(workdir)
    types = {t.id: t.name for t in store.get_execution_types()}
    evaluator = max(  # the last that ran (step 7's was a cache hit)
        (e for e in store.get_executions()
         if types[e.type_id].endswith(".Evaluator") and e.last_known_state == e.COMPLETE),
        key=lambda e: e.id,
    )  # fmt: skip
    baseline = [
        ev.artifact_id
        for ev in store.get_events_by_execution_ids([evaluator.id])
        if ev.type == ev.INPUT and ev.path.steps[0].key == "baseline_model"
    ]
    assert baseline == [model_of_push(store, str(step_two))]


def test_a_replay_into_a_used_workdir_is_refused_and_changes_nothing(replayed):
    _, workdir = replayed
    before = (workdir.root / "replay" / "timeline.json").read_bytes()
    again = run_cli("replay", "--scenario", SCENARIO, "--workdir", workdir.root)
    assert again.returncode == 1
    assert "is not empty" in again.stderr
    assert (workdir.root / "replay" / "timeline.json").read_bytes() == before
