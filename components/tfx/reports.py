"""Reading a finished (or failed) TFX run back from MLMD and the artifact store.

Per-component wall times, the anomalies that stopped a run, the Evaluator's accuracy and
validation result, where the Pusher pushed, and TFDV HTML reports for humans.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import tensorflow_data_validation as tfdv
import tensorflow_model_analysis as tfma
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tensorflow_data_validation.utils import display_util
from tensorflow_metadata.proto.v0 import anomalies_pb2

from components.tfx.eval_result import overall_metrics
from components.tfx.gate import (
    AGAINST_PREVIOUS_SPAN,
    describe,
    describe_previous_span,
    load_split_anomalies,
    reasons,
)

_STATE = metadata_store_pb2.Execution.State


@dataclass
class NodeRun:
    """One component's execution in one pipeline run."""

    node_id: str
    state: str
    seconds: float
    execution_id: int = 0
    outputs: dict[str, list[metadata_store_pb2.Artifact]] = field(default_factory=dict)
    inputs: dict[str, list[metadata_store_pb2.Artifact]] = field(default_factory=dict)


def _key(event: metadata_store_pb2.Event) -> str:
    return next((s.key for s in event.path.steps if s.HasField("key")), "")


def latest_run(connection_config, pipeline_name: str) -> dict[str, NodeRun]:
    """node id -> NodeRun for the newest pipeline run of `pipeline_name`, in run order."""
    store = metadata_store.MetadataStore(connection_config)
    node_of: dict[int, str] = {}
    prefix = f"{pipeline_name}."
    for ctx in store.get_contexts_by_type("node"):
        if ctx.name.startswith(prefix):
            for ex in store.get_executions_by_context(ctx.id):
                node_of[ex.id] = ctx.name[len(prefix) :]
    # Several contracts' pipelines may share one MLMD store (one workdir): the newest
    # run is the newest pipeline_run context holding an execution of *this* pipeline,
    # not the newest of any pipeline.
    run = None
    for candidate in sorted(store.get_contexts_by_type("pipeline_run"), key=lambda c: -c.id):
        if any(ex.id in node_of for ex in store.get_executions_by_context(candidate.id)):
            run = candidate
            break
    if run is None:
        return {}
    executions = sorted(store.get_executions_by_context(run.id), key=lambda e: e.id)
    nodes: dict[str, NodeRun] = {}
    for ex in executions:
        ms = ex.last_update_time_since_epoch - ex.create_time_since_epoch
        node = NodeRun(
            node_of.get(ex.id, ex.type), _STATE.Name(ex.last_known_state), ms / 1000, ex.id
        )
        nodes[node.node_id] = node
    by_exec = {ex.id: nodes[node_of.get(ex.id, ex.type)] for ex in executions}
    events = store.get_events_by_execution_ids(list(by_exec))
    artifacts = {a.id: a for a in store.get_artifacts_by_id({e.artifact_id for e in events})}
    for event in events:
        node = by_exec[event.execution_id]
        if event.type in (
            metadata_store_pb2.Event.OUTPUT,
            metadata_store_pb2.Event.DECLARED_OUTPUT,
        ):
            node.outputs.setdefault(_key(event), []).append(artifacts[event.artifact_id])
        elif event.type in (
            metadata_store_pb2.Event.INPUT,
            metadata_store_pb2.Event.DECLARED_INPUT,
        ):
            node.inputs.setdefault(_key(event), []).append(artifacts[event.artifact_id])
    return nodes


def anomaly_lines(anomalies_uri: str, previous_span: bool = False) -> tuple[list[str], list[str]]:
    """(one line per feature and cause with its details, the short reasons);
    `previous_span`: the findings of the drift check against the previous span."""
    found = load_split_anomalies(anomalies_uri)
    if previous_span:
        return describe_previous_span(found), [r + AGAINST_PREVIOUS_SPAN for r in reasons(found)]
    return describe(found), reasons(found)


