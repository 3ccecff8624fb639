"""Projects made from this template with copier, as a user makes them (copier.yml).

The template is a git repository of the working tree as it is (tracked and untracked
files git does not ignore), committed in a temporary folder: copier copies a commit. A
rendered project gets a `.venv` symlink to this checkout's environment first (the same
packages `make setup` installs), so its tasks and tests need no setup of their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

from components.shared.contract import REPO_ROOT

COPIER = Path(sys.prefix) / "tools" / "copier" / "bin" / "copier"
WHO = ["-c", "user.name=test", "-c", "user.email=test@example.com"]


def git(tree: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *WHO, *args], cwd=tree, check=True, capture_output=True, text=True
    )
    return result.stdout


def template_repository(where: Path) -> Path:
    """This working tree as a one-commit git repository at `where`."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")  # fmt: skip
    where.mkdir(parents=True)
    archive = where.parent / f"{where.name}.tar"
    with tarfile.open(archive, "w") as tar:
        for name in filter(None, files):
            if (REPO_ROOT / name).exists():
                tar.add(REPO_ROOT / name, arcname=name, recursive=False)
    with tarfile.open(archive) as tar:
        tar.extractall(where, filter="tar")
    archive.unlink()
    git(where, "init", "-q")
    git(where, "add", "-A")
    git(where, "commit", "-q", "-m", "the template")
    return where


def clean_env(tree: Path) -> dict[str, str]:
    """This process's environment for a command in `tree`: its code first on the path,
    no MLflow or pytest settings of this session."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLFLOW_", "PYTEST_"))
        and k not in ("PYTHONPATH", "PIPELINES_DEFAULT_CONTRACT")
    }
    return {**env, "PYTHONPATH": str(tree), "PYTHONUNBUFFERED": "1"}


def copier(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(COPIER), *args, "--trust", "--defaults", "--quiet"],
        cwd=cwd, capture_output=True, text=True, timeout=600, env=clean_env(cwd),
    )  # fmt: skip


def render(template: Path, dest: Path, **answers: str) -> Path:
    """`copier copy` of `template` into `dest` with these answers, then a git repository
    of the result (what `copier update` needs, and what a user makes next)."""
    dest.mkdir(parents=True)
    (dest / ".venv").symlink_to(REPO_ROOT / ".venv")
    data = [arg for key, value in answers.items() for arg in ("--data", f"{key}={value}")]
    result = copier("copy", *data, str(template), str(dest), cwd=dest)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "from the template")
    return dest
