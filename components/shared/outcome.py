"""How a pipeline run ends: its outcome (recorded in MLflow as the `outcome` tag) and the
CLI's exit code. Every stack and the report use these; no other module spells them."""

from __future__ import annotations

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

    def __str__(self) -> str:
        return self.value


HELP = """exit codes:
  0  ran and the model was published (pushed, or promoted to champion)
  1  anything else: missing or unparseable data file, bad contract, crash
  2  stopped by data validation before training; nothing published
  3  trained but not blessed; the previous model stays in place"""
