"""Serve both stacks' training logs with TensorBoard: `make tensorboard`.

Arguments go to TensorBoard (`--logdir <workdir>/tensorboard --host 127.0.0.1`).
TensorBoard 2.16 uses `pkg_resources` for two things (plugin entry points, comparing
the data server's version), and the locked setuptools (>= 81) no longer ships it: the
`tensorboard` command dies on import. This gives it those two functions, from
importlib.metadata and packaging.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from importlib.metadata import entry_points

from packaging.version import parse as parse_version


def _iter_entry_points(group: str) -> Iterator[types.SimpleNamespace]:
    for entry_point in entry_points(group=group):
        yield types.SimpleNamespace(resolve=entry_point.load)


try:
    import pkg_resources  # noqa: F401
except ImportError:
    shim = types.ModuleType("pkg_resources")
    shim.iter_entry_points = _iter_entry_points
    shim.parse_version = parse_version
    sys.modules["pkg_resources"] = shim

from tensorboard.main import run_main  # noqa: E402

if __name__ == "__main__":
    run_main()
