"""Drift check: the batch against reference statistics, with TFDV's two distances.

Categorical columns: the L-infinity distance between category frequencies, over
contract.max_category_shift. Numeric columns: the Jensen-Shannon divergence (base 2)
between histograms, over contract.max_jensen_shannon_divergence. These are the
comparators the TFX wing's DistributionValidator applies to the same batch, so both
stacks stop the same batches.

The numeric comparison follows TFDV's: each side is a histogram of HISTOGRAM_BUCKETS
equal-width buckets over its own range; both are spread evenly onto the union of their
bucket edges, and the divergence is scipy's. Hand-written because GX 1.24's
distribution expectation measures KL divergence against fixed partitions, and no drift
library installs beside this project's pins without new dependencies.

Regenerate the reference (e.g. after changing the shipped CSV):
    python -m components.lightning.drift data/penguins.yaml
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon

from components.lightning import reference_path
from components.shared.companions import fresh, stamped, write_companions
from components.shared.contract import Contract
from components.shared.dataset import Split, load_split


@dataclass(frozen=True)
class DriftFinding:
    column: str
    measure: str  # LINF or JSD
    value: float
    threshold: float
    against: str = ""  # what it was compared with, when not the reference

    def __str__(self) -> str:
        return (
            f"column '{self.column}' drifted{self.against}: {self.measure} {self.value:.3f} "
            f"> {self.threshold}"
        )

    @property
    def reason(self) -> str:
        """The short form, for a run's last line: `bill_depth_mm: drift 0.31 > 0.2`."""
        return (
            f"{self.column}: drift {self.measure} {self.value:.3f} > {self.threshold}"
            + self.against
        )


LINF = "l_infinity"
JSD = "jensen_shannon_divergence"
# TFDV's default number of buckets of a numeric feature's standard histogram.
HISTOGRAM_BUCKETS = 10


def _histogram(values: np.ndarray) -> dict[str, list[float]]:
    low, high = float(values.min()), float(values.max())
    counts, edges = np.histogram(values, bins=HISTOGRAM_BUCKETS, range=(low, high))
    return {"edges": [round(float(e), 6) for e in edges], "counts": counts.tolist()}


def reference_stats(frame: pd.DataFrame, contract: Contract) -> dict[str, Any]:
    """A histogram of each numeric column and the category frequencies of each
    categorical one (nulls excluded)."""
    numeric: dict[str, dict[str, list[float]]] = {}
    categorical: dict[str, dict[str, float]] = {}
    for column in contract.drift_checked:
        if column.name not in frame:  # served rows hold features only
            continue
        values = frame[column.name].dropna()
        if column.is_numeric:
            if len(values):
                numeric[column.name] = _histogram(values.astype("float64").to_numpy())
        else:
            freq = values.astype(str).value_counts(normalize=True)
            categorical[column.name] = {
                k: round(float(freq.get(k, 0.0)), 6) for k in sorted(freq.index)
            }
    return {
        "contract": contract.name,
        "rows": len(frame),
        "numeric": numeric,
        "categorical": categorical,
    }


def _spread(histogram: dict[str, list[float]], edges: np.ndarray) -> np.ndarray:
    """The histogram's counts on `edges`, each bucket's count spread evenly over its
    width (TFDV's rebucketing); a bucket of no width puts its count where it lies."""
    src = np.asarray(histogram["edges"], dtype="float64")
    counts = np.asarray(histogram["counts"], dtype="float64")
    out = np.zeros(len(edges) - 1)
    for low, high, count in zip(src[:-1], src[1:], counts, strict=True):
        if count == 0:
            continue
        if high <= low:
            at = min(max(np.searchsorted(edges, low, side="right") - 1, 0), len(out) - 1)
            out[at] += count
            continue
        overlap = np.clip(np.minimum(edges[1:], high) - np.maximum(edges[:-1], low), 0, None)
        out += count * overlap / (high - low)
    return out


