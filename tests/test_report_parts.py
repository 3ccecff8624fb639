"""The report's measured parts: code lines and install footprint."""

from __future__ import annotations

from components.report.code_size import count_code_lines, lines_per_stage
from components.report.footprint import measure


def test_code_lines_skip_comments_docstrings_and_blanks():
    source = (
        '"""Module doc."""\n\n# comment\n'
        'def f(x):\n    """Doc."""\n    return (x +\n        1)\n'
    )
    assert count_code_lines(source) == 3


def test_each_stack_has_counted_code():
    for stack in ("tfx", "lightning"):
        stages = lines_per_stage(stack)
        assert stages, stack
        assert all(n > 0 for n in stages.values()), stages


def test_footprint_measures_both_stacks():
    by_stack = {f.stack: f for f in measure()}
    assert by_stack["tfx"].packages > 50 and by_stack["tfx"].megabytes > 500
    assert by_stack["lightning"].packages > 20 and by_stack["lightning"].megabytes > 300
    assert 0 < by_stack["tfx"].shared_packages == by_stack["lightning"].shared_packages
