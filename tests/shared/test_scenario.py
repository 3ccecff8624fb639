"""The day-two scenario file, the spans it makes arrive, and how outcomes are named."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from components.shared import stacks
from components.shared.contract import REPO_ROOT
from components.shared.outcome import ExitCode, Outcome, last_line
from components.shared.scenario import (
    Arrival,
    ScenarioError,
    TimelineOutcome,
    arrive,
    classify,
    load_scenario,
    timeline_markdown,
)

SHIPPED = REPO_ROOT / "data" / "scenarios" / "penguins.yaml"
SPAN_2009 = REPO_ROOT / "data" / "penguins-spans" / "span-2009"


def test_the_shipped_scenario_reads_and_expects_an_outcome_of_every_stack():
    scenario = load_scenario(SHIPPED)
    assert scenario.contract == REPO_ROOT / "data" / "penguins.yaml"
    assert [e.kind for e in scenario.events] == ["arrive"] * 5 + ["rollback", "rerun", "arrive"]
    for event in scenario.events:
        assert set(stacks.load()) <= set(event.expect), event.name
    outcomes = {o for e in scenario.events for o in e.expect.values()}
    assert TimelineOutcome.STOPPED_BY_DRIFT in outcomes and TimelineOutcome.NOT_BLESSED in outcomes


def test_a_shifted_arrival_moves_only_that_column(tmp_path):
    folder = arrive(Arrival(2010, SPAN_2009, shift={"bill_depth_mm": 3.0}), "species", 1, tmp_path)
    assert folder == tmp_path / "span-2010"
    before = pd.read_csv(SPAN_2009 / "penguins.csv")
    after = pd.read_csv(folder / "penguins.csv")
    assert (after["bill_depth_mm"] - before["bill_depth_mm"]).dropna().round(6).eq(3.0).all()
    assert after["bill_depth_mm"].isna().equals(before["bill_depth_mm"].isna())
    assert after.drop(columns="bill_depth_mm").equals(before.drop(columns="bill_depth_mm"))


def test_shuffled_labels_keep_their_frequencies_and_lose_their_rows(tmp_path):
    folder = arrive(Arrival(2009, SPAN_2009, shuffle_labels=True), "species", 7, tmp_path)
    before = pd.read_csv(SPAN_2009 / "penguins.csv")
    after = pd.read_csv(folder / "penguins.csv")
    assert sorted(after["species"]) == sorted(before["species"])
    assert (after["species"] != before["species"]).mean() > 0.3
    assert after.drop(columns="species").equals(before.drop(columns="species"))


def test_a_redelivered_span_replaces_the_earlier_delivery(tmp_path):
    arrive(Arrival(2009, SPAN_2009, shuffle_labels=True), "species", 7, tmp_path)
    folder = arrive(Arrival(2009, SPAN_2009), "species", 8, tmp_path)
    assert (folder / "penguins.csv").read_bytes() == (SPAN_2009 / "penguins.csv").read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["span-2009"]


@pytest.mark.parametrize(
    "outcome, reasons, expected",
    [
        (Outcome.PUSHED, [], TimelineOutcome.PUSHED),
        (Outcome.DATA_INVALID, ["bill_depth_mm: drift (Jensen-Shannon divergence 0.39 > 0.2)"],
         TimelineOutcome.STOPPED_BY_DRIFT),
        (Outcome.DATA_INVALID, ["bill_depth_mm: drift jensen_shannon_divergence 0.390 > 0.2"],
         TimelineOutcome.STOPPED_BY_DRIFT),
        (Outcome.DATA_INVALID, ["island: Unexpected string values"],
         TimelineOutcome.STOPPED_BY_VALIDATION),
        (Outcome.NOT_BLESSED, ["accuracy 0.7 < 0.9"], TimelineOutcome.NOT_BLESSED),
        (Outcome.ERROR, ["boom"], TimelineOutcome.ERROR),
    ],
)  # fmt: skip
def test_outcomes_are_read_from_the_exit_code_and_the_last_line(outcome, reasons, expected):
    line = last_line("stack", outcome, reasons)
    assert classify(int(outcome.exit_code), line) == expected


def _write(tmp_path, events):  # noqa: ANN001, ANN202
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"contract": "data/penguins.yaml", "events": events}))
    return path


# Every stack of the template: a project that dropped one still reads this scenario.
GOOD = {"name": "e", "arrive": {"span": 1, "from": "data/penguins-spans/span-2007"},
        "expect": {"tfx": "pushed", "lightning": "pushed"}}  # fmt: skip


@pytest.mark.parametrize(
    "event, message",
    [
        ({**GOOD, "expect": {"tfx": "great"}}, "allowed: pushed"),
        ({**GOOD, "rollback": {}}, "exactly one of `arrive`, `rerun`, `rollback`"),
        ({k: v for k, v in GOOD.items() if k != "expect"}, "an event is a mapping"),
        ({**GOOD, "arrive": {"span": 1, "from": "data/nowhere"}}, "not a folder"),
        ({**GOOD, "arrive": {**GOOD["arrive"], "drop": 1}}, "unknown key"),
        ({**GOOD, "arrive": {**GOOD["arrive"], "shift": {"x": "a lot"}}}, "shift"),
    ],
)
def test_a_malformed_scenario_names_the_problem(tmp_path, event, message):
    with pytest.raises(ScenarioError, match=message):
        load_scenario(_write(tmp_path, [event]))


def test_the_timeline_table_shows_each_outcome_and_a_missed_expectation():
    timeline = {
        "stacks": ["a", "b"],
        "events": [{"step": 1, "event": "span 1", "stacks": {
            "a": {"outcome": "pushed", "expected": "pushed"},
            "b": {"outcome": "not_blessed", "expected": "pushed"},
        }}],
    }  # fmt: skip
    table = timeline_markdown(timeline)
    assert "| 1 | span 1 | pushed | not blessed (expected pushed) |" in table


def test_exit_codes_the_timeline_reads_are_the_cli_ones():
    assert classify(ExitCode.OK, "") == TimelineOutcome.PUSHED
    assert classify(ExitCode.NOT_BLESSED, "") == TimelineOutcome.NOT_BLESSED


def test_replay_stops_on_an_arrival_it_cannot_make_and_refuses_a_used_workdir(tmp_path):
    """Both before any stack runs: quick."""
    from tests.conftest import run_cli

    bad = {**GOOD, "arrive": {**GOOD["arrive"], "shift": {"no_such_column": 1.0}}}
    result = run_cli("replay", "--scenario", _write(tmp_path, [bad]), "--workdir", tmp_path / "w")
    assert result.returncode == 1
    assert "[1] e: shift:" in result.stderr and "no_such_column" in result.stderr
    used = tmp_path / "used"
    (used / "keep.txt").parent.mkdir()
    (used / "keep.txt").write_text("mine")
    again = run_cli("replay", "--workdir", used)
    assert again.returncode == 1 and "is not empty" in again.stderr
    assert [p.name for p in used.iterdir()] == ["keep.txt"]
