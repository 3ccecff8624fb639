"""Bad inputs, made from the real penguins CSV, one function per kind of damage.

Each returns the path of a CSV written under `out_dir`. The reliability tests feed
every kind to both pipelines; each pipeline's own tests use a few of them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from components.shared.contract import DEFAULT_CONTRACT, load_contract

PENGUINS = load_contract(DEFAULT_CONTRACT).path


def _raw() -> pd.DataFrame:
    return pd.read_csv(PENGUINS, dtype=str, keep_default_na=False)


def _write(frame: pd.DataFrame, out_dir: Path, name: str) -> Path:
    path = Path(out_dir) / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def missing_column(out_dir: Path) -> Path:
    """bill_length_mm is gone."""
    return _write(_raw().drop(columns=["bill_length_mm"]), out_dir, "missing_column")


def out_of_range(out_dir: Path) -> Path:
    """body_mass_g recorded in milligrams: every value x1000."""
    raw = _raw()
    mask = raw["body_mass_g"] != "NA"
    raw.loc[mask, "body_mass_g"] = (raw.loc[mask, "body_mass_g"].astype(int) * 1000).astype(str)
    return _write(raw, out_dir, "out_of_range")


def unseen_category(out_dir: Path) -> Path:
    """A fourth island, Atlantis, on a third of the rows."""
    raw = _raw()
    raw.loc[raw.index % 3 == 0, "island"] = "Atlantis"
    return _write(raw, out_dir, "unseen_category")


def text_in_numeric(out_dir: Path) -> Path:
    """flipper_length_mm holds words on some rows."""
    raw = _raw()
    raw.loc[raw.index % 5 == 0, "flipper_length_mm"] = "long"
    return _write(raw, out_dir, "text_in_numeric")


KINDS: dict[str, tuple[Callable[[Path], Path], str]] = {
    # kind: (maker, the column the error message must name)
    "missing_column": (missing_column, "bill_length_mm"),
    "out_of_range": (out_of_range, "body_mass_g"),
    "unseen_category": (unseen_category, "island"),
    "text_in_numeric": (text_in_numeric, "flipper_length_mm"),
}
