"""The TFX wing's subcommand, `python -m pipelines tfx`, registered by the CLI.

Cheap to import (the CLI imports it to build --help): TFX is imported only to run, and
not even then when the run would repeat the last push (pipelines/tfx/fingerprint.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from components.shared.contract import Contract
from components.shared.dataset import data_sha256 as hash_data
from components.shared.fingerprint import unchanged_message
from components.shared.layout import Workdir
from components.shared.outcome import ExitCode
from components.shared.processes import exclusive_lock
from components.tfx import STACK
from pipelines.tfx.beam_options import MULTI_PROCESSING_FROM_ROWS

NAME = "tfx"
HELP = "run the TFX pipeline on Apache Beam"


def _rows(number: int) -> str:
    return f"{number // 1000:,}k" if number % 1000 == 0 else f"{number:,}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options only this pipeline takes (the CLI adds --contract, --data, --workdir)."""
    parser.add_argument(
        "--beam-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="pass ARG to every Beam-powered component (repeatable), "
        "e.g. --beam-arg=--direct_running_mode=multi_processing; without a mode or "
        f"runner, DirectRunner runs in memory below {_rows(MULTI_PROCESSING_FROM_ROWS)} "
        "rows, one process per core from there",
    )
    parser.add_argument(
        "--runner",
        choices=["direct", "portable"],
        default="direct",
        help="direct: Beam's DirectRunner in this process (default); portable: Beam's "
        "PortableRunner, with a local job service and a pool of external SDK workers "
        "started on 127.0.0.1 for the run (the protocol Flink and Spark use; "
        'docs/tfx.md, "The portable path, run here")',
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="run TFX even when data, contract, code and Beam args are unchanged since "
        "its last push (otherwise that run is reported in under a second)",
    )


def runner(
    args: argparse.Namespace, contract: Contract, data: Path, workdir: Workdir
) -> Callable[[], int]:
    """What `python -m pipelines tfx` (and `all`) runs for these parsed arguments."""
    portable = args.runner == "portable"
    return lambda: run(contract, data, workdir, args.beam_arg, args.force, portable)


def run(
    contract: Contract,
    data: Path,
    workdir: Workdir,
    beam_args: list[str],
    force: bool,
    portable: bool = False,
) -> int:
    """The TFX pipeline, unless it would only repeat its last push: that check needs no
    TFX import, the run itself does. One run per workdir at a time (SQLite MLMD is
    single-writer): the lock is taken first, so a second run refuses before importing.
    `portable`: through Beam's portable path, with local services (pipelines/tfx/portable.py)."""
    if portable:
        from pipelines.tfx.portable import PORTABLE_BEAM_ARGS

        chosen = [a for a in beam_args if a.startswith(("--runner", "--environment_"))]
        if chosen:
            print(
                f"{STACK}: failed (exit 1): --runner portable starts its own services and "
                f"sets the runner and worker environment; drop {' '.join(chosen)} "
                "(or drop --runner portable to pass your own)",
                file=sys.stderr,
            )
            return ExitCode.ERROR
        beam_args = [*beam_args, *PORTABLE_BEAM_ARGS]
    with exclusive_lock(workdir.lock(STACK)) as locked:
        if not locked:
            print(
                f"{STACK}: failed (exit 1): another TFX run is using "
                f"{workdir.stack_root(STACK)} (its MLMD store is single-writer); wait for it "
                "or use another --workdir",
                file=sys.stderr,
            )
            return ExitCode.ERROR
        return _run_locked(contract, data, workdir, beam_args, force, portable)


def _run_locked(
    contract: Contract,
    data: Path,
    workdir: Workdir,
    beam_args: list[str],
    force: bool,
    portable: bool,
) -> int:
    from pipelines.tfx import fingerprint

    data_sha256 = hash_data(data, contract)
    previous = (
        None if force else fingerprint.unchanged_run(contract, data_sha256, workdir, beam_args)
    )
    if previous is not None:
        print(unchanged_message("TFX", previous, "Beam args"), flush=True)
        return ExitCode.OK
    from pipelines.tfx import run as tfx_run

    return tfx_run.run(
        contract, data, workdir, beam_args=beam_args, data_sha256=data_sha256, portable=portable
    )
