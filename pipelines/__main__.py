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
from pipelines.exit_codes import HELP, ExitCode

# A stack whose files were deleted (README, "Keep one stack") drops out of the CLI.
HAS_TFX = importlib.util.find_spec("pipelines.tfx_pipeline") is not None
HAS_LIGHTNING = importlib.util.find_spec("pipelines.lightning_pipeline") is not None


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--contract",
        type=Path,
        default=DEFAULT_CONTRACT,
        help="dataset contract YAML (default: data/penguins.yaml)",
    )
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
            "e.g. --beam-arg=--direct_running_mode=multi_processing",
        )
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
    return parser


def _runner(args: argparse.Namespace) -> Callable[[], int]:
    contract = load_contract(args.contract)
    data = args.data if args.data is not None else contract.path
    workdir = args.workdir.resolve()
    check_readable(data)
    if args.command == "tfx":
        from pipelines import tfx_pipeline

        return lambda: tfx_pipeline.run(contract, data, workdir, beam_args=args.beam_arg)
    if args.command == "lightning":
        from pipelines import lightning_pipeline

        return lambda: lightning_pipeline.run(
            contract, data, workdir, devices=args.devices, strategy=args.strategy
        )
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
    sys.exit(main())
