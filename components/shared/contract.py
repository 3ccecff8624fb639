"""The dataset contract: a typed view of data/<name>.yaml, the one description of the
data (columns, types, label, split, hyperparameters, thresholds) both pipelines read."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


def _default_contract() -> Path:
    """pyproject.toml's [tool.pipelines] default-contract: the one place it is set. The
    variable PIPELINES_DEFAULT_CONTRACT overrides it (the test suite pins the shipped
    example with it, whatever contract a generated project made its default)."""
    override = os.environ.get("PIPELINES_DEFAULT_CONTRACT")
    if override:
        return REPO_ROOT / override
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    return REPO_ROOT / config["tool"]["pipelines"]["default-contract"]


DEFAULT_CONTRACT = _default_contract()

# evaluation.min_lift_over_baseline when a contract does not set it.
DEFAULT_LIFT = 0.05
# Fewer eval rows than this cannot judge a model: each row would move accuracy by > 5%.
DEFAULT_MIN_EVAL_ROWS = 20
# TFDV's skew comparator for numeric features (`monitor`): served rows against training.
DEFAULT_JENSEN_SHANNON = 0.2
# training.window_spans when a contract does not set it: the spans a model trains on.
DEFAULT_WINDOW_SPANS = 3

COLUMN_TYPES = ("int", "float", "categorical", "text")
ROLES = ("feature", "label", "ignored")
# `text` is for columns no model may use and no domain can describe (free text, dates,
# ids): only their presence and null share are validated, so it needs role: ignored.


class ContractError(ValueError):
    """The contract file itself is malformed."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    role: str
    max_null_fraction: float = 0.0
    min: float | None = None
    max: float | None = None
    domain: tuple[str, ...] = ()

    @property
    def is_numeric(self) -> bool:
        return self.type in ("int", "float")


@dataclass(frozen=True)
class Hyperparameters:
    hidden_units: tuple[int, ...]
    learning_rate: float
    epochs: int
    batch_size: int
    seed: int
    early_stopping_patience: int


@dataclass(frozen=True)
class Contract:
    name: str
    path: Path
    source: Path
    label: str
    classes: tuple[str, ...]
    columns: tuple[Column, ...]
    missing_values: tuple[str, ...]
    min_rows: int
    eval_fraction: float
    split_seed: int
    min_eval_rows: int
    hyperparameters: Hyperparameters
    min_accuracy: float
    max_accuracy_drop: float
    min_lift_over_baseline: float
    max_category_shift: float
    max_jensen_shannon_divergence: float
    window_spans: int
    experiment: str
    model_name: str
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def features(self) -> list[Column]:
        return [c for c in self.columns if c.role == "feature"]

    @property
    def drift_checked(self) -> list[Column]:
        """The columns the drift section covers: features and the label; ignored columns
        (e.g. year) are allowed to move."""
        return [c for c in self.columns if c.role != "ignored"]

    @property
    def numeric_features(self) -> list[Column]:
        return [c for c in self.features if c.is_numeric]

    @property
    def categorical_features(self) -> list[Column]:
        return [c for c in self.features if not c.is_numeric]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def registered_model(self, stack: str) -> str:
        """The MLflow registered model a stack publishes to: <model_name>-<stack>, so the
        registry lists every stack's model of this contract side by side."""
        return f"{self.model_name}-{stack}"

    def companion(self, suffix: str) -> Path:
        """A file a stack generates from this contract, beside it: data/<name><suffix>
        (each stack's suffix is in stacks.toml)."""
        return self.source.with_name(f"{self.name}{suffix}")

    def with_overrides(self, **changes: Any) -> Contract:
        """A copy with some fields replaced (e.g. another data path)."""
        from dataclasses import replace

        return replace(self, **changes)


def _model_name(ml: dict[str, Any]) -> str:
    if "registered_model" in ml and "model_name" not in ml:
        stem = str(ml["registered_model"]).removesuffix("-lightning")
        raise ContractError(
            "mlflow.registered_model is now mlflow.model_name, the stem each stack adds "
            f"'-<stack>' to: write 'model_name: {stem}'"
        )
    return str(_require(ml, "model_name", "mlflow"))


