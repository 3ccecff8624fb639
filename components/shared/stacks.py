"""The wing manifest (stacks.toml): which stacks this tree holds and every file each owns.

Shared code learns about a stack only from here: the CLI imports each wing's `cli`
module, the report reads titles, colours and glue, setup installs each wing's lock.
`drop()` deletes a wing whole, the one procedure the README, the generator and the
keep-one-stack test use.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10, TFX's supported version
    import tomli as tomllib

from components.shared.contract import REPO_ROOT

MANIFEST = "stacks.toml"


@dataclass(frozen=True)
class Stack:
    name: str
    title: str
    summary: str
    color: str
    cli: str
    companion_module: str
    companion_suffix: str
    paths: tuple[str, ...]
    extra: str
    lock: str
    packages: tuple[str, ...]
    imports: tuple[str, ...]
    glue: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    orchestrators: tuple[dict[str, str], ...] = ()
    # `monitor`'s check of served traffic (components/shared/monitoring.py).
    monitor: str | None = None
    # `rollback`'s restore of what the wing publishes outside the registry, if anything: a
    # module with restore(contract, workdir, previous_version) -> what it did, in words.
    rollback: str | None = None
    # Servers beside MLflow's scoring server that `serve --server NAME` starts: {NAME:
    # a module run as `python -m MODULE --model-uri URI --log PATH --host H --port N`}.
    servers: dict[str, str] = field(default_factory=dict)
    # `export-web`'s bundle: a module with export(contract, workdir) -> the bundle folder
    # (components/shared/web.py); the npm packages its page loads, and the requirements
    # of a tool environment it needs (both installed by scripts/setup.sh).
    web: str | None = None
    web_npm: tuple[str, ...] = ()
    web_tool: str | None = None

    def files(self, root: Path = REPO_ROOT, suffix: str = "") -> list[Path]:
        """Every file under the wing's paths (only those ending in `suffix`)."""
        return files_under(self.paths, root, suffix)


def files_under(entries: tuple[str, ...], root: Path = REPO_ROOT, suffix: str = "") -> list[Path]:
    """Every file under `entries` (paths relative to `root`) ending in `suffix`, sorted."""
    found: list[Path] = []
    for entry in entries:
        path = root / entry
        if path.is_dir():
            found += sorted(p for p in path.rglob(f"*{suffix}") if p.is_file())
        elif path.is_file() and path.name.endswith(suffix):
            found.append(path)
    return [p for p in found if "__pycache__" not in p.parts]


def _stack(name: str, spec: dict[str, Any]) -> Stack:
    return Stack(
        name=name,
        title=spec["title"],
        summary=spec["summary"],
        color=spec["color"],
        cli=spec["cli"],
        companion_module=spec["companion"]["module"],
        companion_suffix=spec["companion"]["suffix"],
        paths=tuple(spec["paths"]),
        extra=spec["extra"],
        lock=spec["lock"],
        packages=tuple(spec["packages"]),
        imports=tuple(spec["imports"]),
        glue={
            claim: {kind: tuple(files) for kind, files in parts.items()}
            for claim, parts in spec.get("glue", {}).items()
        },
        orchestrators=tuple(spec.get("orchestrators", ())),
        monitor=spec.get("monitor"),
        rollback=spec.get("rollback"),
        servers=dict(spec.get("servers", {})),
        web=spec.get("web"),
        web_npm=tuple(spec.get("web_npm", ())),
        web_tool=spec.get("web_tool"),
    )


def load(root: Path = REPO_ROOT) -> dict[str, Stack]:
    """The wings of the tree at `root`, in manifest order."""
    raw = tomllib.loads((root / MANIFEST).read_text())
    return {name: _stack(name, spec) for name, spec in raw.get("stacks", {}).items()}


def drop(name: str, root: Path = REPO_ROOT) -> list[Path]:
    """Delete the wing `name` from the tree at `root`: its paths, its contract companions
    in data/, and its table in the manifest. Returns what was deleted."""
    stacks = load(root)
    if name not in stacks:
        raise KeyError(f"no stack {name!r} in {root / MANIFEST} (it has: {', '.join(stacks)})")
    stack = stacks[name]
    deleted = []
    for entry in stack.paths:
        path = root / entry
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        deleted.append(path)
    for companion in sorted((root / "data").glob(f"*{stack.companion_suffix}")):
        companion.unlink()
        deleted.append(companion)
    manifest = root / MANIFEST
    manifest.write_text(_without_tables(manifest.read_text(), f"stacks.{name}"))
    return deleted


def _without_tables(text: str, prefix: str) -> str:
    """The TOML text without the tables [prefix], [prefix.*] and [[prefix.*]]."""
    kept, skipping = [], False
    for line in text.splitlines(keepends=True):
        header = line.strip()
        if header.startswith("["):
            table = header.strip("[]").split("]")[0].strip()
            skipping = table == prefix or table.startswith(prefix + ".")
        if not skipping:
            kept.append(line)
    return "".join(kept).rstrip("\n") + "\n"
