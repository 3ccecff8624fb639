"""The command line: help lists what exists, a bad --data is one clear line, no traceback."""

from __future__ import annotations

import pytest

from components.shared import stacks
from tests.conftest import run_cli

STACKS = list(stacks.load())
ANY_STACK = STACKS[0]


def test_help_lists_subcommands_and_exit_codes():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in (*STACKS, "all", "report", "serve", "ui", "init-contract", "drop-stack"):
        assert command in result.stdout
    assert "exit codes" in result.stdout
    assert "stopped by data validation" in result.stdout


@pytest.mark.parametrize("command", [*STACKS, "all"])
def test_missing_data_file_is_one_line_and_exit_1(command, tmp_path):
    missing = tmp_path / "nope.csv"
    result = run_cli(command, "--data", missing, "--workdir", tmp_path / "runs")
    assert result.returncode == 1
    expected = f"{command}: failed (exit 1): data file not found: {missing}"
    assert result.stderr.strip() == expected
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists()


def test_directory_as_data_is_refused(tmp_path):
    result = run_cli(ANY_STACK, "--data", tmp_path, "--workdir", tmp_path / "runs")
    assert result.returncode == 1
    assert "is a directory" in result.stderr


def test_verbose_shows_the_traceback(tmp_path):
    result = run_cli(ANY_STACK, "--data", tmp_path / "nope.csv", "--verbose")
    assert result.returncode == 1
    assert "Traceback" in result.stderr


def test_missing_contract_is_one_line(tmp_path):
    result = run_cli(ANY_STACK, "--contract", tmp_path / "nope.yaml")
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"{ANY_STACK}: failed (exit 1): cannot read contract")


def test_each_wing_help_names_its_own_options():
    """A wing's subcommand help comes from its cli module; numbers in it from constants."""
    for stack in STACKS:
        result = run_cli(stack, "--help")
        assert result.returncode == 0, result.stderr
        assert "--contract" in result.stdout and "--workdir" in result.stdout
    if "tfx" in STACKS:
        from pipelines.tfx.beam_options import MULTI_PROCESSING_FROM_ROWS

        text = " ".join(run_cli("tfx", "--help").stdout.split())
        assert f"below {MULTI_PROCESSING_FROM_ROWS // 1000:,}k rows" in text


def test_serve_without_a_champion_says_what_to_run(tmp_path):
    result = run_cli("serve", "--stack", ANY_STACK, "--workdir", tmp_path / "runs")
    assert result.returncode == 1, result.stdout + result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"{ANY_STACK}: failed (exit 1): ") and "has no champion" in line, line
    assert f"make run-{ANY_STACK}" in line
    assert not (tmp_path / "runs").exists()  # asking created no store
