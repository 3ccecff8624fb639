"""What `monitor` finds, in one shape for every stack, and how it is kept in MLflow.

Each wing measures served traffic against the training data of the model that answered
it with its own library (stacks.toml, `monitor`: a module with `check(contract, workdir,
served, run, out_dir) -> Check`, `run` being the MLflow run that trained the served
version); this module holds the result's shape and records it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from components.shared.contract import Contract
from components.shared.layout import Workdir
from components.shared.request_log import Served

# The tag a monitoring run carries instead of `pipeline`: the report's pipeline runs are
# found by `pipeline`, so a monitoring run never counts as one.
MONITOR_TAG = "monitor"


@dataclass(frozen=True)
class Distance:
    """One feature's distance between served and training data, under one measure."""

    feature: str
    measure: str
    value: float
    threshold: float

    @property
    def skewed(self) -> bool:
        return self.value > self.threshold

    def __str__(self) -> str:
        verdict = ">" if self.skewed else "<="
        return f"{self.feature}: {self.measure} {self.value:.3f} {verdict} {self.threshold}"


@dataclass
class Check:
    """Every measured distance, the HTML report that shows them, and which library."""

    distances: list[Distance]
    report: Path
    method: str
    notes: list[str] = field(default_factory=list)

    @property
    def skewed(self) -> list[Distance]:
        return [d for d in self.distances if d.skewed]


def record(
    contract: Contract,
    workdir: Workdir,
    stack: str,
    name: str,
    served: Served,
    check: Check,
) -> str:
    """One MLflow run per `monitor`, in the dataset's experiment beside the training runs,
    tagged with the stack and the model version it judged; returns its id."""
    import mlflow

    from components.shared.tracking import ensure_experiment, process_tags, run_name

    experiment_id = ensure_experiment(contract.experiment, workdir)
    tags = {
        **process_tags(),
        MONITOR_TAG: stack,
        "contract": contract.name,
        "registered_model": f"models:/{name}/{served.version}",
        "model_version": served.version,
        "outcome": "skew" if check.skewed else "no skew",
        "skewed_features": ", ".join(sorted({d.feature for d in check.skewed})) or "none",
        "method": check.method,
    }
    with mlflow.start_run(
        experiment_id=experiment_id,
        run_name=run_name(f"monitor-{stack}", contract, time.time()),
        tags=tags,
    ) as run:
        mlflow.log_params(
            {
                "requests": served.requests,
                "rows": len(served.rows),
                "window_first": served.first,
                "window_last": served.last,
            }
        )
        mlflow.log_metrics(
            {f"skew_{d.feature}_{d.measure}": d.value for d in check.distances}
            | {"skewed_features": float(len({d.feature for d in check.skewed}))}
        )
        mlflow.log_dict(
            [d.__dict__ | {"skewed": d.skewed} for d in check.distances],
            "monitoring/distances.json",
        )
        mlflow.log_artifacts(str(check.report.parent), "monitoring/report")
    return run.info.run_id
