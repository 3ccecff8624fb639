"""The command line both stacks' companion generators share (TFX schema, drift reference).

Each stack writes its own companion file of a contract; this runs its writer over the
contracts given on the command line. Several at once: `make contract-artifacts` passes
data/*.yaml.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

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
