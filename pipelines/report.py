"""`python -m pipelines report`: the side-by-side report from what the pipelines recorded."""

from __future__ import annotations

import json
import os
import sys

import mlflow

from components.report import claims, collect, footprint, render
from components.shared import stacks
from components.shared.contract import REPO_ROOT, Contract, ContractError, load_contract
from components.shared.layout import Workdir
from components.shared.outcome import ExitCode
from components.shared.tracking import store_exists, tracking_uri


def _no_runs(contract: Contract, workdir: Workdir, uri: str, elsewhere: list[str]) -> str:
    """Why there is nothing to report, and the command that would report something."""
    line = (
        f"report: failed (exit 1): no evaluated pipeline run of {contract.source.name} "
        f"(MLflow experiment '{contract.experiment}') at {uri}"
    )
    if not elsewhere:
        return line + f"; run `python -m pipelines all --workdir {workdir.root}` first"
    suggestions = []
    for path in sorted(contract.source.parent.glob("*.yaml")):
        try:
            other = load_contract(path)
        except ContractError:
            continue
        if other.experiment in elsewhere:
            shown_path = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
            suggestions.append(f"--contract {shown_path}")
    shown = ", ".join(f"'{name}'" for name in elsewhere)
    hint = f"; try {' or '.join(suggestions)}" if suggestions else ""
    return line + f"; this store has runs of {shown}{hint}"


def run(contract: Contract, workdir: Workdir) -> int:
    # MLflow draws a progress bar for every artifact it downloads (the confusion matrices).
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = tracking_uri(workdir)
    # Reading must not create an empty store where the user mistyped the workdir.
    runs, elsewhere = {}, []
    if store_exists(workdir):
        mlflow.set_tracking_uri(uri)
        runs = collect.latest_runs(contract.experiment)
        elsewhere = [] if runs else collect.evaluated_experiments()
    if not runs:
        print(_no_runs(contract, workdir, uri, elsewhere), file=sys.stderr)
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
        dataset=contract.name,
        monitors=collect.latest_monitoring(contract.experiment),
        timeline=collect.replay_timeline(contract.experiment),
    )
    missing = [stack for stack in stacks.load() if stack not in runs]
    if missing:
        print(f"note: no evaluated run yet for {', '.join(missing)}; the report shows the rest")
    print(f"report: {md_path}\nreport: {html_path}")
    return ExitCode.OK
