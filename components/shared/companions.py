"""Contract companions: the files each stack generates from a contract, beside it.

Each stack names its companion module in stacks.toml; that module's `write_companion`
writes the file. `python -m components.shared.companions CONTRACT.yaml...` writes every
stack's companion of each contract (`make contract-artifacts` passes data/*.yaml); a
stack's own module, run with `python -m`, writes only its own.

Each companion module also has `fresh_companion(contract) -> Path`, which a run calls.
Every companion carries a stamp line: the hash of the contract sections it was made from
and the hash of its own text. A run checks it (`fresh`): a companion made from another
version of the contract is regenerated when its text is as generated, and refused (exit 1,
with the command to run) when someone edited it since; so both stacks always enforce the
contract as it is now.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from components.shared import stacks
from components.shared.contract import Contract, ContractError, load_contract

_PLACEHOLDER = "contract-sha256: <stamp>"
_STAMP = re.compile(r"contract-sha256: ([0-9a-f]{16}), body-sha256: ([0-9a-f]{16})")


def contract_digest(contract: Contract, sections: Sequence[str]) -> str:
    """The hash of the contract sections a companion is made from (not of the file: a
    comment or a changed threshold does not make a schema stale)."""
    made_from = {key: contract.raw.get(key) for key in sections}
    text = json.dumps(made_from, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _body_digest(text: str) -> str:
    """The hash of a companion's text without its stamp line."""
    body = "".join(
        line for line in text.splitlines(keepends=True) if "contract-sha256: " not in line
    )
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def stamped(contract: Contract, sections: Sequence[str], render: Callable[[str], str]) -> str:
    """The companion's text with its stamp: `render(stamp)` must put `stamp` on a line
    of its own (a comment, a JSON string field)."""
    draft = render(_PLACEHOLDER)
    if draft.count(_PLACEHOLDER) != 1:
        raise AssertionError("render() must place the stamp exactly once")
    stamp = (
        f"contract-sha256: {contract_digest(contract, sections)}, "
        f"body-sha256: {_body_digest(draft)}"
    )
    return draft.replace(_PLACEHOLDER, stamp)


def fresh(
    path: Path,
    contract: Contract,
    sections: Sequence[str],
    write: Callable[[Contract], Path],
    command: str,
) -> Path:
    """`path`, made from the contract as it is now: regenerated with `write` (and said
    so) when it was made from another version and not edited since; ContractError
    (exit 1) naming `command` when it is missing, or stale and edited by hand."""
    if not path.exists():
        raise ContractError(f"{path} is missing; create it with `{command}`")
    text = path.read_text()
    found = _STAMP.search(text)
    if found and found.group(1) == contract_digest(contract, sections):
        return path
    if found and found.group(2) == _body_digest(text):
        write(contract)
        print(f"regenerated {path}: {contract.source.name} changed since it was written")
        return path
    why = "was edited by hand" if found else "has no contract stamp"
    raise ContractError(
        f"{path} was not made from {contract.source} as it is now and {why}; "
        f"review your edits, then regenerate it with `{command}` (or `make contract-artifacts`)"
    )


def write_companions(argv: list[str], module: str, write: Callable[[Contract], Path]) -> int:
    """Write one companion per contract path in `argv` with `write`; print each path.

    `module` is the generator's `python -m` name, for the usage message. Returns the exit
    code: 1 (with usage on stderr) when no contract is given.
    """
    if not argv:
        print(f"usage: python -m {module} CONTRACT.yaml...", file=sys.stderr)
        return 1
    for path in argv:
        print(f"wrote {write(load_contract(path))}")
    return 0


def main(argv: list[str]) -> int:
    """Every stack's companion of each contract in `argv`."""
    for stack in stacks.load().values():
        module = importlib.import_module(stack.companion_module)
        code = write_companions(argv, stack.companion_module, module.write_companion)
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
