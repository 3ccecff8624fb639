"""Starting and stopping processes the same way everywhere: how a child is stopped
(served models, test servers) and how a process that loaded TensorFlow, Beam or torch
exits."""

from __future__ import annotations

import ctypes
import fcntl
import gc
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, NoReturn

from components.shared import speedups


@contextmanager
def exclusive_lock(path: Path) -> Iterator[bool]:
    """Hold an exclusive lock on `path` for the block; yields False at once when another
    process holds it. The kernel drops it when the holder dies, even by SIGKILL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def with_venv_on_path(env: dict[str, str] | None = None) -> dict[str, str]:
    """`env` (default: this process's) with this interpreter's bin folder first on PATH:
    MLflow's servers start uvicorn and gunicorn by name."""
    env = dict(os.environ if env is None else env)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    return env


def stop_process(proc: subprocess.Popen, timeout: float = 20) -> None:
    """Ask `proc` to stop (SIGTERM), wait up to `timeout` s, then kill it and reap it."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def stop_group(pgid: int, timeout: float = 20) -> None:
    """SIGTERM every process of group `pgid`, then SIGKILL what is left after `timeout` s."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def run_as_group(argv: list[str], env: dict[str, str]) -> int:
    """Run `argv` in a process group of its own until it exits, or until this process
    gets SIGINT or SIGTERM: then the whole group is stopped. For servers whose children
    ignore SIGINT and outlive a SIGTERM to their parent (LitServe's workers)."""
    proc = subprocess.Popen(argv, env=env, start_new_session=True)

    def stop(signum: int, frame: object) -> None:
        # Only signal here: the group's leader stays a zombie until wait() below reaps it.
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stop_group(proc.pid)  # workers left by a parent that died on its own
    return 0 if code in (-signal.SIGTERM, -signal.SIGINT) else code


# mallopt's parameter number for the trim threshold (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1


def return_freed_memory_promptly() -> None:
    """Have glibc hand freed heap memory back to the OS at once, in this process and,
    through the environment, in the processes it starts.

    By default glibc keeps freed memory for reuse up to a trim threshold that grows with
    the largest block freed (to 32 MiB), and serves blocks under a likewise growing mmap
    threshold from that heap: a run that parses, splits and copies a large file carries
    that freed memory into its peak. Threshold 0 is `MALLOC_TRIM_THRESHOLD_=0`, Dask's
    remedy for the same problem; a value the user set is kept. Not glibc: nothing to do.
    The price: every large block is then a fresh mapping of zeroed pages, which slows a
    process that allocates and frees them at a high rate.
    """
    if "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return
    os.environ["MALLOC_TRIM_THRESHOLD_"] = "0"
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(_M_TRIM_THRESHOLD, 0)


def exit_without_final_collection(code: int) -> NoReturn:
    """Exit with `code`, skipping the interpreter's last garbage collection.

    TensorFlow, Beam and torch leave hundreds of thousands of objects behind; collecting
    them at shutdown took 2 s here after the work was done (and a parent waiting for
    its child's exit waited for it too). Frozen objects are left to the OS; atexit
    handlers, buffered output and logging still run as usual.
    """
    if speedups.enabled("exit-without-gc"):
        gc.disable()
        gc.freeze()
    sys.exit(code)


class JobChild:
    """`python -m MODULE ARGS`, handed one job (a JSON line on its stdin), so that the
    parent can do other work, or wait for several, meanwhile; and a child, not a thread,
    where the job can abort its process. The child calls `lower_priority()` first, then
    prepares (imports, opens what it writes to) and reads the job with `read_job()`.
    Started ahead of its job (`start`), it prepares while the parent still works;
    otherwise it starts with its job (`send`).

    Its output goes to files, not pipes: a chatty child must not block on a full pipe
    while the parent is busy elsewhere.
    """

    def __init__(self, module: str, args: list[str], log: Path | None = None) -> None:
        """`log`: a file to append the child's stderr to (default: a temporary one). The
        child gets the environment as it is now, whenever it starts: what the parent sets
        for a while (a temporary directory it deletes after) is not the child's."""
        self._cwd = Path(__file__).resolve().parents[2]
        self._argv = [sys.executable, "-m", module, *args]
        self._env = {**os.environ, "PYTHONPATH": str(self._cwd)}
        self._log_path = None if log is None else Path(log)
        self._files: tuple[IO[str], IO[str]] | None = None  # (stdout, stderr), once started
        self._child: subprocess.Popen | None = None
        self._sent = self._waited = False
        self.error: str | None = None

    def start(self) -> None:
        """Start the child ahead of its job (once): its preparation overlaps the parent's
        work, and `send` then only hands the job over."""
        if self._files is None:
            self._start()

    def _start(self) -> None:
        out = tempfile.TemporaryFile(mode="w+")
        if self._log_path is None:
            log = tempfile.TemporaryFile(mode="w+")
        else:
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
            log = open(self._log_path, "a+")  # noqa: SIM115 - closed in wait()
        self._files = out, log
        try:
            self._child = subprocess.Popen(
                self._argv,
                cwd=self._cwd,
                env=self._env,
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=log,
                text=True,
            )
        except OSError as exc:
            self.error = f"{type(exc).__name__}: {exc}"

    def send(self, job: dict) -> bool:
        """Hand the child its job (once), starting it unless `start` did; False when it
        could not start (`error`)."""
        self.start()
        if self._child is None:
            return False
        self._sent = True
        try:
            self._child.stdin.write(json.dumps(job) + "\n")
            self._child.stdin.close()
        except OSError:  # it died before reading: its stderr says why, in wait()
            pass
        return True

    def wait(self, timeout: float = 900) -> tuple[int, str, str]:
        """(exit code, stdout, the last lines of stderr) once the child has exited; a
        child still running after `timeout` s is killed."""
        self._waited = True
        if self._child is None:  # never started: no job, or it could not start
            self._close_files()
            return (0, "", "") if self.error is None else (1, "", self.error)
        if not self._sent:  # started ahead of a job that never came: it exits unused
            self._child.stdin.close()
        try:
            self._child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()
        out, log = self._files
        out.seek(0)
        log.seek(0)  # an appended log: its last lines are still this child's
        stdout, last = out.read(), " | ".join(log.read().strip().splitlines()[-3:])
        self._close_files()
        return self._child.returncode, stdout, last

    def cancel(self, let_it_prepare: bool = False) -> None:
        """Stop a child not waited for, and close its files. A child that has its job is
        killed; so is one still preparing, unless `let_it_prepare`: then it finishes its
        preparation and exits unused (for a preparation that must not be cut short)."""
        if self._waited:
            return
        if self._child is not None and (self._sent or not let_it_prepare):
            self._child.kill()
        self.wait()

    def _close_files(self) -> None:
        for file in self._files or ():
            file.close()


def lower_priority() -> None:
    """In the child of a JobChild, first: its job must not take CPU from the parent's own
    work, which may go on while the child runs."""
    try:
        os.nice(10)
    except OSError:
        pass


def read_job() -> dict | None:
    """In the child of a JobChild: the job, or None when its stdin was closed empty."""
    line = sys.stdin.readline()
    return json.loads(line) if line.strip() else None
