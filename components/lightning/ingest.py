"""Ingest: read the CSV and split it with the shared deterministic split."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from components.shared.contract import Contract
from components.shared.dataset import Split, load_split


def ingest(contract: Contract, data: Path) -> Split:
    """The typed train/eval split of `data` (raises DataFileError on an unreadable file)."""
    return load_split(Path(data), contract)


def whole_batch(split: Split) -> pd.DataFrame:
    """Every row of the file (train rows first): what validation and the drift check
    look at. The split's own frame, not a copy."""
    return split.rows