def jensen_shannon(reference: dict[str, list[float]], batch: dict[str, list[float]]) -> float:
    edges = np.union1d(reference["edges"], batch["edges"])
    if len(edges) < 2:  # both constant, at the same value
        return 0.0
    p, q = _spread(reference, edges), _spread(batch, edges)
    return float(jensenshannon(p, q, base=2) ** 2)


def l_infinity(reference: dict[str, float], batch: dict[str, float]) -> float:
    return max((abs(batch.get(k, 0.0) - reference.get(k, 0.0)) for k in {*reference, *batch}),
               default=0.0)  # fmt: skip


def compute_reference(contract: Contract) -> dict[str, Any]:
    """Reference statistics of the contract's own data file."""
    split = load_split(contract.path, contract)
    return reference_stats(split.rows, contract)


# The contract sections the reference is made from (with the contract's data file).
MADE_FROM = ("columns", "label", "missing_values")
STAMP_KEY = "_generated_from"


def write_companion(contract: Contract) -> Path:
    path = reference_path(contract)
    reference = compute_reference(contract)

    def render(stamp: str) -> str:
        # sort_keys puts the stamp first, on a line of its own.
        return json.dumps({STAMP_KEY: stamp, **reference}, indent=2, sort_keys=True) + "\n"

    path.write_text(stamped(contract, MADE_FROM, render))
    return path


def fresh_companion(contract: Contract) -> Path:
    """The reference beside the contract, regenerated first when the contract changed; a
    missing or hand-edited stale one is a contract problem (exit 1), not bad data."""
    command = f"python -m components.lightning.drift {contract.source}"
    return fresh(reference_path(contract), contract, MADE_FROM, write_companion, command)


def load_reference(contract: Contract) -> dict[str, Any]:
    reference = json.loads(fresh_companion(contract).read_text())
    reference.pop(STAMP_KEY, None)
    return reference


def check_drift(
    frame: pd.DataFrame, contract: Contract, reference: dict[str, Any]
) -> tuple[list[DriftFinding], dict[str, Any]]:
    """Findings over the thresholds, and every measured value (for the run's report)."""
    if any("edges" not in ref for ref in reference["numeric"].values()):
        raise ValueError(
            "the drift reference holds means, not histograms: it was written before the "
            "check used TFDV's distances; regenerate it (make contract-artifacts, or retrain "
            "with --force for a champion's training reference)"
        )
    batch = reference_stats(frame, contract)
    findings: list[DriftFinding] = []
    measured: dict[str, Any] = {}
    comparisons = [
        (column, JSD, jensen_shannon(ref, batch["numeric"][column]),
         contract.max_jensen_shannon_divergence)
        for column, ref in reference["numeric"].items() if column in batch["numeric"]
    ] + [
        (column, LINF, l_infinity(ref, batch["categorical"][column]), contract.max_category_shift)
        for column, ref in reference["categorical"].items() if column in batch["categorical"]
    ]  # fmt: skip
    for column, measure, value, threshold in comparisons:
        measured[column] = {measure: value}
        if value > threshold:
            findings.append(DriftFinding(column, measure, value, threshold))
    return findings, measured


# How a finding against the previous span is told apart (the TFX wing's words too).
AGAINST_PREVIOUS_SPAN = " against the previous span"


def check_previous_span(
    split: Split, contract: Contract
) -> tuple[list[DriftFinding], dict[str, Any]]:
    """For data in spans (a window of two or more): the arriving span's train rows against
    the previous span's, with the same distances, as the TFX wing's second
    DistributionValidator compares them (train rows only: a span's eval split is too small
    for a histogram distance). ([], {}) otherwise."""
    if len(split.spans) < 2:
        return [], {}
    previous, arrived = (split.span_rows(part.number)[0] for part in split.spans[-2:])
    findings, measured = check_drift(arrived, contract, reference_stats(previous, contract))
    return [replace(f, against=AGAINST_PREVIOUS_SPAN) for f in findings], measured


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return write_companions(args, "components.lightning.drift", write_companion)


if __name__ == "__main__":
    sys.exit(main())
