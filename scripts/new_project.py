"""Apply a generator's answers to a freshly copied project (copier.yml's tasks).

    python scripts/new_project.py --stacks lightning
    python scripts/new_project.py --name "Churn" --slug churn --csv /data/churn.csv --label churned

Runs with copier's Python, in the new project's folder, before the project has a .venv:
the stack drop needs only the standard library and PyYAML (components/shared/stacks.py,
the same `drop` as `python -m pipelines drop-stack`); drafting a contract needs the
project's environment, so that step sets up .venv first when there is none (`make setup`).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # copier's Python does not know this project yet

from components.shared import stacks  # noqa: E402

CHOICES = ("both", "tfx", "lightning")


def keep_stacks(choice: str, root: Path = ROOT) -> list[str]:
    """Drop every stack but `choice` ("both": none); returns the stacks dropped. Stacks
    already gone are left alone, so this runs again harmlessly on `copier update`."""
    keep = set(stacks.load(root)) if choice == "both" else {choice}
    dropped = [name for name in stacks.load(root) if name not in keep]
    for name in dropped:
        stacks.drop(name, root)
        print(f"new project: dropped the {name} stack")
    return dropped


def rename(name: str, slug: str, root: Path = ROOT) -> None:
    """The README's title and pyproject.toml's project name."""
    readme = root / "README.md"
    lines = readme.read_text().splitlines(keepends=True)
    readme.write_text("".join([f"# {name}\n", *lines[1:]]))
    pyproject = root / "pyproject.toml"
    text = re.sub(r'(?m)^name = ".*"$', f'name = "{slug}"', pyproject.read_text(), count=1)
    pyproject.write_text(text)


def pin_python(route: str, root: Path = ROOT) -> None:
    """Write .python-version, which `make setup` follows ("auto": none, its own choice)."""
    if route != "auto":
        (root / ".python-version").write_text(f"{route}\n")


def project_python(root: Path = ROOT) -> Path:
    """The project's .venv Python, set up first when there is none."""
    python = root / ".venv" / "bin" / "python"
    if not python.exists():
        print("new project: setting up .venv to draft the contract (make setup)", flush=True)
        subprocess.run(["make", "setup"], cwd=root, check=True)
    return python


def adopt_csv(csv: Path, label: str, root: Path = ROOT) -> Path:
    """Copy the CSV into data/, draft its contract with init-contract, and make that
    contract the default; returns the contract."""
    if not csv.is_file():
        raise SystemExit(f"new project: {csv} is not a file")
    data = root / "data" / csv.name
    if data.exists() and data.read_bytes() != csv.read_bytes():
        raise SystemExit(f"new project: {data} exists and differs from {csv}")
    shutil.copyfile(csv, data)
    contract = data.with_suffix(".yaml")
    drafted = subprocess.run(
        [str(project_python(root)), "-m", "pipelines", "init-contract",
         str(data.relative_to(root)), "--label", label, "--out", str(contract.relative_to(root))],
        cwd=root,
    )  # fmt: skip
    if drafted.returncode != 0:  # init-contract said why, above
        data.unlink()
        raise SystemExit(f"new project: no contract drafted from {csv}")
    pyproject = root / "pyproject.toml"
    default = f'default-contract = "{contract.relative_to(root).as_posix()}"'
    text = re.sub(r'(?m)^default-contract = ".*"$', default, pyproject.read_text(), count=1)
    pyproject.write_text(text)
    print(f"new project: {contract.relative_to(root)} is the default contract; review it")
    return contract


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", choices=CHOICES, help="the stacks to keep")
    parser.add_argument("--name", help="the project's name (README title)")
    parser.add_argument("--slug", help="its package-safe name (pyproject.toml)")
    parser.add_argument("--csv", default="", help="your CSV (absolute path; empty: none)")
    parser.add_argument("--label", default="", help="the CSV's label column")
    parser.add_argument(
        "--python", choices=("auto", "3.10", "3.11"), default="auto", help="make setup's route"
    )
    args = parser.parse_args(argv)
    if args.stacks:
        keep_stacks(args.stacks)
    if args.name:
        rename(args.name, args.slug or args.name)
    pin_python(args.python)
    if args.csv:
        if not args.label:
            parser.error("--label is required with --csv")
        adopt_csv(Path(args.csv), args.label)
    return 0


if __name__ == "__main__":
    sys.exit(main())
