"""`python -m pipelines report`: the side-by-side report from what both pipelines recorded."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import mlflow

from components.report import claims, collect, footprint, render
from components.shared.contract import Contract
from components.shared.tracking import tracking_uri
from pipelines.exit_codes import ExitCode


def report_dir(workdir: Path, contract: Contract) -> Path:
    return Path(workdir) / "report" / contract.name


def run(contract: Contract, workdir: Path) -> int:
    # MLflow draws a progress bar for every artifact it downloads (the confusion matrices).
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = tracking_uri(workdir)
    store = Path(workdir) / "mlflow" / "mlflow.db"
    # Reading must not create an empty store where the user mistyped the workdir.
    runs = {}
    if not uri.startswith("sqlite:") or store.exists():
        mlflow.set_tracking_uri(uri)
        runs = collect.latest_runs(contract.experiment)
    if not runs:
        print(
            f"error: no evaluated pipeline run in MLflow experiment '{contract.experiment}' "
            f"at {uri}; run `python -m pipelines all --workdir {workdir}` first",
            file=sys.stderr,
        )
        return ExitCode.ERROR
    out = report_dir(workdir, contract)
    parity_file = out / "parity.json"
    parity = json.loads(parity_file.read_text()) if parity_file.exists() else None
    md_path, html_path = render.write(
        out,
        runs,
        collect.run_histories(contract.experiment),
        footprint.measure(),
        list(contract.classes),
        parity,
        contract.registered_model,
        claims.gather(workdir, contract),
        bench_dir=Path(workdir) / "bench",
    )
    missing = sorted(set(collect.STACKS) - set(runs))
    if missing:
        print(f"note: no evaluated run yet for {', '.join(missing)}; the report shows the rest")
    print(f"report: {md_path}\nreport: {html_path}")
    return ExitCode.OK
