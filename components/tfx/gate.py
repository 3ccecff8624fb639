"""The data gate: a custom component that fails the run when TFDV found anomalies.

TFX has no built-in "stop on anomalies": ExampleValidator (the schema) and
DistributionValidator (drift) only record them. This component reads their anomalies
artifacts and raises, so the run fails here and Transform and Trainer (which depend on
it) never execute.
"""

# No `from __future__ import annotations`: the TFX decorator reads real type hints.
from pathlib import Path

from tensorflow_data_validation.utils.anomalies_util import load_anomalies_binary
from tensorflow_metadata.proto.v0 import anomalies_pb2

# Not `tfx.v1`: it imports Google Cloud extensions too (pipelines/tfx/pipeline.py).
from tfx.dsl.component.experimental.annotations import InputArtifact
from tfx.dsl.component.experimental.decorators import component
from tfx.types.standard_artifacts import ExampleAnomalies

ANOMALIES_FILE = "SchemaDiff.pb"


class AnomaliesFound(RuntimeError):
    """The data broke the schema; the message lists the features and anomalies."""


def load_split_anomalies(uri: str) -> dict[str, anomalies_pb2.Anomalies]:
    """The Anomalies proto of each split in an ExampleAnomalies artifact directory."""
    found = {}
    # ExampleValidator writes Split-<split>/; DistributionValidator SplitPair-<split>_<its
    # baseline's split>/, named here by the split compared.
    for split_dir in sorted(Path(uri).glob("Split*-*")):
        path = split_dir / ANOMALIES_FILE
        if path.exists():
            kind, name = split_dir.name.split("-", 1)
            found[name.rsplit("_", 1)[0] if kind == "SplitPair" else name] = load_anomalies_binary(
                str(path)
            )
    return found


def _by_cause(
    anomalies_by_split: dict[str, anomalies_pb2.Anomalies],
) -> dict[tuple[str, str, str], list[str]]:
    """(feature, short description, details) -> the splits it was found in: the same
    anomaly in train and eval is one cause, not two."""
    found: dict[tuple[str, str, str], list[str]] = {}
    for split, anomalies in anomalies_by_split.items():
        drifted = _drift_details(anomalies)
        for feature, details in drifted.items():
            found.setdefault((feature, "drift", details), []).append(split)
        for feature, info in sorted(anomalies.anomaly_info.items()):
            if feature in drifted:  # the same finding, as a sentence without the measure's name
                continue
            details = "; ".join(r.description or r.short_description for r in info.reason)
            found.setdefault((feature, info.short_description, details), []).append(split)
        if anomalies.HasField("dataset_anomaly_info"):
            info = anomalies.dataset_anomaly_info
            found.setdefault(("<dataset>", info.short_description, ""), []).append(split)
    return found


_MEASURES = {"L_INFTY": "L-infinity", "JENSEN_SHANNON_DIVERGENCE": "Jensen-Shannon divergence"}


def _drift_details(anomalies: anomalies_pb2.Anomalies) -> dict[str, str]:
    """feature -> `Jensen-Shannon divergence 0.387 > 0.2`, for each measurement over its
    threshold (DistributionValidator's findings)."""
    kinds = anomalies_pb2.DriftSkewInfo.Measurement.Type
    found: dict[str, str] = {}
    for info in anomalies.drift_skew_info:
        over = [
            f"{_MEASURES.get(name, name)} {m.value:.3f} > {m.threshold:g}"
            for m in info.drift_measurements
            if m.value > m.threshold
            for name in [kinds.Name(m.type)]
        ]
        if over:
            found[".".join(info.path.step)] = "; ".join(over)
    return found


def describe(anomalies_by_split: dict[str, anomalies_pb2.Anomalies]) -> list[str]:
    """One human line per feature and cause, naming the feature first and the splits
    where it was found last."""
    return [
        f"{feature}: {short}" + (f" ({details})" if details else "") + f" [{', '.join(splits)}]"
        for (feature, short, details), splits in _by_cause(anomalies_by_split).items()
    ]


def reasons(anomalies_by_split: dict[str, anomalies_pb2.Anomalies]) -> list[str]:
    """The short form, for a run's last line: `island: Unexpected string values`."""
    return list(dict.fromkeys(f"{f}: {short}" for f, short, _ in _by_cause(anomalies_by_split)))


# How a finding against the previous span is told apart from one against the reference.
AGAINST_PREVIOUS_SPAN = " against the previous span"


def describe_previous_span(anomalies_by_split: dict[str, anomalies_pb2.Anomalies]) -> list[str]:
    return [line + AGAINST_PREVIOUS_SPAN for line in describe(anomalies_by_split)]


@component
def AnomaliesGate(  # noqa: N802 - TFX component naming
    anomalies: InputArtifact[ExampleAnomalies],
    drift: InputArtifact[ExampleAnomalies],
    previous_span: InputArtifact[ExampleAnomalies] = None,
) -> None:
    """Raise AnomaliesFound when any split has an anomaly or drifted (against the
    reference, or, for data in spans, against the previous span)."""
    lines = describe(load_split_anomalies(anomalies.uri)) + describe(
        load_split_anomalies(drift.uri)
    )
    if previous_span is not None:
        lines += describe_previous_span(load_split_anomalies(previous_span.uri))
    if lines:
        raise AnomaliesFound("data validation failed:\n  " + "\n  ".join(lines))