def _require(mapping: dict[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise ContractError(f"{where}: missing key '{key}'")
    return mapping[key]


def _column(name: str, spec: dict[str, Any]) -> Column:
    where = f"columns.{name}"
    ctype = _require(spec, "type", where)
    role = spec.get("role", "feature")
    if ctype not in COLUMN_TYPES:
        raise ContractError(f"{where}: type '{ctype}' is not one of {COLUMN_TYPES}")
    if role not in ROLES:
        raise ContractError(f"{where}: role '{role}' is not one of {ROLES}")
    domain = tuple(str(v) for v in spec.get("domain", ()))
    if ctype == "text" and role != "ignored":
        raise ContractError(f"{where}: a text column must have role: ignored")
    if ctype == "categorical" and not domain:
        raise ContractError(f"{where}: a categorical column needs a domain")
    if ctype in ("int", "float") and ("min" not in spec or "max" not in spec):
        raise ContractError(f"{where}: a numeric column needs min and max")
    return Column(
        name=name,
        type=ctype,
        role=role,
        max_null_fraction=float(spec.get("max_null_fraction", 0.0)),
        min=spec.get("min"),
        max=spec.get("max"),
        domain=domain,
    )


def distinct_values(column: Column, contract: Contract) -> tuple[int, int]:
    """How many distinct values a categorical column must show in a batch fit to train on:
    the label every class, a feature at least two (one value carries no signal). Both
    stacks' validators enforce it (TFDV unique_constraints, GX unique value count)."""
    most = len(column.domain)
    least = len(contract.classes) if column.role == "label" else min(2, most)
    return least, most


def read_yaml(path: Path, what: str, error: type[Exception]) -> Any:
    """The YAML file `path` (a `what`: contract, scenario) parsed; raises `error` naming
    the file when it cannot be read or is not YAML."""
    try:
        return yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise error(f"{what} {path} is not valid YAML: {exc}") from exc


def load_contract(path: str | Path = DEFAULT_CONTRACT) -> Contract:
    """Read and check a contract file; raises ContractError naming what is wrong."""
    source = Path(path).resolve()
    raw = read_yaml(source, "contract", ContractError)
    if not isinstance(raw, dict):
        raise ContractError(f"contract {path} must be a YAML mapping")

    columns = tuple(_column(n, s) for n, s in _require(raw, "columns", "contract").items())
    label_spec = _require(raw, "label", "contract")
    label = _require(label_spec, "column", "label")
    classes = tuple(str(c) for c in _require(label_spec, "classes", "label"))
    labels = [c.name for c in columns if c.role == "label"]
    if labels != [label]:
        raise ContractError(f"label: exactly one column, '{label}', must have role: label")
    if tuple(next(c for c in columns if c.name == label).domain) != classes:
        raise ContractError("label.classes must equal the label column's domain, in order")

    hp = _require(raw, "hyperparameters", "contract")
    split = _require(raw, "split", "contract")
    ev = _require(raw, "evaluation", "contract")
    drift = _require(raw, "drift", "contract")
    ml = _require(raw, "mlflow", "contract")
    if "max_mean_shift_in_std" in drift:
        raise ContractError(
            f"{path}: drift.max_mean_shift_in_std is no longer read: numeric drift is "
            "drift.max_jensen_shannon_divergence in both stacks (TFDV's measure); delete "
            "the key (default 0.2)"
        )
    lift = float(ev.get("min_lift_over_baseline", DEFAULT_LIFT))
    if not 0.0 <= lift < 1.0:
        raise ContractError(
            f"evaluation.min_lift_over_baseline: {lift} is not in [0, 1): the accuracy a model "
            "needs above always predicting the majority class"
        )
    window = raw.get("training", {}).get("window_spans", DEFAULT_WINDOW_SPANS)
    if not isinstance(window, int) or isinstance(window, bool) or window < 1:
        raise ContractError(
            f"training.window_spans: {window!r} is not a whole number >= 1: how many of the "
            "newest spans a model trains on, when the data arrives as span-<N>/ folders"
        )
    data_path = Path(_require(raw, "path", "contract"))
    if not data_path.is_absolute():
        data_path = REPO_ROOT / data_path
    return Contract(
        name=str(_require(raw, "name", "contract")),
        path=data_path,
        source=source,
        label=label,
        classes=classes,
        columns=columns,
        missing_values=tuple(raw.get("missing_values", ["NA", ""])),
        min_rows=int(raw.get("min_rows", 1)),
        eval_fraction=float(_require(split, "eval_fraction", "split")),
        split_seed=int(_require(split, "seed", "split")),
        min_eval_rows=int(split.get("min_eval_rows", DEFAULT_MIN_EVAL_ROWS)),
        hyperparameters=Hyperparameters(
            hidden_units=tuple(int(u) for u in _require(hp, "hidden_units", "hyperparameters")),
            learning_rate=float(_require(hp, "learning_rate", "hyperparameters")),
            epochs=int(_require(hp, "epochs", "hyperparameters")),
            batch_size=int(_require(hp, "batch_size", "hyperparameters")),
            seed=int(_require(hp, "seed", "hyperparameters")),
            early_stopping_patience=int(hp.get("early_stopping_patience", 5)),
        ),
        min_accuracy=float(_require(ev, "min_accuracy", "evaluation")),
        max_accuracy_drop=float(_require(ev, "max_accuracy_drop", "evaluation")),
        # Above always predicting the majority class (components/shared/baseline.py).
        min_lift_over_baseline=lift,
        max_category_shift=float(_require(drift, "max_category_shift", "drift")),
        max_jensen_shannon_divergence=float(
            drift.get("max_jensen_shannon_divergence", DEFAULT_JENSEN_SHANNON)
        ),
        window_spans=window,
        experiment=str(_require(ml, "experiment", "mlflow")),
        model_name=_model_name(ml),
        raw=raw,
    )
