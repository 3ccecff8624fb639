"""Data that arrives in spans: a folder of `span-<N>/` folders, each holding CSV files.

The layout is TFX ExampleGen's own `{SPAN}` convention, so TFX reads the staged copy with
its input config unchanged, and the Lightning pipeline reads the same folders. A model
trains on the newest `training.window_spans` spans of the contract; the newest span is
the batch that arrived, the one validation and the drift check judge.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

# TFX's placeholder, as ExampleGen's split patterns spell it.
SPAN_FOLDER = "span-{SPAN}"
_SPAN_NAME = re.compile(r"span-(\d+)")


@dataclass(frozen=True)
class Span:
    number: int
    folder: Path

    @property
    def files(self) -> list[Path]:
        """The span's CSV files, in name order (the order their rows are read)."""
        return sorted(p for p in self.folder.glob("*.csv") if p.is_file())


def span_folder(number: int) -> str:
    return SPAN_FOLDER.replace("{SPAN}", str(number))


def holds_spans(path: Path) -> bool:
    """Whether `path` is a folder with at least one span-<N>/ folder in it."""
    path = Path(path)
    return path.is_dir() and any(
        _SPAN_NAME.fullmatch(p.name) and p.is_dir() for p in path.iterdir()
    )


def list_spans(folder: Path) -> list[Span]:
    """Every span-<N>/ folder of `folder`, oldest first; raises ValueError naming a span
    folder that holds no CSV file, or two folders with the same number."""
    spans: dict[int, Span] = {}
    for child in sorted(Path(folder).iterdir()):
        match = _SPAN_NAME.fullmatch(child.name)
        if not match or not child.is_dir():
            continue
        number = int(match.group(1))
        if number in spans:
            raise ValueError(
                f"two folders are span {number}: {spans[number].folder.name} and {child.name}"
            )
        spans[number] = Span(number, child)
    for span in spans.values():
        if not span.files:
            raise ValueError(f"span folder holds no .csv file: {span.folder}")
    return [spans[n] for n in sorted(spans)]


def window(spans: list[Span], window_spans: int) -> list[Span]:
    """The newest `window_spans` spans, oldest first: what a model trains on."""
    return spans[-window_spans:]


def spans_sha256(spans: list[Span]) -> str:
    """One hash over the spans' numbers and their files' bytes."""
    from components.shared.dataset import file_sha256

    digest = hashlib.sha256()
    for span in spans:
        for path in span.files:
            digest.update(f"{span.number}/{path.name}:{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def write_by_column(csv_file: Path, column: str, out: Path) -> list[Path]:
    """Cut one CSV into span folders by a column's integer values (e.g. a year): each
    value's rows, as they are in the file, into <out>/span-<value>/<file name>."""
    import pandas as pd

    rows = pd.read_csv(csv_file, dtype=str, keep_default_na=False)
    if column not in rows.columns:
        raise ValueError(f"{csv_file} has no column {column!r} to cut spans by")
    written = []
    for value, part in rows.groupby(column, sort=True):
        if not str(value).isdigit():
            raise ValueError(f"column {column!r} holds {value!r}: a span number is a whole number")
        target = Path(out) / span_folder(int(value)) / Path(csv_file).name
        target.parent.mkdir(parents=True, exist_ok=True)
        part.to_csv(target, index=False)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m components.shared.spans",
        description="cut a CSV into span-<N>/ folders by an integer column (data/penguins-spans "
        "is data/penguins.csv by year)",
    )
    parser.add_argument("csv", type=Path)
    parser.add_argument("--by", required=True, help="the column whose value is the span number")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    for path in write_by_column(args.csv, args.by, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
