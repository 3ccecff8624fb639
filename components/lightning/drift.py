"""Drift check: the batch against reference statistics of the shipped data.

Numeric means moved by more than contract.max_mean_shift_in_std reference standard
deviations, or category frequencies moved by more than contract.max_category_shift in
total variation distance. Hand-written because GX 1.24's distribution expectations
measure other things: ExpectColumnMeanToBeBetween could hold the mean bound, but its
KL-divergence expectation is not the total variation the contract is written in.

Regenerate the reference (e.g. after changing the shipped CSV):
    python -m components.lightning.drift data/penguins.yaml
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from components.lightning import reference_path
from components.shared.companions import fresh, stamped, write_companions
from components.shared.contract import Contract
from components.shared.dataset import load_split


@dataclass(frozen=True)
class DriftFinding:
    column: str
    measure: str  # "mean_shift_in_std" or "category_tv_distance"
    value: float
    threshold: float

    def __str__(self) -> str:
        return (
            f"column '{self.column}' drifted: {self.measure} {self.value:.3f} "
            f"> {self.threshold}"
        )

    @property
    def reason(self) -> str:
        """The short form, for a run's last line: `bill_depth_mm: drift 0.31 > 0.2`."""
        return f"{self.column}: drift {self.measure} {self.value:.3f} > {self.threshold}"


def _checked_columns(contract: Contract) -> list:
    # Ignored columns (e.g. year) are allowed to move; features and the label are not.
    return [c for c in contract.columns if c.role != "ignored"]


def reference_stats(frame: pd.DataFrame, contract: Contract) -> dict[str, Any]:
    """Mean/std of numeric columns and category frequencies (nulls excluded)."""
    numeric: dict[str, dict[str, float]] = {}
    categorical: dict[str, dict[str, float]] = {}
    for column in _checked_columns(contract):
        if column.name not in frame:  # served rows hold features only
            continue
        values = frame[column.name].dropna()
        if column.is_numeric:
            numeric[column.name] = {
                "mean": round(float(values.astype("float64").mean()), 6),
                "std": round(float(values.astype("float64").std(ddof=0)), 6),
            }
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
    batch = reference_stats(frame, contract)
    findings: list[DriftFinding] = []
    measured: dict[str, Any] = {}
    for column, ref in reference["numeric"].items():
        if column not in batch["numeric"]:
            continue
        # A constant reference column would divide by zero: any move then counts as 1 std.
        std = ref["std"] or 1.0
        shift = abs(batch["numeric"][column]["mean"] - ref["mean"]) / std
        measured[column] = {"mean_shift_in_std": shift}
        if shift > contract.max_mean_shift_in_std:
            findings.append(
                DriftFinding(column, "mean_shift_in_std", shift, contract.max_mean_shift_in_std)
            )
    for column, ref in reference["categorical"].items():
        if column not in batch["categorical"]:
            continue
        now = batch["categorical"][column]
        tv = 0.5 * sum(abs(now.get(k, 0.0) - ref.get(k, 0.0)) for k in set(now) | set(ref))
        measured[column] = {"category_tv_distance": tv}
        if tv > contract.max_category_shift:
            findings.append(
                DriftFinding(column, "category_tv_distance", tv, contract.max_category_shift)
            )
    return findings, measured


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return write_companions(args, "components.lightning.drift", write_companion)


if __name__ == "__main__":
    sys.exit(main())
