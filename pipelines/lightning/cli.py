"""The Lightning wing's subcommand, `python -m pipelines lightning`, registered by the CLI.

Cheap to import (the CLI imports it to build --help): torch, Lightning and MLflow are
imported only to run, and not even then when the run would repeat the last promotion
(pipelines/lightning/fingerprint.py).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from components.shared.contract import Contract
from components.shared.dataset import data_sha256 as hash_data
from components.shared.fingerprint import unchanged_message
from components.shared.layout import Workdir
from components.shared.outcome import ExitCode
from components.shared.processes import return_freed_memory_promptly

NAME = "lightning"
HELP = "run the Lightning + MLflow pipeline"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options only this pipeline takes (the CLI adds --contract, --data, --workdir)."""
    parser.add_argument("--devices", type=int, default=1, help="CPU processes to train on")
    parser.add_argument(
        "--strategy", default="auto", help="Lightning strategy, e.g. ddp (default: auto)"
    )
    parser.add_argument(
        "--num-nodes",
        type=int,
        default=1,
        help="nodes to train on, each with --devices processes; more than 1 needs "
        "torchrun (default: 1)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="train even when data, contract, code and training options are unchanged "
        "since the run that made the current champion (otherwise that run is reported "
        "and nothing is recorded)",
    )


def _options(args: argparse.Namespace) -> list[str]:
    return [f"--devices={args.devices}", f"--strategy={args.strategy}",
            f"--num-nodes={args.num_nodes}"]  # fmt: skip


def runner(
    args: argparse.Namespace, contract: Contract, data: Path, workdir: Workdir
) -> Callable[[], int]:
    """What `python -m pipelines lightning` (and `all`) runs for these parsed arguments."""

    def run() -> int:
        from pipelines.lightning import fingerprint

        # Not in the TFX wing: there it slowed Beam's workers and lowered no peak
        # (docs/performance.md, "Memory").
        return_freed_memory_promptly()

        data_sha256 = taken = None
        # Under torchrun every rank runs this; only a single-process launch may skip.
        if "WORLD_SIZE" not in os.environ:
            data_sha256 = hash_data(data, contract)
            taken = fingerprint.RECORD.fingerprint(contract, data_sha256, _options(args))
            previous = None if args.force else fingerprint.unchanged_run(contract, workdir, taken)
            if previous is not None:
                print(unchanged_message("Lightning", previous, "training options"))
                return ExitCode.OK
        from pipelines.lightning import run as lightning_run

        return lightning_run.run(
            contract,
            data,
            workdir,
            devices=args.devices,
            strategy=args.strategy,
            num_nodes=args.num_nodes,
            fingerprint=taken,
            data_sha256=data_sha256,
        )

    return run
