"""`python -m pipelines ui`: the MLflow UI on the workdir's store, on loopback by default."""

from __future__ import annotations

import ipaddress
import json
import os
import sys
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from components.shared.contract import Contract
from components.shared.layout import Workdir
from components.shared.processes import with_venv_on_path
from components.shared.tracking import REVIEW_VIEW, store_exists, tracking_uri

# MLflow 3.17's UI opens an experiment on its GenAI view unless the URL asks for this one.
TRAINING_VIEW = "workflowType=machine_learning"


def review_urls(base: str, experiment_id: str, compare: Sequence[str] = ()) -> dict[str, str]:
    """The UI pages a review of the stacks starts from: the runs table with the shared
    columns (the experiment's saved view), the Model Registry with every stack's
    champion, and, given run ids, those runs' metrics side by side."""
    urls = {
        "runs": f"{base}/#/experiments/{experiment_id}/runs?"
        f"viewStateShareKey={REVIEW_VIEW}&{TRAINING_VIEW}",
        "models": f"{base}/#/models",
    }
    if compare:
        runs = urllib.parse.quote(json.dumps(list(compare)))
        experiments = urllib.parse.quote(json.dumps([experiment_id]))
        urls["compare"] = f"{base}/#/compare-runs?runs={runs}&experiments={experiments}"
    return urls


def _experiment_id(contract: Contract, workdir: Workdir) -> str | None:
    if not store_exists(workdir):
        return None
    from mlflow import MlflowClient

    experiment = MlflowClient(tracking_uri(workdir)).get_experiment_by_name(contract.experiment)
    return experiment.experiment_id if experiment else None


def local_url(host: str, port: int) -> str:
    """Where a browser on this machine reaches a server bound to `host`:`port`."""
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"


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
    workdir: Workdir,
    contract: Contract,
    host: str = "127.0.0.1",
    port: int = 5000,
    verbose: bool = False,
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
    base = local_url(host, port)
    print(f"MLflow UI on {base} (Ctrl-C to stop)")
    experiment_id = _experiment_id(contract, workdir)
    if experiment_id is None:
        print(f"no runs of {contract.name} in this store yet")
    else:
        urls = review_urls(base, experiment_id)
        print(f"{contract.name}, every stack's runs side by side: {urls['runs']}")
        print(f"the champions in the Model Registry: {urls['models']}")
    sys.stdout.flush()
    sys.stderr.flush()
    env = with_venv_on_path()
    if not verbose:
        # Starlette's deprecation note about MLflow's own code, once per server process on
        # every start: not the user's to act on. --verbose shows it.
        env.setdefault("PYTHONWARNINGS", "ignore:starlette.middleware.wsgi is deprecated")
    argv = command(workdir, host, port)
    os.execve(argv[0], argv, env)
