"""How processes are started and run: a child started with its job, and the memory
setting a process hands its children."""

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
