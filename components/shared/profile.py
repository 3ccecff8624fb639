"""Profile a user's CSV into a first dataset contract (`python -m pipelines init-contract`).

Profiling uses pandas, not TFDV or Great Expectations, on purpose:
- this module belongs to the shared half and the CLI must keep working when a team
  deletes either stack (README, "Keep one stack"); TFDV would also pull TensorFlow into
  a command that otherwise starts in a second;
- Great Expectations 1.x no longer ships its profilers (the UserConfigurableProfiler and
  the onboarding assistants were removed in 1.0);
- TFDV's infer_schema would give types and string domains, but no ranges, no null
  shares and no view of free text or dates; the rules that matter here (what is text,
  what is a category, how wide a range) are ours either way.
What the libraries do offer is used right after: the companions generated from the
written contract (the TFDV schema, the drift reference) and each stack's own
validation, which tests/test_template.py runs on the profiled contracts.

The contract is a first draft: `Draft.notes` says what was decided per column and
`Draft.checks` lists the fields a human must review before committing it.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from components.shared.contract import (
    DEFAULT_JENSEN_SHANNON,
    DEFAULT_MIN_EVAL_ROWS,
    DEFAULT_WINDOW_SPANS,
)
from components.shared.dataset import read_raw_text

# A string column with at most this many distinct values (and values repeating, below)
# is a category; more is free text, ids or the like.
MAX_CATEGORIES = 30
# ... and its distinct values at most this share of its non-null rows.
MAX_UNIQUE_SHARE = 0.5
# Ranges are widened by this share of the observed span on each side.
RANGE_MARGIN = 0.1
# An integer column whose values all lie in 0..MAX_CODE is a code or a scale (flags,
# ratings, small counts): its range is the observed one, not extrapolated, so a 0/1 flag
# stays 0..1 and a 2 fails validation. (Years and measurements are extrapolated.)
MAX_CODE = 10
# The drafted min_accuracy is at least the majority class's share plus this: a model
# that always predicts the most common class must not pass.
MIN_LIFT = 0.05
# Classes are called imbalanced when the largest is this many times the smallest.
IMBALANCE_RATIO = 3.0
MISSING_VALUES = ("NA", "")
_INT = re.compile(r"^[+-]?\d+$")


@dataclass
class Draft:
    """A profiled contract: the YAML mapping plus what a human should know about it."""

    contract: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    extrapolated: list[str] = field(default_factory=list)


def _nice_floor(value: float, step: float) -> float:
    return math.floor(value / step) * step


def _nice_ceil(value: float, step: float) -> float:
    return math.ceil(value / step) * step


def numeric_range(values: pd.Series, is_int: bool) -> tuple[float, float]:
    """[min, max] widened by RANGE_MARGIN of the span, rounded outwards to a round step,
    never below 0 for data that is never negative (weights, counts, concentrations)."""
    lo, hi = float(values.min()), float(values.max())
    margin = (hi - lo) * RANGE_MARGIN or abs(hi) * RANGE_MARGIN or 1.0
    step = 10 ** math.floor(math.log10(margin))
    if is_int:
        step = max(step, 1)
    low, high = _nice_floor(lo - margin, step), _nice_ceil(hi + margin, step)
    if lo >= 0:
        low = max(low, 0.0)
    if is_int:
        return int(low), int(high)
    digits = max(0, -math.floor(math.log10(step)))
    return float(round(low, digits)), float(round(high, digits))


def null_allowance(observed: float) -> float:
    """The observed null share with headroom (twice it, plus two points), since a
    smaller batch or one split may see more nulls than the whole file; 0 stays 0, so a
    column never seen empty must stay full."""
    if observed == 0:
        return 0.0
    return min(1.0, math.ceil((observed * 2 + 0.02) * 100) / 100)


def _is_date(values: pd.Series) -> bool:
    with warnings.catch_warnings():
        # pandas warns when it falls back to per-element format guessing.
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(values, errors="coerce")
    return bool(parsed.notna().all())


def _profile_column(name: str, values: pd.Series, label: str, draft: Draft) -> dict[str, Any]:
    present = values.dropna()
    observed_null = float(values.isna().mean())
    spec: dict[str, Any] = {}
    distinct = sorted(present.unique(), key=str)
    numbers = pd.to_numeric(present, errors="coerce")
    numeric = len(present) > 0 and bool(numbers.notna().all())
    if name == label:
        spec = {"type": "categorical", "role": "label", "domain": [str(v) for v in distinct]}
        if numeric:
            draft.checks.append(
                f"label '{name}': the classes are numbers ({distinct[:5]}); TFX's CSV reader "
                "reads them as numbers, not categories: map them to names in the CSV"
            )
        draft.checks.append(
            f"label '{name}': classes {spec['domain']} (class index = position; "
            "every class must appear in the data)"
        )
        if observed_null:
            draft.checks.append(f"label '{name}': {observed_null:.1%} of the rows have no label")
        spec["max_null_fraction"] = 0.0
        return spec
    if len(present) == 0:
        draft.notes.append(f"{name}: always empty -> text, role ignored")
        return {"type": "text", "role": "ignored", "max_null_fraction": 1.0}
    constant = len(distinct) == 1
    if numeric:
        is_int = bool(present.map(lambda v: bool(_INT.match(str(v)))).all())
        observed = (numbers.min(), numbers.max())
        if is_int and 0 <= observed[0] and observed[1] <= MAX_CODE:
            low, high = int(observed[0]), int(observed[1])
            kind = "a 0/1 flag" if (low, high) == (0, 1) else f"{len(distinct)} codes"
            draft.notes.append(f"{name}: {kind} -> int, range {low}..{high} as observed")
        else:
            low, high = numeric_range(numbers, is_int)
            draft.extrapolated.append(f"{name} {observed[0]:g}..{observed[1]:g} -> {low}..{high}")
        spec = {"type": "int" if is_int else "float", "role": "feature", "min": low, "max": high}
    elif _is_date(present):
        spec = {"type": "text", "role": "ignored"}
        draft.notes.append(
            f"{name}: dates -> text, role ignored (not a model input; derive features such "
            "as month or weekday into their own columns if they matter)"
        )
    elif len(distinct) > MAX_CATEGORIES or len(distinct) > MAX_UNIQUE_SHARE * len(present):
        spec = {"type": "text", "role": "ignored"}
        draft.notes.append(
            f"{name}: {len(distinct)} distinct strings in {len(present)} rows -> free text, "
            "role ignored (validated for presence only)"
        )
    else:
        spec = {"type": "categorical", "role": "feature", "domain": [str(v) for v in distinct]}
    if constant and spec["role"] == "feature":
        spec["role"] = "ignored"
        draft.notes.append(
            f"{name}: constant ({distinct[0]!r}) -> {spec['type']}, role ignored "
            "(carries no information; validated so a change is noticed)"
        )
    spec["max_null_fraction"] = null_allowance(observed_null)
    if observed_null:
        draft.checks.append(
            f"{name}: {observed_null:.1%} missing; allowed up to {spec['max_null_fraction']:.0%}"
        )
    return spec


def profile_csv(
    csv: Path,
    label: str,
    name: str,
    data_path: str | None = None,
    missing_values: tuple[str, ...] = MISSING_VALUES,
) -> Draft:
    """A first contract for `csv`, named `name`, predicting `label`."""
    raw = read_raw_text(Path(csv))
    if label not in raw.columns:
        raise ValueError(f"label column '{label}' is not in {csv}: columns {list(raw.columns)}")
    frame = raw.replace({v: None for v in missing_values})
    draft = Draft(contract={})
    columns = {c: _profile_column(c, frame[c], label, draft) for c in frame.columns}
    classes = columns[label]["domain"]
    if len(classes) < 2:
        raise ValueError(f"label column '{label}' has {len(classes)} class(es); need 2 or more")
    features = [c for c, s in columns.items() if s["role"] == "feature"]
    if not features:
        raise ValueError(f"no column of {csv} can be a feature (all text, dates or constant)")
    rows = len(frame)
    min_accuracy = _min_accuracy(frame[label].dropna(), label, draft)
    draft.contract = {
        "name": name,
        "path": data_path or str(csv),
        "missing_values": list(missing_values),
        # A batch much smaller than the profiled file is suspicious; never below 20.
        "min_rows": max(20, rows // 4),
        "label": {"column": label, "classes": classes},
        "columns": columns,
        # Half the eval rows this CSV would give, up to the default: a small sample of the
        # data still runs, while a later batch much smaller than it stops.
        "split": {
            "eval_fraction": 0.25,
            "seed": 42,
            "min_eval_rows": min(DEFAULT_MIN_EVAL_ROWS, max(1, int(rows * 0.25) // 2)),
        },
        "hyperparameters": {
            "hidden_units": [16, 8],
            "learning_rate": 0.01,
            "epochs": 40,
            "batch_size": 16,
            "seed": 42,
            "early_stopping_patience": 5,
        },
        "evaluation": {
            "min_accuracy": min_accuracy,
            "max_accuracy_drop": 0.02,
            "min_lift_over_baseline": MIN_LIFT,
        },
        "drift": {
            "max_category_shift": 0.3,
            "max_jensen_shannon_divergence": DEFAULT_JENSEN_SHANNON,
        },
        "mlflow": {"experiment": name, "model_name": name},
    }
    if draft.extrapolated:
        draft.checks.append(
            "columns.*.min/max: these ranges are the observed ones widened by 10% of the "
            "span; set them to what is plausible, not what this file happened to hold: "
            + "; ".join(draft.extrapolated)
        )
    draft.checks += [
        "columns.*.domain: every category a future batch may hold; an unseen one fails validation",
        f"min_rows: {draft.contract['min_rows']} (a quarter of the {rows} profiled rows)",
        f"evaluation.min_accuracy: {min_accuracy}, drafted from the data (the larger of the "
        f"majority class's share + {MIN_LIFT} and chance + 0.2); set the accuracy the model "
        "must reach to be pushed / promoted",
        "hyperparameters: defaults; tune them until both pipelines pass the accuracy gate",
    ]
    return draft


def _min_accuracy(labels: pd.Series, label: str, draft: Draft) -> float:
    """An accuracy a constant predictor cannot reach: above the majority class's share
    by MIN_LIFT, and never below chance + 0.2; a warning with the shares when the
    classes are imbalanced (accuracy then says little: read the per-class recall)."""
    shares = labels.astype(str).value_counts(normalize=True)
    majority = float(shares.iloc[0])
    drafted = max(majority + MIN_LIFT, 1.0 / len(shares) + 0.2)
    drafted = min(math.ceil(drafted * 100) / 100, 0.99)
    if majority / float(shares.iloc[-1]) >= IMBALANCE_RATIO:
        listed = ", ".join(f"{name} {share:.1%}" for name, share in shares.items())
        draft.warnings.append(
            f"label '{label}' is imbalanced ({listed}): always predicting "
            f"'{shares.index[0]}' scores {majority:.3f}; min_accuracy drafted as {drafted} "
            "(majority + lift); judge the model by its per-class recall too"
        )
    return drafted


def _flow(value: Any) -> str:
    """A YAML flow value: lists and scalars on one line, like data/penguins.yaml."""
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _quote(text: str) -> str:
    """Plain when YAML reads it back as the same string, else double-quoted."""
    import yaml

    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_./\- ]*", text) and not text.endswith(" ")
    if plain and yaml.safe_load(text) == text:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _mapping(spec: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in spec.items()) + "}"


def contract_yaml(draft: Draft, source: str) -> str:
    """The contract as commented YAML in the layout of data/penguins.yaml."""
    c = draft.contract
    width = max(len(n) for n in c["columns"]) + 1
    columns = "\n".join(
        f"  {_quote(n) + ':':<{width}} {_mapping(s)}" for n, s in c["columns"].items()
    )
    hp = c["hyperparameters"]
    return f"""# The dataset contract of {_quote(c["name"])}: the one description of the data both
