"""Seeded N-row datasets drawn like a contract's own data, for the scaling benchmark.

A smoothed bootstrap: each generated row is a real row picked at random, its numeric
feature values moved by Gaussian noise (a twentieth of the column's spread) and kept in
the contract's range; categories, labels, ignored columns and missing cells are the
picked row's. The draw keeps the class balance, the joint structure of the features
and the missing-value rate, so the same contract's validation (TFDV schema, Great
Expectations, drift check) passes at every size. It needs nothing but the contract:
another dataset scales the same way.

    python -m benchmarks.scale_data --rows 100000 --out runs/bench/scale/data-100000

writes <out>/<name>.csv, <out>/<name>.yaml (the contract pointed at it, with the scale
run's training settings) and the contract's companion files beside it.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from components.shared import stacks
from components.shared.contract import DEFAULT_CONTRACT, Contract, load_contract
from components.shared.dataset import read_raw_text

NOISE_OF_STD = 0.05
# Training settings of the scale runs: a fixed number of passes in large batches, so time
# measures the pipelines' handling of data rather than the optimizer's step count
# (40 epochs of batch 16 over 1M rows is 2.5M steps).
SCALE_TRAINING = {"epochs": 2, "batch_size": 256, "early_stopping_patience": 2}


def generate(contract: Contract, rows: int, seed: int = 0) -> pd.DataFrame:
    """`rows` rows as raw CSV text, the contract's columns in order."""
    source = read_raw_text(contract.path)
    rng = np.random.default_rng(seed)
    drawn = source.iloc[rng.integers(0, len(source), size=rows)].reset_index(drop=True)
    for column in contract.features:
        if not column.is_numeric:
            continue
        values = pd.to_numeric(drawn[column.name], errors="coerce")
        present = values.notna().to_numpy()
        spread = float(pd.to_numeric(source[column.name], errors="coerce").std() or 0.0)
        moved = values.to_numpy() + rng.normal(0.0, NOISE_OF_STD * spread, size=rows)
        low = column.min if column.min is not None else -np.inf
        high = column.max if column.max is not None else np.inf
        moved = np.clip(np.where(present, moved, 0.0), low, high)
        text = (
            np.round(moved).astype(np.int64).astype(str)
            if column.type == "int"
            else np.char.mod("%.2f", moved)
        )
        drawn[column.name] = np.where(present, text, drawn[column.name].to_numpy())
    return drawn


def write_dataset(
    rows: int, out: Path, contract_path: Path = DEFAULT_CONTRACT, seed: int = 0
) -> Path:
    """Write the data, its contract and companions under `out`; returns the contract path.

    An existing dataset of the same size and seed is kept (the scale runs reuse it)."""
    contract = load_contract(contract_path)
    out = Path(out)
    target = out / f"{contract.name}.yaml"
    data_path = out / f"{contract.name}.csv"
    spec = yaml.safe_load(contract.source.read_text())
    spec["path"] = str(data_path.resolve())
    spec["hyperparameters"] = {**spec["hyperparameters"], **SCALE_TRAINING}
    spec["generated"] = {"rows": rows, "seed": seed, "from": str(contract.path)}
    if target.exists() and yaml.safe_load(target.read_text()) == spec and data_path.exists():
        return target
    out.mkdir(parents=True, exist_ok=True)
    frame = generate(contract, rows, seed)
    partial = data_path.with_suffix(".csv.partial")
    frame.to_csv(partial, index=False)
    partial.replace(data_path)
    for stack in stacks.load().values():
        companion = contract.companion(stack.companion_suffix)
        if companion.exists():
            shutil.copy(companion, out / companion.name)
    target.write_text(yaml.safe_dump(spec, sort_keys=False))
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.scale_data", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--rows", type=int, required=True, help="rows to generate")
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    parser.add_argument("--contract", type=Path, default=DEFAULT_CONTRACT)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    print(write_dataset(args.rows, args.out, args.contract, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
