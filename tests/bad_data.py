"""Bad inputs, made from the real penguins CSV, one function per kind of damage; and
harmless reformattings of it (FORMATTED) that both pipelines must accept.

Each maker writes a CSV under `out_dir` and returns its path. CORPUS says, for each kind,
the exit code both pipelines must give, a word the error message and the run's last line
must contain (the damaged column, or what is wrong with the file), and whether the shared
reader refuses it before any stack's validator sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from components.shared.contract import DEFAULT_CONTRACT, load_contract

PENGUINS = load_contract(DEFAULT_CONTRACT).path


def _raw() -> pd.DataFrame:
    return pd.read_csv(PENGUINS, dtype=str, keep_default_na=False)


def _write(frame: pd.DataFrame, out_dir: Path, name: str) -> Path:
    path = Path(out_dir) / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def _write_text(text: str | bytes, out_dir: Path, name: str) -> Path:
    path = Path(out_dir) / f"{name}.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def missing_column(out_dir: Path) -> Path:
    """bill_length_mm is gone."""
    return _write(_raw().drop(columns=["bill_length_mm"]), out_dir, "missing_column")


def renamed_column(out_dir: Path) -> Path:
    """sex is called gender: one column missing, one unexpected."""
    return _write(_raw().rename(columns={"sex": "gender"}), out_dir, "renamed_column")


def extra_column(out_dir: Path) -> Path:
    """A column the contract does not know, comments."""
    raw = _raw()
    raw.insert(3, "comments", "seen at dawn")
    return _write(raw, out_dir, "extra_column")


def text_in_numeric(out_dir: Path) -> Path:
    """flipper_length_mm holds words on some rows."""
    raw = _raw()
    raw.loc[raw.index % 5 == 0, "flipper_length_mm"] = "long"
    return _write(raw, out_dir, "text_in_numeric")


def out_of_range(out_dir: Path) -> Path:
    """body_mass_g recorded in milligrams: every value x1000."""
    raw = _raw()
    mask = raw["body_mass_g"] != "NA"
    raw.loc[mask, "body_mass_g"] = (raw.loc[mask, "body_mass_g"].astype(int) * 1000).astype(str)
    return _write(raw, out_dir, "out_of_range")


def unseen_category(out_dir: Path) -> Path:
    """A fourth island, Atlantis, on a third of the rows."""
    raw = _raw()
    raw.loc[raw.index % 3 == 0, "island"] = "Atlantis"
    return _write(raw, out_dir, "unseen_category")


def renamed_labels(out_dir: Path) -> Path:
    """The label spelled as in the raw LTER table: 'Adelie Penguin (Pygoscelis adeliae)'."""
    raw = _raw()
    long_names = {
        "Adelie": "Adelie Penguin (Pygoscelis adeliae)",
        "Chinstrap": "Chinstrap penguin (Pygoscelis antarctica)",
        "Gentoo": "Gentoo penguin (Pygoscelis papua)",
    }
    raw["species"] = raw["species"].map(long_names)
    return _write(raw, out_dir, "renamed_labels")


def mostly_null(column: str, name: str) -> Callable[[Path], Path]:
    """A maker: `column` missing on 80% of the rows, written as `name`.csv."""

    def make(out_dir: Path) -> Path:
        raw = _raw()
        raw.loc[raw.index % 5 != 0, column] = "NA"
        return _write(raw, out_dir, name)

    return make


mostly_null_column = mostly_null("bill_depth_mm", "mostly_null_column")
mostly_missing_label = mostly_null("species", "mostly_missing_label")


def single_class(out_dir: Path) -> Path:
    """Valid rows of one species only: a model trained on it could only ever say Adelie."""
    raw = _raw()
    return _write(raw[raw["species"] == "Adelie"], out_dir, "single_class")


def single_category(out_dir: Path) -> Path:
    """Every penguin on Biscoe: island carries no signal."""
    raw = _raw()
    raw["island"] = "Biscoe"
    return _write(raw, out_dir, "single_category")


def drifted(out_dir: Path) -> Path:
    """bill_depth_mm 3 mm deeper on every row: valid and inside the contract's range, but
    its distribution moved (Jensen-Shannon divergence about 0.4). Only a drift check sees it."""
    raw = _raw()
    known = raw["bill_depth_mm"] != "NA"
    raw.loc[known, "bill_depth_mm"] = (raw.loc[known, "bill_depth_mm"].astype(float) + 3).map(str)
    return _write(raw, out_dir, "drifted")


def tiny_eval(out_dir: Path) -> Path:
    """Every fifth row: valid, every class, enough rows, but too few eval rows to judge."""
    return _write(_raw().iloc[::5], out_dir, "tiny_eval")


def header_only(out_dir: Path) -> Path:
    return _write_text(PENGUINS.read_text().splitlines()[0] + "\n", out_dir, "header_only")


def empty_file(out_dir: Path) -> Path:
    return _write_text("", out_dir, "empty_file")


def short_rows(out_dir: Path) -> Path:
    """Some rows lost their last two fields."""
    lines = PENGUINS.read_text().splitlines()
    for i in range(5, len(lines), 40):
        lines[i] = ",".join(lines[i].split(",")[:-2])
    return _write_text("\n".join(lines) + "\n", out_dir, "short_rows")


def not_a_csv(out_dir: Path) -> Path:
    """A gzip header and binary noise where a CSV should be."""
    return _write_text(b"\x1f\x8b\x08\x00" + bytes(range(256)) * 8, out_dir, "not_a_csv")


def wrong_file(out_dir: Path) -> Path:
    """Another dataset's CSV: no column in common with the penguins contract."""
    frame = pd.DataFrame({"alcohol": ["12.1", "13.0"] * 100, "quality": ["5", "6"] * 100})
    return _write(frame, out_dir, "wrong_file")


