"""Stopping a child process the same way everywhere (served models, test servers)."""

from __future__ import annotations

import subprocess


def stop_process(proc: subprocess.Popen, timeout: float = 20) -> None:
    """Ask `proc` to stop (SIGTERM), wait up to `timeout` s, then kill it and reap it."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
