"""`python -m pipelines report`: the side-by-side report from what the pipelines recorded."""

from __future__ import annotations

import json
import os
import sys

import mlflow

from components.report import claims, collect, footprint, render
from components.shared import stacks
from components.shared.contract import Contract
from components.shared.layout import Workdir
from components.shared.outcome import ExitCode
from components.shared.tracking import tracking_uri


def run(contract: Contract, workdir: Workdir) -> int:
    # MLflow draws a progress bar for every artifact it downloads (the confusion matrices).
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = tracking_uri(workdir)
    # Reading must not create an empty store where the user mistyped the workdir.
    runs = {}
    if not uri.startswith("sqlite:") or workdir.mlflow_db.exists():
        mlflow.set_tracking_uri(uri)
        runs = collect.latest_runs(contract.experiment)
    if not runs:
        print(
            f"error: no evaluated pipeline run in MLflow experiment '{contract.experiment}' "
            f"at {uri}; run `python -m pipelines all --workdir {workdir.root}` first",
            file=sys.stderr,
        )
        return ExitCode.ERROR
    out = workdir.report(contract)
    parity_file = out / "parity.json"
    parity = json.loads(parity_file.read_text()) if parity_file.exists() else None
    md_path, html_path = render.write(
        out,
        runs,
        collect.run_histories(contract.experiment),
        footprint.measure(),
        list(contract.classes),
        parity,
        claims.gather(workdir, contract),
        bench_dir=workdir.bench,
    )
    missing = [stack for stack in stacks.load() if stack not in runs]
    if missing:
        print(f"note: no evaluated run yet for {', '.join(missing)}; the report shows the rest")
    print(f"report: {md_path}\nreport: {html_path}")
    return ExitCode.OK
