"""`python -m pipelines init-contract CSV --label COLUMN`: draft a contract for a user's CSV.

Profiles the CSV (components/shared/profile.py), writes data/<name>.yaml, checks that
load_contract accepts it, then writes the companion file of each stack in the tree
(stacks.toml: each companion module's `write_companion`), and says what a human must
review.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from components.shared import stacks
from components.shared.contract import REPO_ROOT, load_contract
from components.shared.outcome import ExitCode
from components.shared.profile import contract_yaml, profile_csv


def _data_path(csv: Path) -> str:
    """Relative to the repository root when the CSV is inside it (a clone stays movable)."""
    csv = csv.resolve()
    try:
        return str(csv.relative_to(REPO_ROOT))
    except ValueError:
        return str(csv)


def run(
    csv: Path, label: str, out: Path | None = None, name: str | None = None, force: bool = False
) -> int:
    """Write the drafted contract and its companions; returns an ExitCode."""
    name = name or (out.stem if out else csv.stem)
    out = out or REPO_ROOT / "data" / f"{name}.yaml"
    if out.exists() and not force:
        print(
            f"error: {out} exists; a reviewed contract is not overwritten (use --force)",
            file=sys.stderr,
        )
        return ExitCode.ERROR
    try:
        draft = profile_csv(csv, label, name, data_path=_data_path(csv))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.ERROR
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(contract_yaml(draft, csv.name))
    contract = load_contract(out)  # what the pipelines will read, checked now
    print(f"wrote {out}: {len(contract.features)} features, classes {list(contract.classes)}")
    for note in draft.notes:
        print(f"  column {note}")
    for warning in draft.warnings:
        print(f"warning: {warning}")

    missing = []
    for stack in stacks.load().values():
        try:
            path = importlib.import_module(stack.companion_module).write_companion(contract)
            print(f"wrote {path}")
        except ImportError as exc:  # the stack's libraries are not installed
            missing.append(f"{stack.companion_module} ({exc})")
    if missing:
        print(f"not written: {', '.join(missing)}; run `make contract-artifacts` once they are")

    print("review before committing (then `make contract-artifacts` after any edit):")
    for check in draft.checks:
        print(f"  - {check}")
    alone = " / ".join(stacks.load())
    print(f"then run: python -m pipelines all --contract {_data_path(out)} (or {alone} alone)")
    return ExitCode.OK
