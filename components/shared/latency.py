"""One way to time a call, so both stacks' edge exports report comparable latencies."""

from __future__ import annotations

import time
from collections.abc import Callable

LATENCY_REPEATS = 200
# The batch both stacks' edge models are timed on: the first rows of the eval split,
# the same count whatever the data's size, so the figure compares across datasets.
LATENCY_BATCH_ROWS = 256


def latency_ms(call: Callable[[], object], repeats: int = LATENCY_REPEATS) -> float:
    """Mean wall time of `call` in milliseconds, after one warm-up call (first calls
    allocate)."""
    call()
    started = time.perf_counter()
    for _ in range(repeats):
        call()
    return (time.perf_counter() - started) / repeats * 1000
