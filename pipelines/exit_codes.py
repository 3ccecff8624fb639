"""The CLI's exit codes, shared by every pipeline."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # ran, and the model was pushed / promoted
    ERROR = 1  # anything else: unreadable input, a crash, a bad contract
    DATA_INVALID = 2  # stopped by data validation before training
    NOT_BLESSED = 3  # trained, but the model failed evaluation: nothing pushed / promoted


HELP = """exit codes:
  0  ran and the model was pushed (TFX) / promoted to champion (Lightning)
  1  anything else: missing or unparseable data file, bad contract, crash
  2  stopped by data validation before training; nothing pushed or promoted
  3  trained but not blessed / not promoted; the previous model stays in place"""
