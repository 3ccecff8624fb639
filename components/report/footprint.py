"""Install footprint per stack, measured from the installed distributions' RECORD files:
the closure of the packages each stack asks for directly (stacks.toml)."""

from __future__ import annotations

import importlib.metadata as md
import re
from dataclasses import dataclass

from components.shared import stacks


@dataclass(frozen=True)
class Footprint:
    stack: str
    packages: int
    megabytes: float
    shared_packages: int  # also needed by the other stack
    shared_megabytes: float


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed() -> dict[str, md.Distribution]:
    return {_normalise(d.metadata["Name"]): d for d in md.distributions()}


def _requirements(dist: md.Distribution) -> list[str]:
    names = []
    for requirement in dist.requires or []:
        if "extra ==" in requirement:
            continue
        names.append(_normalise(re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0]))
    return names


def _closure(roots: tuple[str, ...], installed: dict[str, md.Distribution]) -> set[str]:
    seen: set[str] = set()
    todo = [_normalise(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in seen or name not in installed:
            continue
        seen.add(name)
        todo.extend(_requirements(installed[name]))
    return seen


def _megabytes(names: set[str], installed: dict[str, md.Distribution]) -> float:
    total = sum(f.size or 0 for n in names for f in (installed[n].files or []))
    return round(total / 1e6, 1)


def measure() -> list[Footprint]:
    """Packages and MB each stack needs in this environment, and how much they share."""
    installed = _installed()
    closures = {name: _closure(stack.packages, installed) for name, stack in stacks.load().items()}
    result = []
    for stack, names in closures.items():
        others = set().union(*(c for s, c in closures.items() if s != stack))
        shared = names & others
        result.append(
            Footprint(
                stack=stack,
                packages=len(names),
                megabytes=_megabytes(names, installed),
                shared_packages=len(shared),
                shared_megabytes=_megabytes(shared, installed),
            )
        )
    return result
