"""Command line: python -m pipelines <subcommand> [options]."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from components.shared.contract import DEFAULT_CONTRACT, ContractError, load_contract
from components.shared.dataset import DataFileError, DataValidationError, check_readable
from components.shared.processes import exit_without_final_collection
from pipelines.exit_codes import HELP, ExitCode

# A stack whose files were deleted (README, "Keep one stack") drops out of the CLI.
HAS_TFX = importlib.util.find_spec("pipelines.tfx_pipeline") is not None
HAS_LIGHTNING = importlib.util.find_spec("pipelines.lightning_pipeline") is not None


def _add_common(parser: argparse.ArgumentParser, data: bool = True) -> None:
    parser.add_argument(
        "--contract",
        type=Path,
        default=DEFAULT_CONTRACT,
        help="dataset contract YAML (default: data/penguins.yaml)",
    )
    if data:
        parser.add_argument(
            "--data",
            type=Path,
            default=None,
            help="CSV to run on (default: the contract's path, data/penguins.csv)",
        )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("runs"),
        help="where every output goes (default: runs/)",
    )
    parser.add_argument("--verbose", action="store_true", help="show tracebacks and debug logs")


def _add_force(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help="run TFX even when data, contract, code and Beam args are unchanged since "
        "its last push (otherwise that run is reported in under a second)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines",
        description="TFX vs Lightning + MLflow: two pipelines on one dataset contract.",
        epilog=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    if HAS_TFX:
        p = sub.add_parser(
            "tfx",
            help="run the TFX pipeline on Apache Beam",
            epilog=HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _add_common(p)
        p.add_argument(
            "--beam-arg",
            action="append",
            default=[],
            metavar="ARG",
            help="pass ARG to every Beam-powered component (repeatable), "
            "e.g. --beam-arg=--direct_running_mode=multi_processing; without a mode or "
            "runner, DirectRunner runs in memory below 350k rows, one process per core from there",
        )
        _add_force(p)
    if HAS_LIGHTNING:
        p = sub.add_parser(
            "lightning",
            help="run the Lightning + MLflow pipeline",
            epilog=HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _add_common(p)
        p.add_argument("--devices", type=int, default=1, help="CPU processes to train on")
        p.add_argument(
            "--strategy", default="auto", help="Lightning strategy, e.g. ddp (default: auto)"
        )
        p.add_argument(
            "--num-nodes",
            type=int,
            default=1,
            help="nodes to train on, each with --devices processes; more than 1 needs "
            "torchrun (default: 1)",
        )
    if HAS_TFX and HAS_LIGHTNING:
        p = sub.add_parser(
            "all",
            help="run both pipelines on the same data, then the report",
            epilog=HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _add_common(p)
        _add_force(p)
    p = sub.add_parser(
        "report", help="write <workdir>/report/<dataset>/comparison.{md,html} from MLflow"
    )
    _add_common(p, data=False)
    p = sub.add_parser("ui", help="serve the MLflow UI on the workdir's store")
    _add_common(p, data=False)
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=5000, help="port (default: 5000)")
    p = sub.add_parser(
        "init-contract",
        help="draft a dataset contract (data/NAME.yaml) from your CSV, for you to review",
    )
    p.add_argument("csv", type=Path, help="the CSV to profile")
    p.add_argument("--label", required=True, metavar="COLUMN", help="the column to predict")
    p.add_argument("--out", type=Path, default=None, help="default: data/NAME.yaml")
    p.add_argument("--name", default=None, help="dataset name (default: from --out or CSV)")
    p.add_argument("--force", action="store_true", help="overwrite an existing contract")
    p.add_argument("--verbose", action="store_true", help="show tracebacks")
    return parser


def _run_tfx(contract, data: Path, workdir: Path, beam_args: list[str], force: bool) -> int:
    """The TFX pipeline, unless it would only repeat its last push: that check needs no
    TFX import (components/tfx/run_fingerprint.py), the run itself does."""
    from components.tfx import run_fingerprint

    previous = None if force else run_fingerprint.unchanged_run(contract, data, workdir, beam_args)
    if previous is not None:
        print(
            f"TFX: data, contract, code and Beam args unchanged since the run of "
            f"{previous['finished']}, and its push is still the latest; nothing to run "
            f"(--force runs it anyway). That run: {previous['summary']}",
            flush=True,
        )
        return ExitCode.OK
    from pipelines import tfx_pipeline

    return tfx_pipeline.run(contract, data, workdir, beam_args=beam_args)


def _run_all(contract, data: Path, workdir: Path, force: bool = False) -> int:
    from pipelines import lightning_pipeline, report

    codes = {
        "tfx": _run_tfx(contract, data, workdir, [], force),
        "lightning": lightning_pipeline.run(contract, data, workdir),
    }
    if all(code == ExitCode.OK for code in codes.values()):
        from components.report.parity import measure_parity

        measure_parity(contract, data, workdir, report.report_dir(workdir, contract))
    report.run(contract, workdir)
    print(
        "all: "
        + ", ".join(f"{stack} exit {code}" for stack, code in codes.items())
        + f"\nall: browse the runs with `make ui` (python -m pipelines ui --workdir {workdir})"
    )
    return next((code for code in codes.values() if code != ExitCode.OK), ExitCode.OK)


def _runner(args: argparse.Namespace) -> Callable[[], int]:
    if args.command == "init-contract":
        # The one subcommand that makes a contract instead of reading one.
        from pipelines import init_contract

        check_readable(args.csv)
        return lambda: init_contract.run(args.csv, args.label, args.out, args.name, args.force)
    contract = load_contract(args.contract)
    data = getattr(args, "data", None) or contract.path
    workdir = args.workdir.resolve()
    if args.command in ("tfx", "lightning", "all"):
        check_readable(data)
    if args.command == "tfx":
        return lambda: _run_tfx(contract, data, workdir, args.beam_arg, args.force)
    if args.command == "lightning":
        from pipelines import lightning_pipeline

        return lambda: lightning_pipeline.run(
            contract,
            data,
            workdir,
            devices=args.devices,
            strategy=args.strategy,
            num_nodes=args.num_nodes,
        )
    if args.command == "all":
        return lambda: _run_all(contract, data, workdir, args.force)
    if args.command == "report":
        from pipelines import report

        return lambda: report.run(contract, workdir)
    if args.command == "ui":
        from pipelines import ui

        return lambda: ui.run(workdir, host=args.host, port=args.port)
    raise AssertionError(args.command)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(_runner(args)())
    except (DataFileError, ContractError) as exc:
        _report(exc, args.verbose)
        return ExitCode.ERROR
    except DataValidationError as exc:
        _report(exc, args.verbose)
        return ExitCode.DATA_INVALID
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return ExitCode.ERROR


def _report(exc: BaseException, verbose: bool) -> None:
    if verbose:
        traceback.print_exception(exc)
    print(f"error: {exc}", file=sys.stderr)


if __name__ == "__main__":
    exit_without_final_collection(main())
