"""How processes are started and run: a child handed one job, started with it or ahead
of it, and the memory setting a process hands its children."""

from __future__ import annotations

import os
import subprocess
import sys

from components.shared.contract import REPO_ROOT
from components.shared.processes import JobChild


def test_a_job_child_starts_with_its_job_and_an_unused_one_never_starts_or_opens_files():
    child = JobChild("json.tool", [])
    assert child._child is None
    assert child.send({"job": 1})
    code, stdout, _ = child.wait(timeout=60)
    assert code == 0 and '"job": 1' in stdout
    unused = JobChild("json.tool", [])
    unused.cancel()
    assert unused._child is None and unused._files is None  # no process, no files
    broken = JobChild("no_such_module_here", [])
    assert broken.send({"job": 1})  # started; python says why it stopped
    code, _, last = broken.wait(timeout=60)
    assert code != 0 and "No module named no_such_module_here" in last


def test_a_job_child_started_ahead_prepares_then_takes_its_job_or_exits_unused(monkeypatch):
    # The child prepares (here: sleeps), then prints its environment's marker and its job.
    script = (
        "import json, os, sys, time; time.sleep(0.5); line = sys.stdin.readline();"
        "print(os.environ.get('JOB_CHILD_MARK'), json.loads(line) if line else None)"
    )
    monkeypatch.setenv("JOB_CHILD_MARK", "at-construction")
    ahead = JobChild("job_child_probe", [])
    ahead._argv = [sys.executable, "-c", script]
    monkeypatch.setenv("JOB_CHILD_MARK", "changed-later")  # e.g. a run's temporary dir
    ahead.start()
    assert ahead._child is not None
    assert ahead.send({"job": 2})
    code, stdout, _ = ahead.wait(timeout=60)
    assert (code, stdout.strip()) == (0, "at-construction {'job': 2}")

    unused = JobChild("job_child_probe", [])
    unused._argv = [sys.executable, "-c", script]
    unused.start()
    unused.cancel(let_it_prepare=True)  # prepared in full, then no job: a clean exit
    assert unused._child.returncode == 0

    stopped = JobChild("job_child_probe", [])
    stopped._argv = [sys.executable, "-c", script]
    stopped.start()
    stopped.cancel()  # preparing or not: killed
    assert stopped._child.returncode < 0


def test_freed_memory_goes_back_to_the_os_in_the_process_and_its_children_unless_set():
    probe = (
        "import os, subprocess, sys;"
        "from components.shared.processes import return_freed_memory_promptly as r; r();"
        "print(subprocess.run([sys.executable, '-c', "
        "'import os; print(os.environ.get(\"MALLOC_TRIM_THRESHOLD_\"))'],"
        " capture_output=True, text=True).stdout.strip())"
    )

    def child_sees(env: dict[str, str]) -> str:
        return subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True,
            cwd=REPO_ROOT, env=env,
        ).stdout.strip()  # fmt: skip

    env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    assert child_sees(env) == "0"
    assert child_sees({**env, "MALLOC_TRIM_THRESHOLD_": "1048576"}) == "1048576"
