"""The ecosystem claims, measured: edge exports, browser bundles, TensorBoard logs,
orchestrator targets, and the glue code each stack needed for them.

Reads only files: the pipelines' edge.json, export-web's browser.json and TensorBoard
folders in the workdir, the
repository's sources and what stacks.toml says of each stack (its glue files and
orchestrator targets). Imports no stack.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable
from pathlib import Path

from components.report.code_size import count_code_lines
from components.shared import stacks
from components.shared.contract import REPO_ROOT, Contract
from components.shared.layout import Workdir

# A claim whose code sits inside modules doing more: its lines, found by this pattern.
INLINE_PATTERN = {
    "TensorBoard": re.compile(r"tensorboard|notf", re.IGNORECASE),
    "spans and a window": re.compile(r"span|window|backfill", re.IGNORECASE),
}


def _code_lines(path: Path) -> int:
    text = path.read_text()
    if path.suffix == ".py":
        return count_code_lines(text)
    comment = "//" if path.suffix == ".js" else "#"
    return sum(
        1 for line in text.splitlines() if line.strip() and not line.lstrip().startswith(comment)
    )


def glue_lines(claim: str, stack: str, root: Path = REPO_ROOT) -> int:
    """Code lines `stack` needed for `claim` (0 when its files are gone)."""
    spec = stacks.load(root)[stack].glue.get(claim, {})
    total = sum(_code_lines(root / m) for m in spec.get("modules", ()) if (root / m).exists())
    pattern = INLINE_PATTERN.get(claim)
    for name in spec.get("inline", ()):
        path = root / name
        if pattern and path.exists():
            total += sum(
                1
                for line in path.read_text().splitlines()
                if pattern.search(line) and not line.lstrip().startswith("#")
            )
    return total


def _records(record: Callable[[str], Path]) -> dict[str, dict]:
    """{stack: the JSON at record(stack)} for the stacks that wrote one."""
    paths = {stack: record(stack) for stack in stacks.load()}
    return {stack: json.loads(path.read_text()) for stack, path in paths.items() if path.exists()}


def edge_results(workdir: Workdir, contract: Contract) -> dict[str, dict]:
    """{stack: edge.json} for the stacks that tried an edge export."""
    return _records(lambda stack: workdir.edge(stack, contract) / "edge.json")


def browser_results(workdir: Workdir, contract: Contract) -> dict[str, dict]:
    """{stack: browser.json} for the stacks whose bundle `export-web` measured."""
    return _records(lambda stack: workdir.web_bundle(stack, contract) / "browser.json")


def tensorboard_runs(workdir: Workdir, contract: Contract) -> dict[str, int]:
    """{stack: runs with TensorBoard event files} (symlinked logs followed)."""
    counts = {}
    for stack in stacks.load():
        root = workdir.tensorboard(stack, contract)
        runs = [p for p in root.iterdir() if p.is_dir()] if root.is_dir() else []
        counts[stack] = sum(1 for run in runs if any(run.rglob("events.out.tfevents.*")))
    return counts


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def orchestrators() -> list[list[str]]:
    """[stack, target, status] rows: what this tree can compile or launch, and what not
    (stacks.toml; a target that `needs` a module absent here says so)."""
    rows = []
    for name, stack in stacks.load().items():
        for target in stack.orchestrators:
            needs = target.get("needs")
            status = target["status"]
            if needs and not _installed(needs):
                status = target.get("missing", f"code ready; {needs} is not installed here")
            rows.append([name, target["target"], status])
    return rows


def gather(workdir: Workdir, contract: Contract) -> dict:
    wings = stacks.load()
    claims = sorted({claim for stack in wings.values() for claim in stack.glue})
    return {
        "edge": edge_results(workdir, contract),
        "browser": browser_results(workdir, contract),
        "tensorboard": tensorboard_runs(workdir, contract),
        "orchestrators": orchestrators(),
        "glue": {claim: {s: glue_lines(claim, s) for s in wings} for claim in claims},
    }
