"""The Lightning + MLflow pipeline, wired: ingest -> validate (GE) -> drift -> preprocess
-> train (Lightning) -> evaluate (gates) -> promote (MLflow registry alias).

Every step lives in components/lightning/; this module only wires them, handing each
step's result to components/lightning/record.py, which logs it to the active MLflow run.
The run itself (MLflow run, torchrun ranks, the outcome) is pipelines/lightning/run.py.
Heavy imports (torch, Lightning) happen after the data has passed validation, so bad
data is rejected quickly.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from components.lightning import STACK, reference_path
from components.shared.contract import Contract
from components.shared.dataset import DataValidationError, check_eval_rows
from components.shared.layout import Workdir
from components.shared.outcome import Outcome, collapse, last_line

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from mlflow.tracking import MlflowClient

    from components.lightning.torchrun import Handoff, TrainInputs
    from components.lightning.train import TrainResult
    from components.shared.dataset import Split


@dataclass(frozen=True)
class Ended:
    """How the steps ended: the run's outcome, why (the outcome_detail tag), and the line
    the run prints last."""

    outcome: Outcome
    detail: str
    message: str
    published: str = ""  # the models:/ URI of the version made champion, if any


@dataclass
class Distribution:
    """How training is spread: the CLI's --devices/--strategy/--num-nodes, and under
    torchrun the handoff to the ranks that only train."""

    devices: int
    strategy: str
    num_nodes: int
    handoff: Handoff


def _say(line: str) -> None:
    print(line, flush=True)


def _stop(problem: str, details: list[str], reasons: list[str]) -> Ended:
    """Stopped by data validation: say why; the run ends FAILED (exit code 2).
    `details` are printed above (at most 10 unless --verbose), `reasons` end the line."""
    verbose = logging.getLogger().isEnabledFor(logging.DEBUG)
    for detail in collapse(details, limit=None if verbose else 10):
        print(f"  - {detail}", file=sys.stderr)
    return Ended(
        Outcome.DATA_INVALID,
        f"{problem}: " + "; ".join(reasons),
        last_line(STACK, Outcome.DATA_INVALID, reasons),
    )


def fit(
    inputs: TrainInputs, contract: Contract, devices: int, strategy: str, num_nodes: int
) -> TrainResult | None:
    from components.lightning import train

    return train.train(
        inputs.x_train, inputs.y_train, inputs.x_eval, inputs.y_eval, contract,
        inputs.out_dir, devices=devices, num_nodes=num_nodes, strategy=strategy,
        tracking_uri=inputs.tracking_uri, run_id=inputs.run_id,
        tensorboard_dir=inputs.tensorboard_dir,
    )  # fmt: skip


def run_steps(
    contract: Contract,
    data: Path,
    workdir: Workdir,
    out_dir: Path,
    client: MlflowClient,
    run_id: str,
    uri: str,
    spread: Distribution,
    data_sha256: str | None = None,
) -> Ended:
    """Every step after the MLflow run is open; `out_dir` is this run's folder;
    `data_sha256`: the data file's hash, when the caller has taken it already."""
    from components.lightning import drift, ingest, record, tracking, validate_data

    training = {"devices": spread.devices, "num_nodes": spread.num_nodes,
                "strategy": spread.strategy}  # fmt: skip
    record.settings(contract, data, training)

    with tracking.timed("ingest"):
        try:
            split = ingest.ingest(contract, data, sha256=data_sha256)
        except DataValidationError as exc:  # not data at all: empty, not a CSV, wrong file
            return _stop("data file refused", [str(exc)], [str(exc)])
        batch = ingest.whole_batch(split)
    record.ingested(split, contract, data)

    with tracking.timed("validate"):
        report = validate_data.validate(batch, contract, out_dir)
    record.validated(report)
    if not report.success:
        print(
            f"data validation failed: {len(report.failures)} expectation(s) "
            f"(Data Docs: {report.docs_dir / 'index.html'})",
            file=sys.stderr,
        )
        return _stop("data validation failed", [str(f) for f in report.failures], report.reasons)
    try:
        check_eval_rows(split.sizes["eval"], contract, data)
    except DataValidationError as exc:
        return _stop("eval split too small", [str(exc)], [str(exc)])

    with tracking.timed("drift"):
        reference = drift.load_reference(contract)
        # The arrived batch's train rows, as the TFX wing's DistributionValidator compares.
        findings, measured = drift.check_drift(split.arrived_train, contract, reference)
        against_previous, measured_previous = drift.check_previous_span(split, contract)
    if measured_previous:
        measured = {**measured, drift.AGAINST_PREVIOUS_SPAN.strip(): measured_previous}
    findings += against_previous
    record.drift_checked(measured, findings)
    if findings:
        compared = [str(reference_path(contract))] if len(findings) > len(against_previous) else []
        compared += ["the previous span"] if against_previous else []
        print(f"drift check failed against {' and '.join(compared)}", file=sys.stderr)
        return _stop("drift", [str(f) for f in findings], [f.reason for f in findings])
    record.training_reference(drift.reference_stats(split.train, contract))

    return _train_and_promote(contract, split, workdir, out_dir, client, run_id, uri, spread)


