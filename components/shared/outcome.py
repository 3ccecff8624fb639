"""How a pipeline run ends: its outcome (recorded in MLflow as the `outcome` tag) and the
CLI's exit code. Every stack and the report use these; no other module spells them."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum, IntEnum


class ExitCode(IntEnum):
    OK = 0  # ran, and the model was pushed / promoted
    ERROR = 1  # anything else: unreadable input, a crash, a bad contract
    DATA_INVALID = 2  # stopped by data validation before training
    NOT_BLESSED = 3  # trained, but the model failed evaluation: nothing pushed / promoted


class Outcome(str, Enum):
    """The `outcome` tag of a pipeline's MLflow run (str, so it is logged as its value)."""

    PUSHED = "pushed"  # blessed and published to the serving folder
    PROMOTED = "promoted"  # blessed and given the registry's champion alias
    DATA_INVALID = "data_invalid"
    NOT_BLESSED = "not_blessed"
    ERROR = "error"

    @property
    def exit_code(self) -> ExitCode:
        return {
            Outcome.PUSHED: ExitCode.OK,
            Outcome.PROMOTED: ExitCode.OK,
            Outcome.DATA_INVALID: ExitCode.DATA_INVALID,
            Outcome.NOT_BLESSED: ExitCode.NOT_BLESSED,
            Outcome.ERROR: ExitCode.ERROR,
        }[self]

    @property
    def words(self) -> str:
        """How a last line says this outcome."""
        return {
            Outcome.PUSHED: "pushed",
            Outcome.PROMOTED: "promoted",
            Outcome.DATA_INVALID: "stopped by validation",
            Outcome.NOT_BLESSED: "not blessed",
            Outcome.ERROR: "failed",
        }[self]

    def __str__(self) -> str:
        return self.value


# The last line names at most this many reasons; the lines above it give them all.
SHOWN_REASONS = 3


def last_line(stack: str, outcome: Outcome, reasons: Sequence[str], suffix: str = "") -> str:
    """The line a run that stopped or failed prints last, the same shape in every stack:
    `tfx: stopped by validation (exit 2): island: unexpected value 'Atlantis'; ...`.
    `reasons` are one per column and cause, the most telling first."""
    unique = list(dict.fromkeys(reasons))
    shown = "; ".join(unique[:SHOWN_REASONS])
    if len(unique) > SHOWN_REASONS:
        shown += f"; and {len(unique) - SHOWN_REASONS} more above"
    line = f"{stack}: {outcome.words} (exit {int(outcome.exit_code)})"
    return line + (f": {shown}" if shown else "") + suffix


def collapse(lines: Sequence[str], limit: int | None = 10) -> list[str]:
    """Repeated lines once each, at most `limit` of them (then a count of the rest);
    None: all of them."""
    unique = list(dict.fromkeys(lines))
    if limit is None or len(unique) <= limit:
        return unique
    return unique[:limit] + [f"... and {len(unique) - limit} more (--verbose shows them all)"]


HELP = """exit codes:
  0  ran and the model was published (pushed, or promoted to champion)
  1  the run could not start or crashed: data file missing or unopenable, bad
     contract, stale contract companion, another run holding the workdir, a crash
  2  stopped by data validation, nothing trained or published: the contract's
     checks or the drift check refused the data, or the file's content is not data
     (empty, not UTF-8, not a rectangular CSV, none of the contract's columns, too
     few rows)
  3  trained but not blessed; nothing published, the previous model stays in place"""
