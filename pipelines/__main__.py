"""Command line: python -m pipelines <subcommand> [options].

The pipelines' subcommands come from the wings present in the tree (stacks.toml): each
wing's `cli` module names its subcommand, adds its options and returns what to run.
`all`, `report`, `serve`, `monitor`, `rollback`, `replay`, `export-web`, `ui`,
`init-contract` and `drop-stack` are shared and name no stack (`--stack` takes any stack
the manifest names).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from components.shared import stacks
from components.shared.contract import (
    DEFAULT_CONTRACT,
    REPO_ROOT,
    Contract,
    ContractError,
    load_contract,
)
from components.shared.dataset import DataFileError, DataValidationError, check_readable
from components.shared.layout import DEFAULT_WORKDIR, Workdir
from components.shared.outcome import HELP, ExitCode, Outcome, last_line
from components.shared.processes import exit_without_final_collection
from pipelines.serve import DEFAULT_PORT as SERVE_PORT

DEFAULT_SCENARIO = REPO_ROOT / "data" / "scenarios" / "penguins.yaml"


def wings() -> dict[str, ModuleType]:
    """{stack: its CLI module}, for the wings in stacks.toml, in manifest order."""
    return {name: importlib.import_module(s.cli) for name, s in stacks.load().items()}


def _add_common(parser: argparse.ArgumentParser, data: bool = True) -> None:
    parser.add_argument(
        "--contract",
        type=Path,
        default=DEFAULT_CONTRACT,
        help=f"dataset contract YAML (default: {DEFAULT_CONTRACT.relative_to(REPO_ROOT)})",
    )
    if data:
        parser.add_argument(
            "--data",
            type=Path,
            default=None,
            help="CSV to run on, or a folder of span-<N>/ folders: the newest "
            "training.window_spans of them (default: the contract's `path`)",
        )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help=f"where every output goes (default: {DEFAULT_WORKDIR}/)",
    )
    parser.add_argument("--verbose", action="store_true", help="show tracebacks and debug logs")


def build_parser(present: dict[str, ModuleType] | None = None) -> argparse.ArgumentParser:
    present = wings() if present is None else present
    titles = " vs ".join(s.title for s in stacks.load().values())
    parser = argparse.ArgumentParser(
        prog="python -m pipelines",
        description=f"{titles}: pipelines on one dataset contract.",
        epilog=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, wing in present.items():
        p = sub.add_parser(
            name, help=wing.HELP, epilog=HELP, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        _add_common(p)
        wing.add_arguments(p)
    p = sub.add_parser(
        "all",
        help=f"run every pipeline here ({', '.join(present)}) on the same data, then the report",
        epilog=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        conflict_handler="resolve",  # options two wings both take (--force)
    )
    _add_common(p)
    for wing in present.values():
        wing.add_arguments(p)
    p = sub.add_parser(
        "report", help="write <workdir>/report/<dataset>/comparison.{md,html} from MLflow"
    )
    _add_common(p, data=False)
    p = sub.add_parser("ui", help="serve the MLflow UI on the workdir's store")
    _add_common(p, data=False)
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=5000, help="port (default: 5000)")
    p = sub.add_parser("serve", help="serve a stack's champion from the MLflow registry over HTTP")
    _add_common(p, data=False)
    p.add_argument("--stack", required=True, choices=list(present), help="whose champion")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=SERVE_PORT, help=f"port (default: {SERVE_PORT})")
    servers = sorted({server for s in stacks.load().values() for server in s.servers})
    p.add_argument(
        "--server",
        default="mlflow",
        choices=["mlflow", *servers],
        help="mlflow: MLflow's scoring server, for any stack (default); "
        + "; ".join(
            f"{server}: {name} only" for name, s in stacks.load().items() for server in s.servers
        ),
    )
    p = sub.add_parser(
        "monitor",
        help="check a stack's served requests against its champion's training data "
        "(exit 0 no skew, 2 skew)",
    )
    _add_common(p, data=False)
    p.add_argument("--stack", required=True, choices=list(present), help="whose traffic")
    p.add_argument(
        "--since",
        default=None,
        metavar="WHEN",
        help="only requests from then on: a duration (30m, 2h, 1d) or an ISO time "
        "(default: every request of the latest served version)",
    )
    p.add_argument(
        "--replay",
        type=Path,
        default=None,
        metavar="FILE",
        help="first send FILE's rows through the running `serve` (e.g. "
        "data/traffic/penguins-shifted.csv), then judge exactly those requests",
    )
    p.add_argument(
        "--url",
        default=f"http://127.0.0.1:{SERVE_PORT}",
        help=f"where --replay sends (default: http://127.0.0.1:{SERVE_PORT})",
    )
    p = sub.add_parser(
        "rollback",
        help="give a stack's champion back to its previous champion (and its push, if any)",
    )
    _add_common(p, data=False)
    p.add_argument("--stack", required=True, choices=list(present), help="whose champion")
    p = sub.add_parser(
        "replay",
        help="play a day-two scenario (spans arriving, drift, bad labels, a rollback) into a "
        "fresh workdir, running every stack after each event; exit 1 when an outcome "
        "differs from the scenario's",
        description="Play a day-two scenario into a fresh workdir: after each event (a span "
        "arrives in <workdir>/arrived/, a rerun, a rollback) every stack here runs as "
        "`python -m pipelines <stack> --data <workdir>/arrived`. Prints the timeline and "
        "writes <workdir>/replay/timeline.{json,md} and each run's log; tags each MLflow run "
        "with the event. Exit 0 when every outcome is the scenario's, 1 otherwise "
        "(docs/day-two.md).",
    )
    p.add_argument(
        "--scenario",
        type=Path,
        default=DEFAULT_SCENARIO,
        help=f"the scenario file (default: {DEFAULT_SCENARIO.relative_to(REPO_ROOT)})",
    )
    p.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR / "replay",
        help=f"a fresh (absent or empty) workdir (default: {DEFAULT_WORKDIR / 'replay'}/)",
    )
    p.add_argument("--verbose", action="store_true", help="show tracebacks")
    p = sub.add_parser(
        "export-web",
        help="every champion as a static bundle that runs in a browser, one page with them "
        "all, measured in headless Chromium (docs/browser.md)",
    )
    _add_common(p, data=False)
    web = [name for name, s in stacks.load().items() if s.web and name in present]
    p.add_argument("--stack", choices=web, default=None, help="one stack only (default: all)")
    p.add_argument(
        "--no-browser",
        action="store_true",
        help="write the bundles and the page only; no Chromium measurement",
    )
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
    p = sub.add_parser(
        "drop-stack",
        help="delete one stack's files from this tree, as stacks.toml lists them",
    )
    p.add_argument("stack", choices=list(present), help="the stack to delete")
    p.add_argument("--verbose", action="store_true", help="show tracebacks")
    return parser


def _run_all(
    args: argparse.Namespace,
    present: dict[str, ModuleType],
    contract: Contract,
    data: Path,
    workdir: Workdir,
) -> int:
    from pipelines import report

    codes = {name: wing.runner(args, contract, data, workdir)() for name, wing in present.items()}
    if len(codes) > 1 and all(code == ExitCode.OK for code in codes.values()):
        from components.report.parity import measure_parity

        measure_parity(contract, data, workdir)
    report.run(contract, workdir)
    print(
        "all: "
        + ", ".join(f"{stack} exit {code}" for stack, code in codes.items())
        + f"\nall: browse the runs with `make ui` (python -m pipelines ui --workdir "
        f"{args.workdir})"
    )
    return next((code for code in codes.values() if code != ExitCode.OK), ExitCode.OK)


def _drop(stack: str) -> int:
    for path in stacks.drop(stack):
        print(f"deleted {path.relative_to(REPO_ROOT)}")
    print(f"dropped {stack}; run `make setup` to install only what the rest needs")
    return ExitCode.OK


def _runner(args: argparse.Namespace, present: dict[str, ModuleType]) -> Callable[[], int]:
    if args.command == "init-contract":
        # The one subcommand that makes a contract instead of reading one.
        from pipelines import init_contract

        check_readable(args.csv)
        return lambda: init_contract.run(args.csv, args.label, args.out, args.name, args.force)
    if args.command == "drop-stack":
        return lambda: _drop(args.stack)
    if args.command == "replay":  # the scenario names its contract
        from pipelines import replay

        return lambda: replay.run(args.scenario, Workdir(args.workdir))
    contract = load_contract(args.contract)
    data = getattr(args, "data", None) or contract.path
    workdir = Workdir(args.workdir)
    if args.command in present or args.command == "all":
        check_readable(data)
    if args.command in present:
        return present[args.command].runner(args, contract, data, workdir)
    if args.command == "all":
        return lambda: _run_all(args, present, contract, data, workdir)
    if args.command == "report":
        from pipelines import report

        return lambda: report.run(contract, workdir)
    if args.command == "serve":
        from pipelines import serve

        return lambda: serve.run(
            contract, workdir, args.stack, host=args.host, port=args.port, server=args.server
        )
    if args.command == "rollback":
        from pipelines import rollback

        return lambda: rollback.run(contract, workdir, args.stack)
    if args.command == "monitor":
        from pipelines import monitor

        return lambda: monitor.run(contract, workdir, args.stack, args.since, args.replay, args.url)
    if args.command == "export-web":
        from pipelines import export_web

        return lambda: export_web.run(contract, workdir, args.stack, not args.no_browser)
    if args.command == "ui":
        from pipelines import ui

        return lambda: ui.run(
            workdir, contract, host=args.host, port=args.port, verbose=args.verbose
        )
    raise AssertionError(args.command)


def main(argv: list[str] | None = None) -> int:
    present = wings()
    args = build_parser(present).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(_runner(args, present)())
    except (DataFileError, ContractError) as exc:
        _report(exc, args, Outcome.ERROR)
        return ExitCode.ERROR
    except DataValidationError as exc:
        _report(exc, args, Outcome.DATA_INVALID)
        return ExitCode.DATA_INVALID
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return ExitCode.ERROR


def _report(exc: BaseException, args: argparse.Namespace, outcome: Outcome) -> None:
    """One line, as every stop and failure ends (components/shared/outcome.py)."""
    if args.verbose:
        traceback.print_exception(exc)
    print(last_line(args.command, outcome, [str(exc)]), file=sys.stderr)


if __name__ == "__main__":
    exit_without_final_collection(main())
