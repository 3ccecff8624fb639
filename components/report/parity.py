"""Serving parity: every stack's published model answers the same raw JSON rows.

What each stack published is what its latest evaluated MLflow run recorded in its
`published_model` tag, read by format, never through a stack's code: a registered MLflow
model (`models:/...`) is served for real by `mlflow models serve` on loopback and asked
over HTTP; a TensorFlow SavedModel folder is scored through its raw-feature signature
(components/report/saved_model.py, in a subprocess, so this layer imports no TensorFlow).
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from components.shared.contract import REPO_ROOT, Contract
from components.shared.dataset import load_split
from components.shared.layout import Workdir
from components.shared.processes import stop_process, with_venv_on_path
from components.shared.tracking import scoring_server_command, tracking_uri


def raw_rows(contract: Contract, data: Path) -> tuple[list[dict], list[str]]:
    """The shared eval rows as JSON-ready dicts (missing values as null), and their labels."""
    eval_rows = load_split(data, contract).eval
    rows = []
    for record in eval_rows[[c.name for c in contract.features]].to_dict("records"):
        rows.append(
            {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in record.items()}
        )
    return rows, list(eval_rows[contract.label])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def saved_model_predictions(model_dir: Path, contract: Contract, rows: list[dict]) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "components.report.saved_model", "--contract",
         str(contract.source), str(model_dir)],
        input=json.dumps(rows),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=True,
    )  # fmt: skip
    return json.loads(result.stdout)["class"]


def served_predictions(
    model_uri: str, workdir: Workdir, rows: list[dict], timeout: float = 180
) -> list[str]:
    """Start `mlflow models serve` for `model_uri`, ask it, stop it."""
    port = _free_port()
    env = with_venv_on_path({**os.environ, "MLFLOW_TRACKING_URI": tracking_uri(workdir)})
    server = subprocess.Popen(
        scoring_server_command(model_uri, "127.0.0.1", port),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if server.poll() is not None:
                raise RuntimeError(
                    f"mlflow models serve exited {server.returncode}: "
                    + server.stderr.read().decode(errors="replace")[-2000:]
                )
            try:
                with urllib.request.urlopen(f"{url}/ping", timeout=2):
                    break
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"mlflow models serve did not answer in {timeout} s"
                    ) from exc
                time.sleep(0.5)
        request = urllib.request.Request(
            f"{url}/invocations",
            data=json.dumps({"dataframe_records": rows}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
        return [p["prediction"] for p in answer["predictions"]]
    finally:
        stop_process(server)


def _predictions(published: str, contract: Contract, workdir: Workdir, rows: list[dict]):  # noqa: ANN202
    """(how the model was asked, its classes) for what a stack's run says it published."""
    if published.startswith("models:/"):
        return "MLflow model over `mlflow models serve`", served_predictions(
            published, workdir, rows
        )
    if (Path(published) / "saved_model.pb").exists():
        return "TensorFlow SavedModel (serving_raw signature)", saved_model_predictions(
            Path(published), contract, rows
        )
    raise ValueError(f"cannot score {published}: neither a models:/ URI nor a SavedModel")


def measure_parity(contract: Contract, data: Path, workdir: Workdir) -> dict:
    """Ask every stack's published model the same eval rows; write and return
    <report dir>/parity.json."""
    import mlflow

    from components.report.collect import latest_runs

    mlflow.set_tracking_uri(tracking_uri(workdir))
    published = {
        stack: run.tags["published_model"]
        for stack, run in latest_runs(contract.experiment).items()
        if run.tags.get("published_model")
    }
    if len(published) < 2:
        raise FileNotFoundError(
            f"serving parity needs two published models; the runs in MLflow name {published}"
        )
    rows, labels = raw_rows(contract, data)
    models = {}
    classes = {}
    for stack, model in published.items():
        served_by, classes[stack] = _predictions(model, contract, workdir, rows)
        models[stack] = {
            "model": model,
            "served_by": served_by,
            "accuracy": sum(p == t for p, t in zip(classes[stack], labels, strict=True))
            / len(labels),
        }
    answers = list(zip(*classes.values(), strict=True))
    parity = {
        "rows": len(rows),
        "models": models,
        "agreement": sum(len(set(a)) == 1 for a in answers) / len(rows),
    }
    out_dir = workdir.report(contract)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "parity.json").write_text(json.dumps(parity, indent=2))
    accuracies = ", ".join(f"{s} accuracy {m['accuracy']:.3f}" for s, m in models.items())
    print(
        f"serving parity on {len(rows)} eval rows: {accuracies}, "
        f"agreement {parity['agreement']:.3f}"
    )
    return parity
