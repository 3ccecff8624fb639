"""`python -m pipelines monitor --stack NAME`: is the champion asked what it was trained
on?

Reads the serving log `serve` writes (components/shared/request_log.py), keeps the
requests the latest served version answered (since --since, when given), and hands their
rows to the stack's own check (stacks.toml, `monitor`): TFX compares them with the
training statistics through TFDV's skew comparators, Lightning with its drift check.
Thresholds come from the contract's `drift` section. Writes an HTML report, records a
monitoring run in MLflow (tagged with the stack and the model version), prints each
feature's distance and exits 0 (no skew) or 2 (skew).

`--replay FILE` first sends FILE's rows (data/traffic/, components/shared/traffic.py)
through a running `serve` and then judges exactly those requests.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from components.shared import stacks, traffic
from components.shared.contract import Contract
from components.shared.layout import Workdir
from components.shared.monitoring import record
from components.shared.outcome import ExitCode
from components.shared.request_log import LogError, read
from components.shared.tracking import store_exists, tracking_uri

_RELATIVE = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str) -> datetime:
    """`30m`, `2h`, `1d` (that long ago) or an ISO time (local when it names no offset)."""
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = relative.groups()
        return datetime.now(timezone.utc) - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--since {text!r}: give a duration (30m, 2h, 1d) or an ISO time " "(2026-12-03T14:00)"
        ) from None
    return moment if moment.tzinfo else moment.astimezone()


def _fail(stack: str, message: str) -> int:
    print(f"monitor {stack}: failed (exit 1): {message}", file=sys.stderr)
    return ExitCode.ERROR


def run(
    contract: Contract,
    workdir: Workdir,
    stack: str,
    since: str | None = None,
    replay: Path | None = None,
    url: str = traffic.DEFAULT_URL,
) -> int:
    """Judge the served traffic of `stack`'s champion; 0 no skew, 2 skew, 1 cannot judge.
    `since`: parse_since's text."""
    try:
        start = parse_since(since) if since else None
    except ValueError as exc:
        return _fail(stack, str(exc))
    if replay is not None:
        try:
            rows = traffic.read(replay, contract)
        except (OSError, ValueError) as exc:
            return _fail(stack, str(exc))
        start = datetime.now(timezone.utc)
        try:
            sent = traffic.send(rows, url)
        except ConnectionError as exc:
            return _fail(stack, f"{exc}; start `python -m pipelines serve --stack {stack}` first")
        except RuntimeError as exc:
            return _fail(stack, str(exc))
        print(f"monitor {stack}: replayed {len(rows)} rows of {replay} in {sent} requests")
    log = workdir.serving_log(stack, contract)
    try:
        served = read(log, start)
    except LogError as exc:
        hint = f" (does {url} serve {stack}'s champion from this --workdir?)" if replay else ""
        return _fail(stack, f"{exc}{hint}")
    name = contract.registered_model(stack)
    if len(served.rows) < contract.min_rows:
        # A small sample's histogram is far from any other by itself.
        return _fail(
            stack,
            f"{len(served.rows)} rows served to {name} version {served.version}"
            f"{' since ' + since if since else ''}: fewer than the contract's min_rows "
            f"({contract.min_rows}) are too few to judge",
        )
    if not store_exists(workdir):
        return _fail(stack, f"no MLflow store at {tracking_uri(workdir)}")
    import mlflow

    # MLflow draws a progress bar for every artifact it downloads.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = tracking_uri(workdir)
    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient(uri, registry_uri=uri)
    try:
        version = client.get_model_version(name, served.version)
        training_run = client.get_run(version.run_id)
    except mlflow.exceptions.MlflowException as exc:
        return _fail(stack, f"{name} version {served.version} in {uri}: {exc.message}")
    out_dir = workdir.monitoring(stack, contract) / time.strftime("%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        check = importlib.import_module(stacks.load()[stack].monitor).check(
            contract, workdir, served, training_run, out_dir
        )
    except FileNotFoundError as exc:  # what the check compares with is gone
        return _fail(stack, str(exc))
    run_id = record(contract, workdir, stack, name, served, check)
    print(
        f"monitor {stack}: {served.requests} requests ({len(served.rows)} rows) to {name} "
        f"version {served.version}, {served.first} .. {served.last}, against its training "
        f"data with {check.method}:"
    )
    for distance in check.distances:
        print(f"  {'SKEW ' if distance.skewed else 'ok   '}{distance}")
    for note in check.notes:
        print(f"  note: {note}")
    print(f"monitor {stack}: report {check.report}; MLflow run {run_id}")
    if check.skewed:
        features = ", ".join(sorted({d.feature for d in check.skewed}))
        print(f"monitor {stack}: skew (exit 2): {features}", file=sys.stderr)
        return ExitCode.DATA_INVALID
    print(f"monitor {stack}: no skew (exit 0)")
    return ExitCode.OK