# pipelines read. Drafted by `python -m pipelines init-contract` from {source}:
# review every range, domain, class and threshold before committing it.
name: {_quote(c["name"])}
path: {_quote(c["path"])}
missing_values: {_flow(c["missing_values"])}
min_rows: {c["min_rows"]}

label:
  column: {_quote(c["label"]["column"])}
  classes: {_flow(c["label"]["classes"])}   # class index = position in this list

# Every column of the CSV, in order. type: int | float | categorical | text.
# role: feature (model input), label, or ignored (validated, not used by the model);
# text (free text, dates, ids) is only allowed as ignored: presence and nulls are checked.
columns:
{columns}

split:
  eval_fraction: {c["split"]["eval_fraction"]}
  seed: {c["split"]["seed"]}
  min_eval_rows: {c["split"]["min_eval_rows"]}  # fewer eval rows cannot judge a model

training:
  window_spans: {DEFAULT_WINDOW_SPANS}  # data in span-<N>/ folders: train on the newest N

hyperparameters:
  hidden_units: {_flow(hp["hidden_units"])}
  learning_rate: {hp["learning_rate"]}
  epochs: {hp["epochs"]}
  batch_size: {hp["batch_size"]}
  seed: {hp["seed"]}
  early_stopping_patience: {hp["early_stopping_patience"]}

evaluation:
  min_accuracy: {c["evaluation"]["min_accuracy"]}
  max_accuracy_drop: {c["evaluation"]["max_accuracy_drop"]}
  # above always predicting the majority class, on the same eval rows (both gates)
  min_lift_over_baseline: {c["evaluation"]["min_lift_over_baseline"]}

drift:
  # both stacks, against the shipped data: L-infinity / Jensen-Shannon, as TFDV defines them
  max_category_shift: {c["drift"]["max_category_shift"]}
  max_jensen_shannon_divergence: {c["drift"]["max_jensen_shannon_divergence"]}

mlflow:
  experiment: {_quote(c["mlflow"]["experiment"])}
  model_name: {_quote(c["mlflow"]["model_name"])}  # each stack registers <model_name>-<stack>
"""
