"""The run machinery's speed-ups, each of which a benchmark can switch off.

`make bench-speedups` (benchmarks/speedups.py) runs each pipeline with every speed-up
on and with each one off, to show what each still pays: a speed-up that no longer pays
is code to delete. Off means named in PIPELINES_SPEEDUPS_OFF (comma-separated).
"""

from __future__ import annotations

import os

OFF_VARIABLE = "PIPELINES_SPEEDUPS_OFF"


def enabled(name: str) -> bool:
    """False when `name` is listed in PIPELINES_SPEEDUPS_OFF."""
    return name not in os.environ.get(OFF_VARIABLE, "").split(",")
