"""`python -m pipelines replay --scenario FILE`: play a day-two scenario into a fresh
workdir and check each stack's outcome after each event.

For each event of the scenario (components/shared/scenario.py): a span arrives in
<workdir>/arrived/ (the spans so far), then every stack present runs on that folder as a
user would (`python -m pipelines <stack> --data <workdir>/arrived`); or every stack rolls
back (`python -m pipelines rollback --stack <stack>`). Each run's MLflow runs are tagged
with the scenario, the event and its step, and the outcome the replay saw. The timeline
(event x stack) is printed, written to <workdir>/replay/timeline.{json,md}, and shown by
the report; the exit code is 1 when any outcome differs from the expected one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from components.shared import stacks
from components.shared.contract import REPO_ROOT, load_contract
from components.shared.layout import Workdir
from components.shared.outcome import ExitCode
from components.shared.scenario import (
    EVENT_TAG,
    SCENARIO_TAG,
    SEEN_TAG,
    STEP_TAG,
    Event,
    Scenario,
    ScenarioError,
    TimelineOutcome,
    arrive,
    classify,
    load_scenario,
    timeline_markdown,
)
from components.shared.tracking import tracking_uri


def _fail(message: str) -> int:
    print(f"replay: failed (exit 1): {message}", file=sys.stderr)
    return ExitCode.ERROR


def _cli(args: list[str], log: Path) -> tuple[int, str]:
    """Run `python -m pipelines ARGS`, its output into `log`; (exit code, last line)."""
    with open(log, "w") as out:
        code = subprocess.run(
            [sys.executable, "-m", "pipelines", *args],
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        ).returncode
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    return code, (lines[-1] if lines else "")


def _tag_runs(workdir: Workdir, experiment: str, since_ms: int, tags: dict[str, str]) -> int:
    """Tag the MLflow runs that started since `since_ms` (one event's runs); how many."""
    import mlflow

    uri = tracking_uri(workdir)
    client = mlflow.MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return 0
    runs = client.search_runs(
        [found.experiment_id], filter_string=f"attributes.start_time >= {since_ms}"
    )
    for run in runs:
        for key, value in tags.items():
            client.set_tag(run.info.run_id, key, value)
    return len(runs)


def _play(
    event: Event, step: int, scenario: Scenario, present: list[str], workdir: Workdir
) -> dict[str, dict]:
    """One event: the data change, then every stack; {stack: {outcome, expected, line}}."""
    contract = load_contract(scenario.contract)
    arrived = workdir.root / "arrived"
    if event.arrival is not None:
        arrive(event.arrival, contract.label, contract.split_seed + step, arrived)
    logs = workdir.root / "replay" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    cells = {}
    for stack in present:
        common = ["--contract", str(scenario.contract), "--workdir", str(workdir.root)]
        if event.kind == "rollback":
            args = ["rollback", "--stack", stack, *common]
        else:
            args = [stack, *common, "--data", str(arrived)]
        started_ms = int(time.time() * 1000)
        started = time.monotonic()
        code, line = _cli(args, logs / f"{step:02d}-{stack}.log")
        if event.kind == "rollback":
            seen = TimelineOutcome.ROLLED_BACK if code == ExitCode.OK else TimelineOutcome.ERROR
        else:
            seen = classify(code, line)
        expected = event.expect.get(stack)
        _tag_runs(workdir, contract.experiment, started_ms, {
            SCENARIO_TAG: scenario.name, EVENT_TAG: event.name, STEP_TAG: str(step),
            SEEN_TAG: seen.value,
        })  # fmt: skip
        mark = "ok" if expected in (None, seen) else f"EXPECTED {expected}"
        print(
            f"replay [{step}] {event.name} | {stack}: {seen} "
            f"({time.monotonic() - started:.0f} s) {mark}",
            flush=True,
        )
        if seen != expected and expected is not None:
            print(f"  {stack} said: {line}", flush=True)
        cells[stack] = {
            "outcome": seen.value,
            "expected": None if expected is None else expected.value,
            "exit_code": code,
            "last_line": line,
        }
    return cells


def run(scenario_path: Path, workdir: Workdir) -> int:
    try:
        scenario = load_scenario(scenario_path)
    except ScenarioError as exc:
        return _fail(str(exc))
    if workdir.root.exists() and any(workdir.root.iterdir()):
        return _fail(
            f"{workdir.root} is not empty: a scenario plays into a fresh workdir, so that its "
            "outcomes depend on its events only (remove it, or pass another --workdir)"
        )
    # A stack `expect` names but stacks.toml does not is ignored: a project that dropped
    # a wing keeps the shipped scenario as it is.
    present = list(stacks.load())
    if not any(stack in present for e in scenario.events for stack in e.expect):
        return _fail(f"{scenario.source}: `expect` names none of the stacks here: {present}")
    print(
        f"replay {scenario.name}: {len(scenario.events)} events x {', '.join(present)} "
        f"-> {workdir.root}",
        flush=True,
    )
    rows = []
    for step, event in enumerate(scenario.events, start=1):
        try:
            cells = _play(event, step, scenario, present, workdir)
        except ScenarioError as exc:  # an arrival the data cannot make, e.g. a shifted column
            return _fail(f"[{step}] {event.name}: {exc}")
        rows.append({"step": step, "event": event.name, "kind": event.kind, "stacks": cells})
    timeline = {"scenario": scenario.name, "stacks": present, "events": rows}
    out = workdir.root / "replay"
    (out / "timeline.json").write_text(json.dumps(timeline, indent=2))
    (out / "timeline.md").write_text(timeline_markdown(timeline))
    print(timeline_markdown(timeline), end="")
    differ = [
        f"[{r['step']}] {r['event']} / {stack}: {c['outcome']}, expected {c['expected']}"
        for r in rows
        for stack, c in r["stacks"].items()
        if c["expected"] not in (None, c["outcome"])
    ]
    if differ:
        for line in differ:
            print(f"  {line}", file=sys.stderr)
        return _fail(
            f"{len(differ)} outcome(s) differ from {scenario.source.name}; logs in {out / 'logs'}"
        )
    print(f"replay {scenario.name}: every outcome as expected; timeline in {out / 'timeline.md'}")
    return ExitCode.OK