def reordered(out_dir: Path) -> Path:
    """The shipped rows, columns in reverse order."""
    raw = _raw()
    return _write(raw[list(reversed(raw.columns))], out_dir, "reordered")


def bom_crlf(out_dir: Path) -> Path:
    """The shipped file with a UTF-8 byte-order mark and CRLF line ends (Excel's CSV)."""
    text = PENGUINS.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return _write_text(b"\xef\xbb\xbf" + text, out_dir, "bom_crlf")


def bom_crlf_reordered(out_dir: Path) -> Path:
    """All of the above at once: what the end-to-end runs use."""
    raw = _raw()
    text = raw[list(reversed(raw.columns))].to_csv(index=False, lineterminator="\r\n")
    return _write_text(b"\xef\xbb\xbf" + text.encode(), out_dir, "bom_crlf_reordered")


# Harmless: same rows, same split, same verdict as the shipped file.
FORMATTED: dict[str, Callable[[Path], Path]] = {
    "reordered": reordered,
    "bom_crlf": bom_crlf,
    "bom_crlf_reordered": bom_crlf_reordered,
}


@dataclass(frozen=True)
class Kind:
    make: Callable[[Path], Path]
    exit_code: int  # 2: the data was refused; 1 is for files that cannot be opened at all
    names: str  # a word the error message and the last line must contain
    reader: bool = False  # refused by the shared reader, before any validator


CORPUS: dict[str, Kind] = {
    "missing_column": Kind(missing_column, 2, "bill_length_mm"),
    "renamed_column": Kind(renamed_column, 2, "gender"),
    "extra_column": Kind(extra_column, 2, "comments"),
    "text_in_numeric": Kind(text_in_numeric, 2, "flipper_length_mm"),
    "out_of_range": Kind(out_of_range, 2, "body_mass_g"),
    "unseen_category": Kind(unseen_category, 2, "island"),
    "renamed_labels": Kind(renamed_labels, 2, "species"),
    "mostly_null_column": Kind(mostly_null_column, 2, "bill_depth_mm"),
    "mostly_missing_label": Kind(mostly_missing_label, 2, "species"),
    "single_class": Kind(single_class, 2, "species"),
    "single_category": Kind(single_category, 2, "island"),
    "drifted": Kind(drifted, 2, "bill_depth_mm"),
    "tiny_eval": Kind(tiny_eval, 2, "eval split"),
    "header_only": Kind(header_only, 2, "rows"),
    "empty_file": Kind(empty_file, 2, "empty", reader=True),
    "short_rows": Kind(short_rows, 2, "rectangular", reader=True),
    "not_a_csv": Kind(not_a_csv, 2, "not a UTF-8 CSV", reader=True),
    "wrong_file": Kind(wrong_file, 2, "wrong --data or --contract", reader=True),
}

# The kind each pipeline's own tests run against a workdir with earlier runs, as (maker,
# the column the message must name): one is enough there, because the reliability tests
# run every kind of the CORPUS, with the same checks, after a published run.
CORE_KINDS = ("unseen_category",)
KINDS: dict[str, tuple[Callable[[Path], Path], str]] = {
    kind: (CORPUS[kind].make, CORPUS[kind].names) for kind in CORE_KINDS
}
