"""Run one command as a child process and measure it whole: wall time, CPU time and
peak memory of the process and everything it starts (Beam workers, DDP ranks, TFX's
wheel builds)."""

from __future__ import annotations

import os
import statistics
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

SAMPLE_EVERY_S = 0.1


@dataclass(frozen=True)
class Sample:
    wall_s: float
    cpu_s: float  # user + system, the process and the children it waited for
    peak_rss_mb: float  # the largest sum of resident memory over the process tree
    returncode: int

    def as_dict(self) -> dict:
        return asdict(self)


def tree_rss(root: psutil.Process) -> int:
    total = 0
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def isolated_env() -> dict[str, str]:
    """The environment for measured runs: their own local stores, never a shared MLflow
    tracking server the caller may have set."""
    env = dict(os.environ)
    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        env.pop(key, None)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def run_measured(
    command: Sequence[str | os.PathLike],
    log_path: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Sample:
    """Run `command` to completion, its output appended to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    peak = 0
    done = threading.Event()
    with open(log_path, "ab") as log:
        log.write(f"$ {' '.join(map(str, command))}\n".encode())
        log.flush()
        started = time.monotonic()
        child = subprocess.Popen(
            [str(c) for c in command], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd
        )
        root = psutil.Process(child.pid)

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss(root))
                done.wait(SAMPLE_EVERY_S)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # wait4, not Popen.wait: it returns the child's resource usage, its own children's
        # included, which is what "the whole process" costs.
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - started
        done.set()
        sampler.join()
        child.returncode = os.waitstatus_to_exitcode(status)
    return Sample(
        wall_s=round(wall, 2),
        cpu_s=round(usage.ru_utime + usage.ru_stime, 2),
        peak_rss_mb=round(peak / 2**20, 1),
        returncode=child.returncode,
    )


def median_of(samples: Sequence[Sample]) -> dict[str, float]:
    """Medians of each measure over the repeats."""
    return {
        key: round(statistics.median(getattr(s, key) for s in samples), 2)
        for key in ("wall_s", "cpu_s", "peak_rss_mb")
    }


def machine() -> dict[str, str | int]:
    """What the figures were measured on, for the report and the README."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count() or 1,
        "memory_gib": round(psutil.virtual_memory().total / 2**30),
        "date": time.strftime("%Y-%m-%d"),
    }
