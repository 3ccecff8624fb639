"""Served traffic against the TFX champion's training data, with TFDV's training-serving
skew check.

The training statistics are StatisticsGen's train split from the very pipeline run that
pushed the champion, found through lineage: the MLflow run's `mlmd_execution_ids` tag
names the StatisticsGen execution, ML Metadata its output. The served rows get
statistics of their own, and `tfdv.validate_statistics(training, schema,
serving_statistics=served)` compares the two with the skew comparators the curated
schema carries (components/tfx/schema.py: L-infinity distance for categorical features,
Jensen-Shannon divergence for numeric ones, thresholds from the contract's `drift`).
"""

from __future__ import annotations

import json
from pathlib import Path

import tensorflow_data_validation as tfdv
from ml_metadata.proto import metadata_store_pb2
from mlflow.entities import Run
from tensorflow_data_validation.utils import display_util
from tensorflow_metadata.proto.v0 import anomalies_pb2, statistics_pb2

from components.shared.contract import Contract
from components.shared.layout import Workdir
from components.shared.monitoring import Check, Distance
from components.shared.request_log import Served
from components.tfx import STACK, metadata_store
from components.tfx.schema import fresh_companion

METHOD = "TFDV skew comparators (L-infinity, Jensen-Shannon divergence)"
_MEASURE = {
    anomalies_pb2.DriftSkewInfo.Measurement.L_INFTY: "linf_distance",
    anomalies_pb2.DriftSkewInfo.Measurement.JENSEN_SHANNON_DIVERGENCE: (
        "jensen_shannon_divergence"
    ),
}


def training_statistics(workdir: Workdir, run: Run) -> statistics_pb2.DatasetFeatureStatisticsList:
    """The train split's statistics StatisticsGen computed in the run that trained the
    served model, read through ML Metadata."""
    ids = json.loads(run.data.tags.get("mlmd_execution_ids", "{}"))
    if "StatisticsGen" not in ids:
        raise FileNotFoundError(
            f"MLflow run {run.info.run_id} names no StatisticsGen execution "
            "(tag mlmd_execution_ids)"
        )
    store = metadata_store(workdir)
    outputs = [
        e.artifact_id
        for e in store.get_events_by_execution_ids([ids["StatisticsGen"]])
        if e.type == metadata_store_pb2.Event.OUTPUT
    ]
    for artifact in store.get_artifacts_by_id(outputs):
        path = Path(artifact.uri, "Split-train", "FeatureStats.pb")
        if path.exists():
            return tfdv.load_stats_binary(str(path))
    raise FileNotFoundError(
        f"the training statistics of MLflow run {run.info.run_id} are gone from "
        f"{workdir.stack_root(STACK)}"
    )


def check(contract: Contract, workdir: Workdir, served: Served, run: Run, out_dir: Path) -> Check:
    training = training_statistics(workdir, run)
    rows = served.rows.astype({c.name: "float64" for c in contract.features if c.is_numeric})
    serving = tfdv.generate_statistics_from_dataframe(rows)
    schema = tfdv.load_schema_text(str(fresh_companion(contract)))
    anomalies = tfdv.validate_statistics(training, schema, serving_statistics=serving)
    distances = [
        Distance(".".join(info.path.step), _MEASURE[m.type], m.value, m.threshold)
        for info in anomalies.drift_skew_info
        for m in info.skew_measurements
    ]
    report = out_dir / "index.html"
    report.write_text(
        display_util.get_statistics_html(
            serving, rhs_statistics=training, lhs_name="served", rhs_name="training"
        )
    )
    table = display_util.get_anomalies_dataframe(_skew_only(anomalies))
    # TFDV has no anomalies HTML helper (only a notebook display): a table.
    (out_dir / "skew.html").write_text(
        "<html><body><h1>TFDV training-serving skew</h1>"
        + (table.to_html() if len(table) else "<p>No skew found.</p>")
        + "</body></html>"
    )
    return Check(distances, report, METHOD)


def _skew_only(anomalies: anomalies_pb2.Anomalies) -> anomalies_pb2.Anomalies:
    """The skew anomalies alone: the training statistics were validated when they were
    made, and served rows hold no label column, which the schema requires."""
    kept = anomalies_pb2.Anomalies()
    kept.CopyFrom(anomalies)
    for name, info in anomalies.anomaly_info.items():
        if not any(
            reason.type
            in (
                anomalies_pb2.AnomalyInfo.COMPARATOR_L_INFTY_HIGH,
                anomalies_pb2.AnomalyInfo.COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH,
            )
            for reason in info.reason
        ):
            del kept.anomaly_info[name]
    return kept
