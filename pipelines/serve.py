"""`python -m pipelines serve --stack NAME [--server mlflow|...]`: a stack's champion
behind HTTP, from the MLflow Model Registry, with MLflow's own scoring server (`mlflow
models serve`) or with a server the stack's wing offers (stacks.toml, `servers`: LitServe
for Lightning).

Every stack registers what it publishes as `<model_name>-<stack>` with the same raw-row
signature (components/shared/tracking.py), so one server serves any stack's champion
and answers alike: POST /invocations {"dataframe_records": [{column: value, ...}]} ->
{"predictions": [{"prediction": class, "prob_<class>": p, ...}]}. MLflow checks each
request against the signature and answers 400 with the reason when it does not fit.

What is served is the champion version found at start; every answered request is
appended to <workdir>/serving_logs/<stack>/<dataset>.jsonl (components/shared/
request_log.py; MLflow's server through the wrapper in components/shared/logged_model.py).
Restart `serve` to serve a newer champion.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from pathlib import Path
from typing import NoReturn

from components.shared import stacks
from components.shared.contract import REPO_ROOT, Contract
from components.shared.layout import Workdir
from components.shared.outcome import ExitCode
from components.shared.processes import run_as_group, with_venv_on_path
from components.shared.tracking import (
    CHAMPION,
    champion_version,
    scoring_server_command,
    store_exists,
    tracking_uri,
)
from components.shared.traffic import SERVE_PORT
from pipelines.ui import is_loopback, local_url

DEFAULT_PORT = SERVE_PORT
LOGGED_MODEL_CODE = REPO_ROOT / "components" / "shared" / "logged_model.py"


def logged_model(contract: Contract, workdir: Workdir, stack: str, version: str) -> Path:
    """The champion version wrapped to log every request (built once per version): a
    local MLflow model folder, with the champion's own signature."""
    import mlflow

    name = contract.registered_model(stack)
    folder = workdir.logged_model(stack, contract)
    target = folder / f"v{version}"
    if (target / "MLmodel").exists():
        return target
    mlflow.set_tracking_uri(tracking_uri(workdir))
    mlflow.set_registry_uri(tracking_uri(workdir))
    champion = f"models:/{name}/{version}"
    shutil.rmtree(folder, ignore_errors=True)  # wrappers of earlier champions
    folder.mkdir(parents=True)
    # No input example on purpose: MLflow would load the champion to check it.
    warnings.filterwarnings("ignore", "An input example was not provided")
    mlflow.pyfunc.save_model(
        path=str(target),
        python_model=str(LOGGED_MODEL_CODE),
        model_config={
            "model_uri": champion,
            "name": name,
            "version": version,
            "log": str(workdir.serving_log(stack, contract).resolve()),
        },
        signature=mlflow.models.get_model_info(champion).signature,
    )
    return target


def current_champion(contract: Contract, stack: str, workdir: Workdir) -> str | None:
    """The version number under the stack's `champion` alias, or None (no store, no model,
    no alias yet); creates no store."""
    if not store_exists(workdir):
        return None
    from mlflow import MlflowClient

    uri = tracking_uri(workdir)
    champion = champion_version(
        MlflowClient(uri, registry_uri=uri), contract.registered_model(stack)
    )
    return None if champion is None else str(champion.version)


def run(
    contract: Contract,
    workdir: Workdir,
    stack: str,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    server: str = "mlflow",
) -> int | NoReturn:
    """Become MLflow's scoring server of the stack's champion (exec, as `ui` does, so a
    SIGTERM reaches the server itself), or run a wing's server as a process group that
    Ctrl-C or SIGTERM stops whole; exit 1 when the stack has no champion yet, or does not
    offer `server`."""
    offered = stacks.load()[stack].servers
    if server != "mlflow" and server not in offered:
        print(
            f"{stack}: failed (exit 1): --server {server} is not one of {stack}'s servers "
            f"(mlflow{''.join(', ' + name for name in offered)})",
            file=sys.stderr,
        )
        return ExitCode.ERROR
    version = current_champion(contract, stack, workdir)
    if version is None:
        print(
            f"{stack}: failed (exit 1): {contract.registered_model(stack)} has no {CHAMPION} "
            f"in {tracking_uri(workdir)}: run `make run-{stack}` (or `python -m pipelines "
            f"{stack}`) with this --workdir first",
            file=sys.stderr,
        )
        return ExitCode.ERROR
    if not is_loopback(host):
        print(
            f"warning: serving on {host}: anyone who can reach this port can query the model "
            "(no authentication here)",
            file=sys.stderr,
        )
    name = contract.registered_model(stack)
    log = workdir.serving_log(stack, contract)
    if server == "mlflow":
        argv = scoring_server_command(
            str(logged_model(contract, workdir, stack, version)), host, port
        )
    else:
        argv = [sys.executable, "-m", offered[server], "--model-uri", f"models:/{name}/{version}",
                "--name", name, "--version", version, "--log", str(log),
                "--host", host, "--port", str(port)]  # fmt: skip
    base = local_url(host, port)
    print(f"serving {name} version {version} ({CHAMPION}) with {server} on {base} (Ctrl-C to stop)")
    print(f"every request is logged to {log}")
    print(
        f"try: curl -s {base}/invocations -H 'Content-Type: application/json' -d "
        f"'{{\"dataframe_records\": [{{{_example(contract)}}}]}}'",
        flush=True,
    )
    # The servers import the request log from this tree (components/shared).
    path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
    env = with_venv_on_path(
        {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri(workdir), "PYTHONPATH": path}
    )
    if server == "mlflow":
        os.execve(argv[0], argv, env)
    return run_as_group(argv, env)


def _example(contract: Contract) -> str:
    """One raw row of the contract as JSON members: mid-range numbers, first categories."""
    members = []
    for column in contract.features:
        if column.is_numeric:
            low, high = column.min or 0.0, column.max or 0.0
            members.append(f'"{column.name}": {round((low + high) / 2, 2)}')
        elif column.domain:
            members.append(f'"{column.name}": "{column.domain[0]}"')
    return ", ".join(members)
