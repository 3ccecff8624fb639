"""The serving log: what a served champion was asked and what it answered, one JSON line
per request in <workdir>/serving_logs/<stack>/<dataset>.jsonl (Workdir.serving_log).

Every server writes it the same way (MLflow's scoring server through
components/shared/logged_model.py, LitServe through the Lightning wing), so `monitor`
reads one format: {"time", "server", "model", "version", "inputs", "outputs"}, `time` in
ISO 8601 with milliseconds and the UTC offset. A line is written with one write(2) to a
file opened O_APPEND: concurrent requests never interleave partial lines, and a crash
loses at most the request being answered.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as JSON-ready rows; NaN becomes null, so a missing value stays missing."""
    return json.loads(frame.to_json(orient="records", double_precision=15))


class RequestLog:
    """Appends one line per answered request; safe across threads and processes."""

    def __init__(self, path: str | Path, server: str, model: str, version: str) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._lock = threading.Lock()  # one write at a time from this process's threads
        self._about = {"server": server, "model": model, "version": str(version)}

    def append(self, inputs: pd.DataFrame, outputs: pd.DataFrame) -> None:
        line = {
            "time": now(),
            **self._about,
            "inputs": records(inputs),
            "outputs": records(pd.DataFrame(outputs)),
        }
        data = (json.dumps(line) + "\n").encode()
        with self._lock:
            os.write(self._fd, data)


class LogError(ValueError):
    """The serving log is missing, empty for the asked window, or not a serving log."""


@dataclass(frozen=True)
class Served:
    """The requests of one model version in a window: their input rows, flattened."""

    rows: pd.DataFrame
    requests: int
    version: str
    first: str
    last: str


def read(path: Path, since: datetime | None = None) -> Served:
    """The rows the latest served version answered (since `since`, when given). Older
    versions' traffic is left out: it was judged against another training set."""
    if not path.exists():
        raise LogError(f"no serving log at {path}: start `serve` and send it requests first")
    lines = []
    with open(path) as fh:
        for number, text in enumerate(fh, 1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
                stamp = datetime.fromisoformat(line["time"])
            except (ValueError, KeyError) as exc:
                raise LogError(f"{path}:{number} is not a serving-log line ({exc})") from exc
            if since is None or stamp >= since:
                lines.append(line)
    window = f" since {since.isoformat()}" if since else ""
    if not lines:
        raise LogError(f"{path} holds no requests{window}")
    version = lines[-1]["version"]
    lines = [line for line in lines if line["version"] == version]
    rows = pd.DataFrame([row for line in lines for row in line["inputs"]])
    return Served(rows, len(lines), version, lines[0]["time"], lines[-1]["time"])
