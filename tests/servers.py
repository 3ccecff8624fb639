"""Real servers for the tests: an MLflow tracking server on loopback, headless Chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from components.shared.processes import stop_process, with_venv_on_path

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 90, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def env_with_venv() -> dict[str, str]:
    """MLflow starts uvicorn/gunicorn by name: the venv's bin must be on PATH."""
    return with_venv_on_path()


@contextlib.contextmanager
def mlflow_server(root: Path, backend_store_uri: str | None = None) -> Iterator[str]:
    """`mlflow server` on a free loopback port, its store in `backend_store_uri` (default:
    SQLite under `root`); yields its URL."""
    port = free_port()
    log = open(root / "mlflow-server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            str(VENV_BIN / "mlflow"),
            "server",
            "--backend-store-uri",
            backend_store_uri or f"sqlite:///{root / 'server.db'}",
            "--artifacts-destination",
            str(root / "server-artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env=env_with_venv(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health", proc=proc)
        yield url
    finally:
        stop_process(proc)
        log.close()


def postgres_bindir() -> Path | None:
    """The PostgreSQL server binaries (initdb, pg_ctl): Debian/Ubuntu keep them per
    version under /usr/lib/postgresql, other systems on PATH."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent  # links such as /usr/local/bin/pg_ctl
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3])
    )
    return versions[-1].parent if versions else None


@contextlib.contextmanager
def postgres_server(database: str = "mlflow", user: str = "mlflow") -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a free loopback port, with `database` owned by
    `user` (trust authentication: loopback only, deleted afterwards); yields its
    postgresql:// URI. PostgreSQL refuses to run as root, so as root the cluster belongs
    to the `postgres` system user."""
    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError("no PostgreSQL server binaries (Debian: apt-get install postgresql)")
    # Not under pytest's tmp_path: the postgres user must be able to reach the folder.
    data = Path(tempfile.mkdtemp(prefix="tvl-postgres-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    cluster, port = data / "cluster", free_port()

    def run(*command: str) -> None:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = data / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(command)} exited {done.returncode}: {done.stderr.strip()}\n{tail}"
            )

    try:
        run(*as_owner, str(bindir / "initdb"), "-D", str(cluster), "-U", user,
            "--auth=trust", "-E", "UTF8", "--no-sync")  # fmt: skip
        run(*as_owner, str(bindir / "pg_ctl"), "start", "-w", "-D", str(cluster),
            "-l", str(data / "server.log"),
            "-o", f"-h 127.0.0.1 -p {port} -k {data} -F")  # fmt: skip
        try:
            run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", user,
                database)  # fmt: skip
            yield f"postgresql://{user}@127.0.0.1:{port}/{database}"
        finally:
            run(*as_owner, str(bindir / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(cluster))
    finally:
        shutil.rmtree(data, ignore_errors=True)
