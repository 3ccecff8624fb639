"""The Lightning wing's runner: one MLflow run per pipeline run, around the steps that
pipelines/lightning/pipeline.py wires.

`run()` is what `python -m pipelines lightning` calls; it returns the CLI exit code.
Around the steps: runs of killed processes marked KILLED, the run's tags, its outcome
and status, and under torchrun the ranks that only train (components/lightning/torchrun.py).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from components.lightning import STACK
from components.shared.contract import Contract
from components.shared.layout import Workdir
from components.shared.outcome import ExitCode, Outcome
from pipelines.lightning.pipeline import Distribution, Ended, fit, run_steps

if TYPE_CHECKING:
    from components.lightning.torchrun import Handoff


def _record(outcome: Outcome, detail: str) -> None:
    """The outcome tags every pipeline writes (components/shared/outcome.py)."""
    import mlflow

    mlflow.set_tags({"outcome": outcome.value, "outcome_detail": detail[:5000]})


def run(
    contract: Contract,
    data: Path,
    workdir: Workdir,
    devices: int = 1,
    strategy: str = "auto",
    num_nodes: int = 1,
    fingerprint: str | None = None,
    data_sha256: str | None = None,
) -> int:
    """Run the pipeline on `data`; returns an ExitCode (0 promoted, 2 stopped by data
    validation, 3 trained but not promoted). `fingerprint`: what the run depends on, taken
    before it started (pipelines/lightning/fingerprint.py); a promotion is remembered
    under it, so an unchanged rerun is answered without training. `data_sha256`: the
    file's hash when the caller has taken it already (the file is hashed once per run).

    Under torchrun every rank runs this: global rank 0 runs the pipeline, the other ranks
    only train (components/lightning/torchrun.py) and return 0; the run's outcome is rank
    0's exit code.
    """
    from components.lightning import torchrun

    problem = torchrun.mismatch(devices, num_nodes)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return ExitCode.ERROR
    with torchrun.ranks() as handoff:
        if handoff.is_worker:
            return _train_only(contract, handoff, devices, strategy, num_nodes)
        return _run_pipeline(
            contract, data, workdir, Distribution(devices, strategy, num_nodes, handoff),
            fingerprint, data_sha256,
        )  # fmt: skip


def _train_only(
    contract: Contract, handoff: Handoff, devices: int, strategy: str, num_nodes: int
) -> int:
    """A torchrun rank other than 0: rank 0's inputs in, one share of the DDP fit, out."""
    from components.lightning import torchrun

    received = handoff.receive(contract)
    if received is None:
        print(f"rank {torchrun.rank()}: rank 0 stopped before training; nothing to do")
        return ExitCode.OK
    inputs, contract = received
    fit(inputs, contract, devices, strategy, num_nodes)
    print(f"rank {torchrun.rank()}: trained; rank 0 records the run")
    return ExitCode.OK


def _run_pipeline(
    contract: Contract,
    data: Path,
    workdir: Workdir,
    spread: Distribution,
    fingerprint: str | None,
    data_sha256: str | None,
) -> int:
    import mlflow
    from mlflow.tracking import MlflowClient

    from components.lightning import tracking
    from components.shared import tracking as shared_tracking

    experiment_id = tracking.configure(contract, workdir)
    uri = mlflow.get_tracking_uri()
    client = MlflowClient(uri)
    # Runs of earlier processes that were killed mid-run still say RUNNING: end them.
    for stale in shared_tracking.sweep_stale_runs(experiment_id, STACK):
        print(f"marked run {stale} KILLED: the process that ran it is gone")
    tags = {
        "pipeline": STACK,
        "lineage_store": "MLflow tracking + model registry",
        "lineage_recorded": "1 run, its params, metrics and dataset input",
        "contract": contract.name,
        **shared_tracking.process_tags(),
    }
    # MLflow tags the run's git commit itself (mlflow.source.git.commit, via GitPython).

    started = time.perf_counter()
    name = shared_tracking.run_name(STACK, contract, time.time())
    with mlflow.start_run(experiment_id=experiment_id, run_name=name, tags=tags) as active:
        try:
            ended = run_steps(
                contract, data, workdir, workdir.runs(STACK) / active.info.run_id, client,
                active.info.run_id, uri, spread, data_sha256,
            )  # fmt: skip
        except BaseException as exc:
            # The context manager then ends the run FAILED; say why in the outcome tags.
            _record(Outcome.ERROR, f"{type(exc).__name__}: {exc}")
            raise
        finally:
            mlflow.log_metric("time_total_s", round(time.perf_counter() - started, 3))
        code = _end(ended)
    _remember(contract, workdir, fingerprint, ended)
    return code


def _remember(contract: Contract, workdir: Workdir, taken: str | None, ended: Ended) -> None:
    """Keep the fingerprint of a run that made a champion, so an unchanged rerun is
    answered without training; any other ending drops it."""
    from pipelines.lightning.fingerprint import RECORD

    if taken is not None and ended.outcome is Outcome.PROMOTED:
        RECORD.remember(contract, workdir, taken, ended.published, ended.message)
    else:
        RECORD.forget(contract, workdir)


def _end(ended: Ended) -> int:
    """Record how the steps ended and say it; the run's status follows."""
    import mlflow

    _record(ended.outcome, ended.detail)
    print(ended.message, flush=True)
    if ended.outcome is Outcome.DATA_INVALID:
        # Stopped by validation: FAILED, with the validation report attached.
        mlflow.end_run(status="FAILED")
    return ended.outcome.exit_code
