"""Serving parity: both stacks' served models answer the same raw JSON rows.

The TFX model is scored from the serving directory through its raw-feature signature
(in a subprocess, so this layer imports no TensorFlow); the MLflow champion is served
for real by `mlflow models serve` on loopback and asked over HTTP.
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
from components.shared.processes import stop_process
from components.shared.tracking import tracking_uri


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


def tfx_predictions(model_dir: Path, contract: Contract, rows: list[dict]) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "components.tfx.predict", "--contract", str(contract.source),
         str(model_dir)],
        input=json.dumps(rows),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=True,
    )  # fmt: skip
    return json.loads(result.stdout)["class"]


def served_champion_predictions(
    contract: Contract, workdir: Path, rows: list[dict], timeout: float = 180
) -> list[str]:
    """Start `mlflow models serve` for models:/<name>@champion, ask it, stop it."""
    port = _free_port()
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        # `mlflow models serve` starts uvicorn by name.
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
        "MLFLOW_TRACKING_URI": tracking_uri(workdir),
    }
    server = subprocess.Popen(
        [str(bin_dir / "mlflow"), "models", "serve", "-m",
         f"models:/{contract.registered_model}@champion", "--env-manager", "local",
         "-h", "127.0.0.1", "-p", str(port)],
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


def measure_parity(contract: Contract, data: Path, workdir: Path, out_dir: Path) -> dict:
    """Ask both served models the same eval rows; write and return parity.json."""
    from components.tfx.predict import latest_push

    model_dir = latest_push(Path(workdir) / "serving" / "tfx" / contract.name)
    if model_dir is None:
        raise FileNotFoundError(f"no pushed TFX model under {workdir}/serving/tfx")
    rows, labels = raw_rows(contract, data)
    tfx_classes = tfx_predictions(model_dir, contract, rows)
    lightning_classes = served_champion_predictions(contract, workdir, rows)

    def accuracy(predicted: list[str]) -> float:
        return sum(p == t for p, t in zip(predicted, labels, strict=True)) / len(labels)

    parity = {
        "rows": len(rows),
        "tfx_model": str(model_dir),
        "lightning_model": f"models:/{contract.registered_model}@champion",
        "tfx_accuracy": accuracy(tfx_classes),
        "lightning_accuracy": accuracy(lightning_classes),
        "agreement": sum(a == b for a, b in zip(tfx_classes, lightning_classes, strict=True))
        / len(rows),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "parity.json").write_text(json.dumps(parity, indent=2))
    print(
        f"serving parity on {len(rows)} eval rows: TFX accuracy {parity['tfx_accuracy']:.3f}, "
        f"Lightning accuracy {parity['lightning_accuracy']:.3f}, "
        f"agreement {parity['agreement']:.3f}"
    )
    return parity
