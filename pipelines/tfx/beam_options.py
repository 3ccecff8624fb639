"""Beam's options for a TFX run: the DirectRunner's mode chosen by data size, unless the
user chose one. No TFX import: the CLI's --help reads the threshold from here."""

from __future__ import annotations

import os
from collections.abc import Sequence

# Below this many rows one in-memory worker is fastest (worker start-up and pickling
# dominate); from it on, one worker process per core. `make bench-scale` measures the
# crossover (docs/performance.md).
MULTI_PROCESSING_FROM_ROWS = 550_000


def with_default_beam_args(beam_args: Sequence[str], rows: int | None = None) -> list[str]:
    """The user's Beam args, plus multi-processing with one worker per core from
    MULTI_PROCESSING_FROM_ROWS rows on, unless they chose a mode or another runner.

    Below that nothing is added: the DirectRunner's own default is in memory, and with no
    Beam args at all TFX also skips packaging itself as an sdist for remote workers
    (about 1.3 s per Beam component, for a package the DirectRunner never uses).
    """
    args = list(beam_args)
    if any(a.startswith(("--direct_running_mode", "--runner")) for a in args):
        return args
    if rows is not None and rows >= MULTI_PROCESSING_FROM_ROWS:
        return args + [
            "--direct_running_mode=multi_processing",
            f"--direct_num_workers={os.cpu_count() or 1}",
        ]
    return args


def runner_description(beam_args: Sequence[str]) -> str:
    """How Beam will run, for the run's header line: "DirectRunner, in_memory", ..."""
    options = dict(a.removeprefix("--").split("=", 1) for a in beam_args if "=" in a)
    runner = options.get("runner", "DirectRunner")
    if runner != "DirectRunner":
        return runner
    return f"DirectRunner, {options.get('direct_running_mode', 'in_memory')}"
