"""The serving log, the shipped traffic, and the refusals of `monitor`, `serve` and
`rollback`, without a server (tests/report/test_compare.py serves, replays and monitors
both stacks for real; the pipelines' tests roll back)."""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from components.shared.contract import REPO_ROOT
from components.shared.dataset import load_split
from components.shared.request_log import LogError, RequestLog, read
from components.shared.traffic import read as read_traffic
from components.shared.traffic import shifted, traffic_path
from pipelines.monitor import parse_since
from tests.conftest import needs_stacks, run_cli


def _append(path: str, version: str, rows: int) -> None:
    log = RequestLog(path, "test", "m", version)
    frame = pd.DataFrame({"x": [1.5] * 200, "s": ["a" * 500] * 200})  # long lines
    for _ in range(rows):
        log.append(frame, frame[["x"]])


def test_concurrent_writers_never_tear_a_line(tmp_path):
    path = str(tmp_path / "log.jsonl")
    with ProcessPoolExecutor(4) as pool:
        list(pool.map(_append, [path] * 4, ["1"] * 4, [25] * 4))
    lines = (tmp_path / "log.jsonl").read_text().splitlines()
    assert len(lines) == 100
    assert all(len(json.loads(line)["inputs"]) == 200 for line in lines)


def test_read_keeps_the_latest_version_and_the_window(tmp_path):
    path = tmp_path / "log.jsonl"
    log_v1, log_v2 = (RequestLog(path, "test", "m", v) for v in ("1", "2"))
    log_v1.append(pd.DataFrame({"x": [1.0, None]}), pd.DataFrame({"p": [0, 1]}))
    log_v2.append(pd.DataFrame({"x": [3.0]}), pd.DataFrame({"p": [0]}))
    log_v2.append(pd.DataFrame({"x": [4.0]}), pd.DataFrame({"p": [0]}))
    served = read(path)
    assert (served.version, served.requests, served.rows["x"].tolist()) == ("2", 2, [3.0, 4.0])
    later = datetime.now(timezone.utc) + timedelta(seconds=5)
    with pytest.raises(LogError, match="holds no requests since"):
        read(path, later)
    with pytest.raises(LogError, match="no serving log at"):
        read(tmp_path / "missing.jsonl")
    path.write_text(path.read_text() + "not json\n")
    with pytest.raises(LogError, match=r"log.jsonl:4 is not a serving-log line"):
        read(path)


def test_a_missing_value_stays_missing_in_the_log(tmp_path):
    path = tmp_path / "log.jsonl"
    RequestLog(path, "test", "m", "1").append(
        pd.DataFrame({"x": [float("nan")], "s": [None]}), pd.DataFrame({"p": ["a"]})
    )
    assert json.loads(path.read_text())["inputs"] == [{"x": None, "s": None}]


def test_since_takes_durations_and_iso_times():
    now = datetime.now(timezone.utc)
    assert abs((now - parse_since("30m")) - timedelta(minutes=30)) < timedelta(seconds=5)
    assert parse_since("2026-12-03T14:00+00:00") == datetime(2026, 12, 3, 14, tzinfo=timezone.utc)
    assert parse_since("2026-12-03T14:00").tzinfo is not None  # local time, made explicit
    with pytest.raises(ValueError, match="give a duration"):
        parse_since("yesterday")


def test_the_shipped_traffic_is_the_eval_split_and_its_shift(contract):
    """The committed files are what `python -m components.shared.traffic` makes now."""
    split = load_split(contract.path, contract)
    clean = read_traffic(traffic_path(contract, "clean"), contract)
    moved = read_traffic(traffic_path(contract, "shifted"), contract)
    features = [c.name for c in contract.features]
    expected = split.eval[features].astype(clean.dtypes.to_dict())
    pd.testing.assert_frame_equal(clean, expected, check_dtype=False)
    shift = shifted(split.eval, split.train, contract)[features].astype(moved.dtypes.to_dict())
    pd.testing.assert_frame_equal(moved, shift, check_dtype=False, atol=0.01)
    changed = [c for c in features if not clean[c].equals(moved[c])]
    assert changed == ["island", "bill_length_mm", "bill_depth_mm"]
    assert moved["island"].unique().tolist() == ["Torgersen"]  # the rarest island


@needs_stacks("lightning")
def test_monitor_without_a_serving_log_says_so(tmp_path):
    result = run_cli("monitor", "--stack", "lightning", "--workdir", tmp_path)
    assert result.returncode == 1
    assert "no serving log at" in result.stderr and "start `serve`" in result.stderr


@needs_stacks("lightning")
def test_monitor_refuses_too_few_rows_and_a_bad_window(tmp_path, contract):
    log = tmp_path / "serving_logs" / "lightning" / f"{contract.name}.jsonl"
    rows = read_traffic(traffic_path(contract, "clean"), contract).head(10)
    RequestLog(log, "test", contract.registered_model("lightning"), "1").append(rows, rows)
    result = run_cli("monitor", "--stack", "lightning", "--workdir", tmp_path)
    assert result.returncode == 1, result.stderr
    assert f"fewer than the contract's min_rows ({contract.min_rows})" in result.stderr
    result = run_cli("monitor", "--stack", "lightning", "--workdir", tmp_path, "--since", "soon")
    assert result.returncode == 1 and "give a duration" in result.stderr


@needs_stacks("lightning")
def test_replay_to_nothing_names_the_server_to_start(tmp_path):
    result = run_cli(
        "monitor", "--stack", "lightning", "--workdir", tmp_path, "--url", "http://127.0.0.1:9",
        "--replay", REPO_ROOT / "data" / "traffic" / "penguins-clean.csv",
    )  # fmt: skip
    assert result.returncode == 1
    assert "nothing answers at http://127.0.0.1:9" in result.stderr
    assert "python -m pipelines serve --stack lightning" in result.stderr


@needs_stacks("tfx", "lightning")  # litserve exists only with the Lightning wing
def test_serve_refuses_a_server_the_stack_does_not_offer(tmp_path):
    result = run_cli("serve", "--stack", "tfx", "--server", "litserve", "--workdir", tmp_path)
    assert result.returncode == 1
    assert "--server litserve is not one of tfx's servers (mlflow)" in result.stderr


@needs_stacks("lightning")
def test_rollback_without_a_store_or_a_champion_says_so_and_moves_nothing(tmp_path):
    result = run_cli("rollback", "--stack", "lightning", "--workdir", tmp_path)
    assert result.returncode == 1
    assert "rollback lightning: failed (exit 1): no MLflow store at" in result.stderr
    assert not (tmp_path / "mlflow").exists()  # reading never creates a store
