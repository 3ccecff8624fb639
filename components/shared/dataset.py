"""Reading the raw CSV and the one deterministic train/eval split both pipelines use.

A row goes to eval when sha256(seed, row text) lands in the first `eval_fraction` of
the hash space: the split depends on the row's content only, so it is the same in every
process and on every machine, and appending rows never moves the old ones.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import shutil
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from components.shared import spans as spans_
from components.shared.contract import Contract


class DataFileError(Exception):
    """The data file cannot be opened: missing, a directory, no permission (exit code 1)."""


class DataValidationError(Exception):
    """The file was opened but its content is not data the contract accepts: empty, not
    UTF-8 text, not a rectangular CSV, none of the contract's columns, too few rows
    (exit code 2, as for data a validator stops)."""


@dataclass(frozen=True)
class SpanPart:
    """One span's share of a split: its number, folder and row counts."""

    number: int
    folder: Path
    n_train: int
    n_eval: int


@dataclass(frozen=True)
class Split:
    """Every typed row of the file, the train rows first: `train` and `eval` are views
    of `rows`, so the split and the whole batch (what validation looks at) are one copy
    of the data, not two. Read from span folders, `spans` holds the training window's
    spans, oldest first; each part of the split lists their rows in that order."""

    rows: pd.DataFrame
    n_train: int
    data_sha256: str
    spans: tuple[SpanPart, ...] = ()

    @property
    def train(self) -> pd.DataFrame:
        return self.rows.iloc[: self.n_train]

    @property
    def eval(self) -> pd.DataFrame:
        part = self.rows.iloc[self.n_train :]
        return part.set_axis(pd.RangeIndex(len(part)), copy=False)

    @property
    def sizes(self) -> dict[str, int]:
        return {"train": self.n_train, "eval": len(self.rows) - self.n_train}

    def span_rows(self, number: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """One span's (train, eval) rows."""
        train_at = eval_at = 0
        for part in self.spans:
            if part.number == number:
                return (
                    self.train.iloc[train_at : train_at + part.n_train],
                    self.eval.iloc[eval_at : eval_at + part.n_eval],
                )
            train_at, eval_at = train_at + part.n_train, eval_at + part.n_eval
        raise KeyError(f"span {number} is not in this split's window")

    @property
    def arrived_train(self) -> pd.DataFrame:
        """The train rows of the batch that arrived (the newest span's; the file's): what
        the drift checks of both stacks measure."""
        return self.span_rows(self.spans[-1].number)[0] if self.spans else self.train

    @property
    def arrived(self) -> pd.DataFrame:
        """The batch that arrived: the newest span's rows (every row of a single file),
        what validation and the drift check judge."""
        if not self.spans:
            return self.rows
        train, eval_ = self.span_rows(self.spans[-1].number)
        return pd.concat([train, eval_], ignore_index=True)


def file_sha256(path: Path) -> str:
    """The file's hash, read once per process while the file is unchanged: a run over
    spans hashes its window for the fingerprint, then each span for its staged split."""
    stat = Path(path).stat()
    return _file_sha256(Path(path).resolve(), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _file_sha256(path: Path, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_sha256(path: Path, contract: Contract) -> str:
    """The data's hash: a file's, or for span folders one over the training window's."""
    path = Path(path)
    if spans_.holds_spans(path):
        return spans_.spans_sha256(training_window(path, contract))
    return file_sha256(path)


def training_window(folder: Path, contract: Contract) -> list[spans_.Span]:
    """The spans a model trains on: the newest `training.window_spans` of `folder`."""
    try:
        return spans_.window(spans_.list_spans(folder), contract.window_spans)
    except ValueError as exc:
        raise DataFileError(f"{exc} (in {folder})") from exc


def check_readable(path: Path) -> None:
    """Fail fast, before any heavy import, on a data path that can be neither a CSV file
    nor a folder of span-<N>/ folders."""
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"data file not found: {path}")
    if path.is_dir():
        if not spans_.holds_spans(path):
            raise DataFileError(
                f"data path is a directory with no span-<N>/ folder in it, neither a CSV "
                f"file nor spans: {path}"
            )
        try:
            spans_.list_spans(path)
        except ValueError as exc:
            raise DataFileError(f"{exc} (in {path})") from exc
        return
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise DataFileError(f"cannot read data file {path}: {exc.strerror}") from exc


def read_raw_text(path: Path) -> pd.DataFrame:
    """The CSV exactly as written: every cell a string, nothing parsed as missing."""
    path = Path(path)
    return _parse_text(_checked_bytes(path), path)


def _checked_bytes(path: Path) -> bytes:
    """The file's bytes, once it is known to be a non-empty, rectangular UTF-8 CSV.

    Parsed from these bytes, never from one decoded str: `io.StringIO` holds its text
    as 4-byte characters, and the CSV would then sit in memory five times over.
    """
    check_readable(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataFileError(f"cannot read data file {path}: {exc.strerror}") from exc
    if not raw.strip():
        raise DataValidationError(f"data file is empty: {path}")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataValidationError(
            f"data file is not a UTF-8 CSV (undecodable byte at offset {exc.start}): {path}"
        ) from exc
    if b"\x00" in raw:
        raise DataValidationError(f"data file holds NUL bytes, it is not a CSV: {path}")
    _check_rectangular(raw, path)
    return raw


def _parse_text(raw: bytes, path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, encoding="utf-8")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise DataValidationError(f"data file cannot be parsed as CSV ({first}): {path}") from exc


def _check_rectangular(raw: bytes, path: Path) -> None:
    """Every row has as many fields as the header. pandas would pad short rows with
    missing values and TFX's CSV decoder would stop mid-pipeline; both hide the damage."""
    rows = csv.reader(io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", newline=""))
    header = next(rows, [])
    bad = [(n, len(r)) for n, r in enumerate(rows, start=2) if r and len(r) != len(header)]
    if bad:
        where = ", ".join(f"line {n} has {k}" for n, k in bad[:3])
        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        raise DataValidationError(
            f"data file is not a rectangular CSV: the header has {len(header)} fields, "
            f"{where}{more}: {path}"
        )


def check_header(columns: list[str], contract: Contract, path: Path) -> None:
    """Stop at once on a file that shares no column with the contract: the wrong file or
    the wrong contract, which column-by-column validation would report once per column.
    Partial mismatches are left to each stack's validator, which names the columns."""
    if set(columns) & set(contract.column_names):
        return
    shown = ", ".join(columns[:5]) + (", ..." if len(columns) > 5 else "")
    raise DataValidationError(
        f"none of the contract's {len(contract.column_names)} columns is in this file "
        f"(its header: {shown}): wrong --data or --contract? "
        f"({path} against {contract.source.name})"
    )


def in_contract_order(frame: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """The frame's columns in the contract's order, then any the contract does not know.

    A CSV with a header is read by name: column order is not a property of the data, so
    a reordered file gives the same rows, the same split and the same verdicts."""
    known = [c for c in contract.column_names if c in frame.columns]
    ordered = known + [c for c in frame.columns if c not in known]
    return frame if list(frame.columns) == ordered else frame[ordered]


def _row_in_eval(row_text: str, contract: Contract) -> bool:
    return _hashed_in_eval(row_text.encode(), contract)


def _hashed_in_eval(row_text: bytes, contract: Contract) -> bool:
    digest = hashlib.sha256(f"{contract.split_seed}\x1f".encode() + row_text).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < contract.eval_fraction


def split_mask(raw: pd.DataFrame, contract: Contract) -> pd.Series:
    """True for the rows that belong to eval: each row's cells, in contract order."""
    rows = in_contract_order(raw, contract).itertuples(index=False, name=None)
    in_eval = (_row_in_eval("\x1f".join(map(str, row)), contract) for row in rows)
    return pd.Series(np.fromiter(in_eval, dtype=bool, count=len(raw)), index=raw.index)


def _mask_from_lines(raw: bytes, rows: int, contract: Contract) -> np.ndarray | None:
    """`split_mask` from the file's lines, without a string per cell, when every line is
    one row whose cells are its comma-separated fields (no quotes, no CR); None when
    the file is not that simple, and the cells must be read first."""
    if b'"' in raw or b"\r" in raw:
        return None
    lines = (line.rstrip(b"\n") for line in io.BytesIO(raw))
    lines = (line for line in lines if line)  # pandas skips blank lines too
    next(lines, None)  # the header
    in_eval = np.zeros(rows, dtype=bool)
    seen = 0
    for line in lines:
        if seen == rows:  # more lines than rows: some row spans lines after all
            return None
        in_eval[seen] = _hashed_in_eval(line.replace(b",", b"\x1f"), contract)
        seen += 1
    return in_eval if seen == rows else None


def _eval_mask(
    data: bytes,
    header: list[str],
    rows: int,
    contract: Contract,
    path: Path,
    raw: pd.DataFrame | None = None,
) -> np.ndarray:
    """Which rows belong to eval: from the file's lines when they are that simple and in
    contract order, else from the file's cells as text (`raw`, when the caller has
    parsed them already)."""
    if header == contract.column_names:
        mask = _mask_from_lines(data, rows, contract)
        if mask is not None:
            return mask
    return split_mask(_parse_text(data, path) if raw is None else raw, contract).to_numpy()


def _missing_to_empty(raw: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    return raw.replace({v: "" for v in contract.missing_values})


def split_raw(path: Path, contract: Contract) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and eval rows as raw strings, missing values as empty cells."""
    path = Path(path)
    data = _checked_bytes(path)
    raw = _parse_text(data, path)
    check_header(list(raw.columns), contract, path)
    mask = _eval_mask(data, list(raw.columns), len(raw), contract, path, raw)
    del data
    # Rebound: one copy of the file's cells at a time.
    raw = in_contract_order(_missing_to_empty(raw, contract), contract)
    return raw[~mask].reset_index(drop=True), raw[mask].reset_index(drop=True)


def to_typed(frame: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Parse the contract's numeric columns; empty cells become NaN, text stays text.

    A numeric column holding a value that is not a number stays an object column, so the
    data validation step sees, and names, the offending column instead of a parse crash.
    """
    typed = frame.replace({"": None})
    for column in contract.columns:
        if column.name not in typed.columns:
            continue
        if column.is_numeric:
            parsed = pd.to_numeric(typed[column.name], errors="coerce")
            if parsed.notna().sum() == typed[column.name].notna().sum():
                typed[column.name] = parsed.astype("float64")
    return typed


def load_split(path: Path, contract: Contract, sha256: str | None = None) -> Split:
    """The split as typed frames, the view the Lightning pipeline reads; the file is
    hashed unless its `sha256` is given. A folder of spans gives the training window's
    split, each span split as a file is."""
    path = Path(path)
    if path.is_dir():
        return _load_window(path, contract, sha256)
    data = _checked_bytes(path)
    typed = _parse_typed(data, contract)
    if typed is None:  # a numeric column holds text: parse as text, name it in validation
        raw = _parse_text(data, path)
        check_header(list(raw.columns), contract, path)
        mask = _eval_mask(data, list(raw.columns), len(raw), contract, path, raw)
        typed = to_typed(_missing_to_empty(raw, contract), contract)
        del raw
    else:
        check_header(list(typed.columns), contract, path)
        mask = _eval_mask(data, list(typed.columns), len(typed), contract, path)
    typed = in_contract_order(typed, contract)
    digest = sha256 or hashlib.sha256(data).hexdigest()
    del data
    order = np.concatenate([np.flatnonzero(~mask), np.flatnonzero(mask)])
    rows = typed.take(order).reset_index(drop=True)
    return Split(rows, int((~mask).sum()), digest)


def _load_window(folder: Path, contract: Contract, sha256: str | None) -> Split:
    window = training_window(folder, contract)
    digest = sha256 or spans_.spans_sha256(window)
    trains, evals, parts = [], [], []
    for span in window:
        # The window's hash stands in for each file's, which nothing reads.
        files = [load_split(path, contract, sha256=digest) for path in span.files]
        train = pd.concat([f.train for f in files], ignore_index=True)
        eval_ = pd.concat([f.eval for f in files], ignore_index=True)
        check_span_parts(span.number, len(train), len(eval_), span.folder)
        trains.append(train)
        evals.append(eval_)
        parts.append(SpanPart(span.number, span.folder, len(train), len(eval_)))
    rows = pd.concat([*trains, *evals], ignore_index=True)
    return Split(rows, sum(p.n_train for p in parts), digest, tuple(parts))


def check_span_parts(number: int, n_train: int, n_eval: int, folder: Path) -> None:
    """Every span of the window has rows on both sides of the split: TFX's ExampleGen
    stops on an empty split, so both stacks refuse such a span before training."""
    if n_train == 0 or n_eval == 0:
        raise DataValidationError(
            f"span {number} has {n_train} train and {n_eval} eval rows after the split; "
            f"a span needs rows on both sides: {folder}"
        )


def _parse_typed(data: bytes, contract: Contract) -> pd.DataFrame | None:
    """What `to_typed` makes of the file's raw cells, parsed in one pass: the numeric
    columns straight to float64 (no string per cell in between), the contract's missing
    values as missing. None when a numeric column holds text that is not a number."""
    numeric = {c.name: "float64" for c in contract.columns if c.is_numeric}
    try:
        typed = pd.read_csv(
            io.BytesIO(data),
            dtype=defaultdict(lambda: str, numeric),
            na_values=[*contract.missing_values, ""],
            keep_default_na=False,
            encoding="utf-8",
        )
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
    for name in typed.columns:
        if typed[name].dtype == object:  # missing text cells are None, as in to_typed
            typed[name] = typed[name].where(typed[name].notna(), None)
    return typed


@dataclass(frozen=True)
class Snapshot:
    """One run's view of its data, taken once: the data's hash, the split's sizes, and
    the folder holding the split as CSV files: <split_dir>/{train,eval}/data.csv, or for
    spans <split_dir>/span-<N>/{train,eval}/data.csv per span of the training window
    (`spans`, oldest first)."""

    data: Path
    sha256: str
    split_dir: Path
    sizes: dict[str, int]
    spans: tuple[int, ...] = ()

    @property
    def rows(self) -> int:
        return sum(self.sizes.values())

    def part_files(self, part: str) -> list[Path]:
        """Every CSV file of one side of the split ("train" or "eval")."""
        if not self.spans:
            return [self.split_dir / part / "data.csv"]
        return [self.split_dir / spans_.span_folder(n) / part / "data.csv" for n in self.spans]

    @property
    def eval_file(self) -> Path:
        """The eval rows of the newest span (of the file)."""
        return self.part_files("eval")[-1]


SNAPSHOT_RECORD = "snapshot.json"


def check_eval_rows(rows: int, contract: Contract, path: Path) -> None:
    """The shared split's eval part must be big enough to judge a model on: both stacks
    evaluate on exactly these rows, so both refuse the same files (exit 2)."""
    if rows < contract.min_eval_rows:
        raise DataValidationError(
            f"eval split has {rows} rows; the contract's split.min_eval_rows asks for at "
            f"least {contract.min_eval_rows} to judge a model: {path}"
        )


def snapshot(path: Path, contract: Contract, out_root: Path, sha256: str | None = None) -> Snapshot:
    """Hash the file (unless its `sha256` is given), and write its split where TFX's
    CsvExampleGen reads it, each split's rows in an order shuffled with the contract's
    split seed; the file is read at most once.

    Shuffled here, once and reproducibly, so that no step downstream has to: TFX's own
    ExampleGen shuffles by grouping every example by a random key, which holds the whole
    dataset in memory on Beam's DirectRunner.

    The folder is named by the data's hash and written once, so an unchanged input
    keeps its file fingerprints and a rerun hits TFX's cache; its sizes are kept beside
    it, so a rerun reads nothing.
    """
    path = Path(path)
    if path.is_dir():
        return _snapshot_spans(path, contract, Path(out_root), sha256)
    digest = sha256 or file_sha256(path)
    key = hashlib.sha256(
        f"{digest}:{contract.split_seed}:{contract.eval_fraction}:shuffled".encode()
    ).hexdigest()[:16]
    target = Path(out_root) / f"{contract.name}-{key}"
    record = target / SNAPSHOT_RECORD
    if record.exists():
        return Snapshot(path, digest, target, json.loads(record.read_text()))
    train, eval_ = split_raw(path, contract)
    # ExampleGen fails on an empty split: count the rows before TFX sees them.
    rows = len(train) + len(eval_)
    if rows < contract.min_rows or len(train) == 0 or len(eval_) == 0:
        raise DataValidationError(
            f"data file has {rows} rows ({len(train)} train, {len(eval_)} eval); "
            f"the contract asks for at least {contract.min_rows}: {path}"
        )
    check_eval_rows(len(eval_), contract, path)
    shutil.rmtree(target, ignore_errors=True)  # a folder from before sizes were recorded
    sizes = _write_split(train, eval_, contract, target, sizes_record=None)
    return Snapshot(path, digest, target, sizes)


def _write_split(
    train: pd.DataFrame,
    eval_: pd.DataFrame,
    contract: Contract,
    target: Path,
    sizes_record: dict | None,
) -> dict[str, int]:
    """Write <target>/{train,eval}/data.csv, each shuffled with the split seed, and the
    record beside them, into a partial folder renamed into place when complete."""
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)  # left by a killed run
    shuffle = np.random.default_rng(contract.split_seed)
    for name, frame in (("train", train), ("eval", eval_)):
        (staging / name).mkdir(parents=True, exist_ok=True)
        frame = frame.take(shuffle.permutation(len(frame)))
        frame.to_csv(staging / name / "data.csv", index=False)
    sizes = {"train": len(train), "eval": len(eval_)}
    record = sizes if sizes_record is None else {**sizes_record, "sizes": sizes}
    (staging / SNAPSHOT_RECORD).write_text(json.dumps(record))
    shutil.rmtree(target, ignore_errors=True)  # a span re-delivered with other rows
    staging.rename(target)
    return sizes


def _snapshot_spans(
    folder: Path, contract: Contract, out_root: Path, sha256: str | None
) -> Snapshot:
    """`snapshot` of span folders: the training window's spans staged under one root,
    each as span-<N>/{train,eval}/data.csv (the layout TFX's `{SPAN}` pattern reads),
    each written once per content. A staged span no longer in the window is removed."""
    window = training_window(folder, contract)
    key = hashlib.sha256(
        f"{folder.resolve()}:{contract.split_seed}:{contract.eval_fraction}:spans".encode()
    ).hexdigest()[:16]
    root = out_root / f"{contract.name}-spans-{key}"
    root.mkdir(parents=True, exist_ok=True)
    per_span: dict[int, dict[str, int]] = {}
    for span in window:
        span_sha = spans_.spans_sha256([span])
        target = root / spans_.span_folder(span.number)
        record = target / SNAPSHOT_RECORD
        known = json.loads(record.read_text()) if record.exists() else {}
        if known.get("sha256") == span_sha:
            span_sizes = known["sizes"]
        else:
            parts = [split_raw(path, contract) for path in span.files]
            train = pd.concat([p[0] for p in parts], ignore_index=True)
            eval_ = pd.concat([p[1] for p in parts], ignore_index=True)
            check_span_parts(span.number, len(train), len(eval_), span.folder)
            span_sizes = _write_split(train, eval_, contract, target, {"sha256": span_sha})
        per_span[span.number] = span_sizes
    kept = {spans_.span_folder(s.number) for s in window}
    for staged in root.iterdir():
        if staged.name not in kept:
            shutil.rmtree(staged, ignore_errors=True)
    newest = window[-1]
    newest_rows = sum(per_span[newest.number].values())
    if newest_rows < contract.min_rows:
        raise DataValidationError(
            f"span {newest.number} has {newest_rows} rows; the contract asks for at least "
            f"{contract.min_rows}: {newest.folder}"
        )
    sizes = {part: sum(s[part] for s in per_span.values()) for part in ("train", "eval")}
    check_eval_rows(sizes["eval"], contract, folder)
    digest = sha256 or spans_.spans_sha256(window)
    return Snapshot(folder, digest, root, sizes, tuple(s.number for s in window))
