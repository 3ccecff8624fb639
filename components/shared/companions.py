"""Contract companions: the files each stack generates from a contract, beside it.

Each stack names its companion module in stacks.toml; that module's `write_companion`
writes the file. `python -m components.shared.companions CONTRACT.yaml...` writes every
stack's companion of each contract (`make contract-artifacts` passes data/*.yaml); a
stack's own module, run with `python -m`, writes only its own.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path

from components.shared import stacks
from components.shared.contract import Contract, load_contract


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
