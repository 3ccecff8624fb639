"""`python -m pipelines ui`: the MLflow UI on the workdir's store, on loopback by default."""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path
from typing import NoReturn

from components.shared.layout import Workdir
from components.shared.tracking import tracking_uri


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def command(workdir: Workdir, host: str, port: int) -> list[str]:
    mlflow = str(Path(sys.executable).with_name("mlflow"))
    return [
        mlflow,
        "ui",
        "--backend-store-uri",
        tracking_uri(workdir),
        "--host",
        host,
        "--port",
        str(port),
    ]


def run(
    workdir: Workdir, host: str = "127.0.0.1", port: int = 5000, verbose: bool = False
) -> NoReturn:
    """Become the MLflow UI server (exec, not a child process): a SIGTERM sent to this
    command, by a supervisor or `kill`, then reaches the server itself, which would
    otherwise outlive the command and keep the port."""
    if not is_loopback(host):
        print(
            f"warning: serving the MLflow UI on {host}: anyone who can reach this port can "
            "read and change every run and model (MLflow has no authentication here)",
            file=sys.stderr,
        )
    print(f"MLflow UI on http://{host}:{port} (Ctrl-C to stop)", flush=True)
    sys.stderr.flush()
    # The UI starts uvicorn by name: the venv's bin must be on PATH.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    if not verbose:
        # Starlette's deprecation note about MLflow's own code, once per server process on
        # every start: not the user's to act on. --verbose shows it.
        env.setdefault("PYTHONWARNINGS", "ignore:starlette.middleware.wsgi is deprecated")
    argv = command(workdir, host, port)
    os.execve(argv[0], argv, env)
