"""The run machinery's speed-ups, each of which a benchmark can switch off.

`make bench-speedups` (benchmarks/speedups.py) runs each pipeline with every speed-up
on and with each one off, to show what each still pays: a speed-up that no longer pays
is code to delete. Off means named in PIPELINES_SPEEDUPS_OFF (comma-separated).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

OFF_VARIABLE = "PIPELINES_SPEEDUPS_OFF"


def enabled(name: str) -> bool:
    """False when `name` is listed in PIPELINES_SPEEDUPS_OFF."""
    return name not in os.environ.get(OFF_VARIABLE, "").split(",")


@contextmanager
def modules_hidden(names: Sequence[str], speedup: str = "module-stubs") -> Iterator[None]:
    """Within the block, importing one of `names` (not yet imported) raises ImportError,
    as if it were not installed; after it, they import as usual. For optional modules a
    library probes at import and the caller never uses; unless `speedup` is off."""
    hidden = [n for n in names if n not in sys.modules] if enabled(speedup) else []
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment] - Python's "not importable"
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]
