"""Lines of code each stack needed, counted from the source tree, per pipeline and stage."""

from __future__ import annotations

import io
import tokenize
from pathlib import Path

from components.shared import stacks
from components.shared.contract import REPO_ROOT

# Code a stack needed: its files under these folders (stacks.toml), not its tests or docs.
CODE_FOLDERS = ("pipelines/", "components/", "models/")


def count_code_lines(source: str) -> int:
    """Lines holding code: blank lines, comments and docstrings are not counted."""
    lines: set[int] = set()
    previous = tokenize.NEWLINE
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT):
            pass
        elif tok.type == tokenize.DEDENT or tok.type == tokenize.ENDMARKER:
            pass
        elif tok.type == tokenize.STRING and previous in (tokenize.NEWLINE, tokenize.INDENT):
            pass  # a docstring, or a bare string statement
        else:
            lines.update(range(tok.start[0], tok.end[0] + 1))
        if tok.type not in (tokenize.COMMENT, tokenize.NL):
            previous = tok.type
    return len(lines)


def _files(stack: str, root: Path) -> list[Path]:
    wing = stacks.load(root)[stack]
    code = tuple(p for p in wing.paths if p.startswith(CODE_FOLDERS))
    return [p for p in stacks.files_under(code, root, suffix=".py") if p.name != "__init__.py"]


def lines_per_stage(stack: str, root: Path = REPO_ROOT) -> dict[str, int]:
    """{stage (module name): code lines} for one stack's own files."""
    return {p.stem: count_code_lines(p.read_text()) for p in _files(stack, root)}