def write_data_reports(
    statistics_uri: str | None,
    anomalies_uri: str | None,
    out_dir: Path,
    drift_uri: str | None = None,
    previous_span_uri: str | None = None,
) -> list[Path]:
    """TFDV statistics (train vs eval) and anomalies as standalone HTML files; with
    DistributionValidator's output (`drift_uri`, and `previous_span_uri` for the check
    against the previous span), every measured distance per split and feature as
    drift.json (the previous span's under "<split> against the previous span")."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    if statistics_uri:
        splits = {
            p.parent.name.removeprefix("Split-"): tfdv.load_stats_binary(str(p))
            for p in sorted(Path(statistics_uri).glob("Split-*/FeatureStats.pb"))
        }
        if splits:
            names = list(splits)
            rhs = names[1] if len(names) > 1 else None
            html = display_util.get_statistics_html(
                splits[names[0]],
                rhs_statistics=splits[rhs] if rhs else None,
                lhs_name=names[0],
                rhs_name=rhs or "",
            )
            path = out_dir / "statistics.html"
            path.write_text(html)
            written.append(path)
    if anomalies_uri:
        for split, anomalies in load_split_anomalies(anomalies_uri).items():
            path = out_dir / f"anomalies-{split}.html"
            # TFDV has no anomalies HTML helper (only a notebook display): a table.
            table = display_util.get_anomalies_dataframe(anomalies)
            title = f"<h1>TFDV anomalies, {split} split</h1>"
            body = table.to_html() if len(table) else "<p>No anomalies found.</p>"
            path.write_text(f"<html><body>{title}{body}</body></html>")
            written.append(path)
    if drift_uri:
        kinds = anomalies_pb2.DriftSkewInfo.Measurement.Type
        measured = {
            split + suffix: {
                ".".join(info.path.step): {
                    kinds.Name(m.type).lower(): {"value": m.value, "threshold": m.threshold}
                    for m in info.drift_measurements
                }
                for info in anomalies.drift_skew_info
            }
            for uri, suffix in ((drift_uri, ""), (previous_span_uri, AGAINST_PREVIOUS_SPAN))
            if uri
            for split, anomalies in load_split_anomalies(uri).items()
        }
        path = out_dir / "drift.json"
        path.write_text(json.dumps(measured, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def evaluator_accuracy(evaluation_uri: str, metric: str = "sparse_categorical_accuracy") -> float:
    """The overall (unsliced) accuracy TFMA computed for the candidate model."""
    found = overall_metrics(evaluation_uri)
    if (metric, "") not in found:
        raise KeyError(f"no overall {metric} in {evaluation_uri}")
    return found[(metric, "")]


def _describe_failure(failure) -> str:
    """e.g. "sparse_categorical_accuracy = 0.9362, needs >= 0.95" or, against the
    baseline, "sparse_categorical_accuracy change vs baseline = -0.0400, needs >= -0.02"."""
    key, threshold = failure.metric_key, failure.metric_threshold
    value = failure.metric_value.double_value.value
    if key.is_diff:
        bound = threshold.change_threshold.absolute.value
        return f"{key.name} change vs baseline = {value:+.4f}, allowed down to {bound:+.4f}"
    lower = threshold.value_threshold
    parts = []
    if lower.HasField("lower_bound"):
        parts.append(f">= {lower.lower_bound.value:g}")
    if lower.HasField("upper_bound"):
        parts.append(f"<= {lower.upper_bound.value:g}")
    needs = " and ".join(parts) or "a threshold"
    return f"{key.name} = {value:.4f}, needs {needs}" + (
        f" ({failure.message})" if failure.message else ""
    )


def validation_failures(evaluation_uri: str) -> list[str]:
    """Why the Evaluator did not bless: each failed threshold with the metric's value."""
    result = tfma.load_validation_result(evaluation_uri)
    lines = []
    for per_slice in result.metric_validations_per_slice:
        for failure in per_slice.failures:
            lines.append(_describe_failure(failure))
    if result.missing_thresholds:
        lines.append(f"missing thresholds: {list(result.missing_thresholds)}")
    return lines
