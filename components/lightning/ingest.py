"""Ingest: read the CSV and split it with the shared deterministic split."""

from __future__ import annotations

import warnings
from pathlib import Path

import mlflow
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


def log_dataset(split: Split, contract: Contract, data: Path) -> None:
    """Record the data as run inputs (MLflow datasets), one per split, with its hash."""
    # MLflow registers the local-file source twice and warns that a path is ambiguous.
    warnings.filterwarnings("ignore", ".*can be interpreted in multiple ways.*")
    for context, frame in (("training", split.train), ("evaluation", split.eval)):
        dataset = mlflow.data.from_pandas(
            frame,
            source=str(Path(data).resolve()),
            name=f"{contract.name}-{context}",
            targets=contract.label if contract.label in frame.columns else None,
        )
        mlflow.log_input(dataset, context=context)
