"""A day-two scenario: events (a span arrives, changed or not; a rollback) and the outcome
each stack is expected to reach after each, read from data/scenarios/<name>.yaml.

`python -m pipelines replay` plays one into a fresh workdir (pipelines/replay.py). This
module knows the file's format, makes each arriving span, and names outcomes; it knows
no stack: a stack is a key of `expect`, checked against stacks.toml by the replay.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components.shared.contract import REPO_ROOT, read_yaml
from components.shared.outcome import ExitCode
from components.shared.spans import Span, span_folder

# The MLflow tags `replay` puts on each run it started (the report's timeline reads them).
SCENARIO_TAG = "replay_scenario"
EVENT_TAG = "replay_event"
STEP_TAG = "replay_step"
SEEN_TAG = "replay_outcome"


class TimelineOutcome(str, Enum):
    """What one stack did with one event: the timeline's cells and the `expect` values."""

    PUSHED = "pushed"
    STOPPED_BY_DRIFT = "stopped_by_drift"
    STOPPED_BY_VALIDATION = "stopped_by_validation"
    NOT_BLESSED = "not_blessed"
    ROLLED_BACK = "rolled_back"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


def classify(code: int, last_line: str) -> TimelineOutcome:
    """A pipeline run's timeline outcome from its exit code and the line it printed last
    (components/shared/outcome.last_line: both stacks name a drifted column `<col>: drift`)."""
    if code == ExitCode.OK:
        return TimelineOutcome.PUSHED
    if code == ExitCode.DATA_INVALID:
        if ": drift" in last_line:
            return TimelineOutcome.STOPPED_BY_DRIFT
        return TimelineOutcome.STOPPED_BY_VALIDATION
    if code == ExitCode.NOT_BLESSED:
        return TimelineOutcome.NOT_BLESSED
    return TimelineOutcome.ERROR


class ScenarioError(ValueError):
    """The scenario file is malformed (exit code 1)."""


@dataclass(frozen=True)
class Arrival:
    """A span that arrives: the CSV files of `source` (a span folder), optionally with
    numeric columns shifted and the label shuffled, written as span `span`."""

    span: int
    source: Path
    shift: dict[str, float] = field(default_factory=dict)
    shuffle_labels: bool = False


KINDS = ("arrive", "rerun", "rollback")


@dataclass(frozen=True)
class Event:
    """`arrive`: a span arrives, then every stack runs; `rerun`: every stack runs again
    on the spans as they are; `rollback`: every stack rolls back."""

    name: str
    expect: dict[str, TimelineOutcome]
    kind: str = "arrive"
    arrival: Arrival | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    source: Path
    contract: Path
    events: tuple[Event, ...]


def _path(value: Any, where: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ScenarioError(f"{where}: a path relative to the repository root")
    path = Path(value)
    return path if path.is_absolute() else REPO_ROOT / path


def _event(raw: Any, at: str) -> Event:
    if not isinstance(raw, dict) or "name" not in raw or "expect" not in raw:
        raise ScenarioError(f"{at}: an event is a mapping with `name`, `expect` and one of "
                            "`arrive`, `rerun` or `rollback`")  # fmt: skip
    expect_raw = raw["expect"]
    if not isinstance(expect_raw, dict) or not expect_raw:
        raise ScenarioError(f"{at}.expect: a mapping of stack -> outcome")
    try:
        expect = {str(k): TimelineOutcome(v) for k, v in expect_raw.items()}
    except ValueError as exc:
        allowed = ", ".join(o.value for o in TimelineOutcome)
        raise ScenarioError(f"{at}.expect: {exc} (allowed: {allowed})") from None
    kinds = [kind for kind in KINDS if kind in raw]
    if len(kinds) != 1:
        raise ScenarioError(f"{at}: exactly one of {', '.join(f'`{k}`' for k in KINDS)}")
    if kinds[0] != "arrive":
        return Event(str(raw["name"]), expect, kinds[0])
    arrive = raw["arrive"]
    if not isinstance(arrive, dict) or "span" not in arrive or "from" not in arrive:
        raise ScenarioError(f"{at}.arrive: a mapping with `span` (a number) and `from` (a folder)")
    unknown = set(arrive) - {"span", "from", "shift", "shuffle_labels"}
    if unknown:
        raise ScenarioError(f"{at}.arrive: unknown key(s) {', '.join(sorted(unknown))}")
    source = _path(arrive["from"], f"{at}.arrive.from")
    if not source.is_dir():
        raise ScenarioError(f"{at}.arrive.from: not a folder: {source}")
    shift = arrive.get("shift") or {}
    if not isinstance(shift, dict) or not all(isinstance(v, int | float) for v in shift.values()):
        raise ScenarioError(f"{at}.arrive.shift: a mapping of numeric column -> amount")
    return Event(
        str(raw["name"]),
        expect,
        "arrive",
        Arrival(int(arrive["span"]), source, {str(k): float(v) for k, v in shift.items()},
                bool(arrive.get("shuffle_labels", False))),
    )  # fmt: skip


def load_scenario(path: Path) -> Scenario:
    """Read and check a scenario file; raises ScenarioError naming what is wrong."""
    path = Path(path)
    raw = read_yaml(path, "scenario", ScenarioError)
    if not isinstance(raw, dict) or not isinstance(raw.get("events"), list) or not raw["events"]:
        raise ScenarioError(f"scenario {path}: a mapping with `contract` and a list of `events`")
    events = tuple(_event(e, f"events[{i}]") for i, e in enumerate(raw["events"]))
    return Scenario(
        name=str(raw.get("name", path.stem)),
        source=path,
        contract=_path(raw.get("contract"), "contract"),
        events=events,
    )


def arrive(arrival: Arrival, label: str, seed: int, spans_dir: Path) -> Path:
    """Write the arriving span into `spans_dir` (replacing an earlier delivery of the same
    span, as a corrected batch does); returns its folder."""
    target = Path(spans_dir) / span_folder(arrival.span)
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    files = Span(arrival.span, arrival.source).files
    if not files:
        raise ScenarioError(f"no .csv file in {arrival.source}")
    for source in files:
        rows = pd.read_csv(source, dtype=str, keep_default_na=False)
        for column, amount in arrival.shift.items():
            if column not in rows.columns:
                raise ScenarioError(f"shift: {source} has no column {column!r}")
            values = pd.to_numeric(rows[column], errors="coerce")
            shifted = (values + amount).round(6).map(lambda v: "" if pd.isna(v) else f"{v:g}")
            rows[column] = shifted.where(values.notna(), rows[column])
        if arrival.shuffle_labels:
            order = np.random.default_rng(seed).permutation(len(rows))
            rows[label] = rows[label].to_numpy()[order]
        rows.to_csv(staging / source.name, index=False)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def timeline_markdown(timeline: dict) -> str:
    """The timeline as a Markdown table: one row per event, one column per stack."""
    stacks_ = timeline["stacks"]
    lines = [
        "| step | event | " + " | ".join(stacks_) + " |",
        "|---|---|" + "---|" * len(stacks_),
    ]
    for row in timeline["events"]:
        cells = []
        for stack in stacks_:
            cell = row["stacks"].get(stack, {})
            text = cell.get("outcome", "")
            if cell.get("expected") not in (None, text):
                text += f" (expected {cell['expected']})"
            cells.append(text.replace("_", " "))
        lines.append(f"| {row['step']} | {row['event']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
