"""Served traffic against the Lightning champion's training data, with the drift check
the pipeline runs before training (components/lightning/drift.py): TFDV's distances,
Jensen-Shannon divergence over `drift.max_jensen_shannon_divergence` for numeric
features, L-infinity over `drift.max_category_shift` for categorical ones.

The training data's statistics are the ones the champion's own run logged
(TRAINING_REFERENCE), so the comparison is with what that model was trained on, even
after the data file changed.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from mlflow.entities import Run

from components.lightning.drift import JSD, LINF, check_drift
from components.shared.contract import Contract
from components.shared.layout import Workdir
from components.shared.monitoring import Check, Distance
from components.shared.request_log import Served

TRAINING_REFERENCE = "monitoring/training_reference.json"
METHOD = "the Lightning pipeline's drift check (Jensen-Shannon divergence, L-infinity)"


def training_reference(run: Run) -> dict:
    import mlflow

    try:
        return mlflow.artifacts.load_dict(f"runs:/{run.info.run_id}/{TRAINING_REFERENCE}")
    except Exception as exc:  # MLflow raises its own or OSError, depending on the store
        raise FileNotFoundError(
            f"run {run.info.run_id} logged no {TRAINING_REFERENCE} (trained before "
            "monitoring existed): run `python -m pipelines lightning --force` to train a "
            "champion that has it"
        ) from exc


def check(contract: Contract, workdir: Workdir, served: Served, run: Run, out_dir: Path) -> Check:
    reference = training_reference(run)
    _, measured = check_drift(served.rows, contract, reference)
    thresholds = {JSD: contract.max_jensen_shannon_divergence, LINF: contract.max_category_shift}
    distances = [
        Distance(feature, measure, float(value), thresholds[measure])
        for feature, values in measured.items()
        for measure, value in values.items()
    ]
    report = out_dir / "index.html"
    report.write_text(_html(distances, served, contract))
    return Check(distances, report, METHOD)


def _html(distances: list[Distance], served: Served, contract: Contract) -> str:
    # A table is all this check produces; GX Data Docs render expectation suites, not this.
    rows = "".join(
        f"<tr{' class=skew' if d.skewed else ''}><td>{html.escape(d.feature)}</td>"
        f"<td>{d.measure}</td><td>{d.value:.4f}</td><td>{d.threshold}</td>"
        f"<td>{'skew' if d.skewed else 'ok'}</td></tr>"
        for d in distances
    )
    about = json.dumps(
        {"requests": served.requests, "rows": len(served.rows), "version": served.version}
    )
    return (
        "<!doctype html><meta charset=utf-8><title>Served traffic vs training data</title>"
        "<style>body{font-family:sans-serif}td,th{padding:4px 10px;text-align:left}"
        ".skew{background:#fdd}</style>"
        f"<h1>{html.escape(contract.name)}: served traffic vs training data (Lightning)</h1>"
        f"<p>{html.escape(about)}</p><p>{html.escape(METHOD)}</p>"
        "<table><tr><th>feature</th><th>measure</th><th>distance</th><th>threshold</th>"
        f"<th>verdict</th></tr>{rows}</table>"
    )
