"""The Lightning wing's subcommand, `python -m pipelines lightning`, registered by the CLI.

Cheap to import (the CLI imports it to build --help): torch, Lightning and MLflow are
imported only to run.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from components.shared.contract import Contract
from components.shared.layout import Workdir

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


def runner(
    args: argparse.Namespace, contract: Contract, data: Path, workdir: Workdir
) -> Callable[[], int]:
    """What `python -m pipelines lightning` (and `all`) runs for these parsed arguments."""

    def run() -> int:
        from pipelines.lightning import run as lightning_run

        return lightning_run.run(
            contract,
            data,
            workdir,
            devices=args.devices,
            strategy=args.strategy,
            num_nodes=args.num_nodes,
        )

    return run