def _export_edge(
    model_uri: str,
    contract: Contract,
    eval_rows: pd.DataFrame,
    served_probs: np.ndarray,
    workdir: Workdir,
) -> None:
    """ONNX export of the new champion (components/lightning/edge.py), checked against
    the served model's probabilities on the run's eval rows, both in memory already (the
    reload gate compared them with the logged model; scoring or reading the rows again
    raised the peak memory of a large run); optional packages, so a failure is a note,
    kept in edge.json, and never changes the exit code."""
    from components.lightning import edge

    out_dir = workdir.edge(STACK, contract)
    result = edge.export_or_record(model_uri, contract, eval_rows, out_dir, served_probs)
    if "error" in result:
        print(f"warning: ONNX export skipped: {result['error']}", file=sys.stderr)
    else:
        _say(
            f"edge: {result['artifact']} ({result['size_bytes'] / 1024:.0f} KiB), "
            f"agreement {result['agreement']:.3f} on {result['rows']} eval rows"
        )


def _train_and_promote(
    contract: Contract,
    split: Split,
    workdir: Workdir,
    out_dir: Path,
    client: MlflowClient,
    run_id: str,
    uri: str,
    spread: Distribution,
) -> Ended:
    from components.lightning import evaluate, package, preprocess, promote, record, tracking
    from components.lightning.torchrun import TrainInputs
    from components.shared.baseline import describe as describe_baseline
    from components.shared.baseline import majority_baseline
    from models.lightning.pyfunc import predict_frame

    with tracking.timed("preprocess"):
        preprocessing = preprocess.fit(split.train, contract)
        x_train, y_train = preprocess.features_and_labels(split.train, preprocessing, contract)
        x_eval, y_eval = preprocess.features_and_labels(split.eval, preprocessing, contract)
    record.preprocessed(preprocessing)

    inputs = TrainInputs(
        x_train, y_train, x_eval, y_eval, out_dir, tracking_uri=uri, run_id=run_id,
        tensorboard_dir=workdir.tensorboard(STACK, contract),
    )  # fmt: skip
    with tracking.timed("train"):
        # Under torchrun the other ranks get the same inputs and settings, then all fit.
        spread.handoff.send(inputs, contract)
        trained = fit(inputs, contract, spread.devices, spread.strategy, spread.num_nodes)
    assert trained is not None  # rank 0 (or the only process) gets the result
    record.trained(trained.best_epoch)
    del inputs, x_train, y_train  # the largest arrays of a big run; not needed after the fit

    features = split.eval[preprocessing["feature_columns"]]
    with tracking.timed("evaluate"):
        expected = predict_frame(trained.network, x_eval, list(contract.classes))
        probs = expected[[f"prob_{c}" for c in contract.classes]].to_numpy()
        scores = evaluate.metrics(probs, y_eval, contract.classes)
        baseline = majority_baseline(
            split.train[contract.label], split.eval[contract.label], contract.classes
        )
        record.evaluated(scores, evaluate.confusion(probs, y_eval, contract.classes), baseline)
        model_uri = package.log_model(
            trained.network, preprocessing, contract, features, out_dir / "model"
        )
        _say(describe_baseline(contract, baseline))
        accuracy = scores["eval_accuracy"]
        labels = split.eval[contract.label]
        champion_gate, champion_accuracy = evaluate.gate_champion(
            accuracy, contract, client, features, labels
        )
        gates = [
            evaluate.gate_min_accuracy(accuracy, contract, baseline),
            champion_gate,
            evaluate.gate_reload(model_uri, features, expected),
        ]
    record.gated(gates, champion_accuracy)

    name = contract.registered_model(STACK)
    with tracking.timed("promote"):
        version, promoted = promote.promote(client, name, model_uri, run_id, gates)
    record.promoted(name, version, promoted)
    for gate in gates:
        print(f"gate {gate.name}: {'pass' if gate.passed else 'FAIL'} ({gate.detail})")
    if promoted:
        _export_edge(model_uri, contract, features, probs, workdir)
        message = f"promoted {name} version {version} to champion"
        return Ended(Outcome.PROMOTED, message, message, f"models:/{name}/{version}")
    reasons = [f"{g.name}: {g.detail}" for g in gates if not g.passed]
    return Ended(
        Outcome.NOT_BLESSED,
        "; ".join(reasons),
        last_line(
            STACK,
            Outcome.NOT_BLESSED,
            reasons,
            suffix=f"; version {version} tagged rejected, the champion stays",
        ),
    )
