"""Ingest: read the CSV (or the training window's spans) and split it with the shared
deterministic split."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from components.shared.contract import Contract
from components.shared.dataset import Split, load_split


def ingest(contract: Contract, data: Path, sha256: str | None = None) -> Split:
    """The typed train/eval split of `data`, a file or a folder of spans (raises
    DataFileError on an unreadable file); `sha256`: the data's hash, when it was taken
    already."""
    return load_split(Path(data), contract, sha256=sha256)


def whole_batch(split: Split) -> pd.DataFrame:
    """The batch that arrived, what validation and the drift check look at: every row of
    the file (the split's own frame, not a copy), or the newest span's rows."""
    return split.arrived
