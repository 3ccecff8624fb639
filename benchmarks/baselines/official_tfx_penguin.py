"""Baseline: TFX's own penguin example, run once with LocalDagRunner.

`create_pipeline` of tfx.examples.penguin.penguin_pipeline_local with the example's Keras
module file and its DirectRunner Beam arguments, as its `__main__` runs it, except the
Tuner and the BulkInferrer (both fail under Keras 3 at TFX 1.16) and the Transform input
cache (see below). What TFX costs with nothing on top. Every path is fixed under
--workdir, so a rerun there reuses what it can.

    .venv/bin/python benchmarks/baselines/official_tfx_penguin.py --workdir DIR [--data CSV]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from components.shared.contract import load_contract

PIPELINE_NAME = "penguin_local_keras"
# The example's processed CSV: this repository's raw columns under the example's names.
COLUMNS = {
    "bill_length_mm": "culmen_length_mm",
    "bill_depth_mm": "culmen_depth_mm",
    "flipper_length_mm": "flipper_length_mm",
    "body_mass_g": "body_mass_g",
}
# The example's `_beam_pipeline_args_by_runner['DirectRunner']`.
DEFAULT_BEAM_ARGS = ["--direct_running_mode=multi_processing", "--direct_num_workers=0"]


def write_processed_csv(raw_csv: Path | None, data_root: Path) -> Path:
    """penguins_processed.csv as the example expects it (species as its class index, four
    float features, no missing values) in <data_root>/labelled, where create_pipeline
    points CsvExampleGen. Rewritten only when its content changes, so a rerun stays
    cached."""
    contract = load_contract()
    raw = pd.read_csv(
        raw_csv or contract.path, na_values=list(contract.missing_values), keep_default_na=False
    )
    frame = raw[["species", *COLUMNS]].rename(columns=COLUMNS)
    frame["species"] = frame["species"].map({c: i for i, c in enumerate(contract.classes)})
    frame = frame.dropna().astype({c: "float64" for c in COLUMNS.values()})
    text = frame.astype({"species": "int64"}).to_csv(index=False)

    target = data_root / "labelled" / "penguins_processed.csv"
    if not target.exists() or target.read_text() != text:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return target


@contextmanager
def output_to(log: Path) -> Iterator[None]:
    """Send this process's stdout and stderr, and its children's (the user-code wheel
    build, pip installs in Beam workers, Keras progress), to `log` at the fd level."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(log, "ab") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in zip((1, 2), saved, strict=True):
                os.dup2(copy, fd)
                os.close(copy)


def run(workdir: Path, raw_csv: Path | None, serving_dir: Path, beam_args: list[str]) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from tfx import v1 as tfx
    from tfx.examples.penguin import penguin_pipeline_local as example

    data_root = workdir / "data"
    write_processed_csv(raw_csv, data_root)
    pipeline = example.create_pipeline(
        pipeline_name=PIPELINE_NAME,
        pipeline_root=str(workdir / "tfx" / "pipelines" / PIPELINE_NAME),
        data_root=str(data_root),
        module_file=str(Path(example.__file__).with_name("penguin_utils_keras.py")),
        accuracy_threshold=0.6,
        serving_model_dir=str(serving_dir),
        metadata_path=str(workdir / "tfx" / "metadata" / PIPELINE_NAME / "metadata.db"),
        user_provided_schema_path=None,
        enable_tuning=False,
        enable_bulk_inferrer=False,
        enable_example_diff=False,
        examplegen_input_config=None,
        examplegen_range_config_date=None,
        resolver_range_config=None,
        beam_pipeline_args=beam_args,
        # The example's __main__ passes True, but then Transform takes the latest
        # TransformCache as input, a new artifact every run: Transform and all after it
        # would re-execute on every rerun, and no rerun would ever be a cached one.
        enable_transform_input_cache=False,
    )
    tfx.orchestration.LocalDagRunner().run(pipeline)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--data", type=Path, help="raw penguins CSV (default: the contract's)")
    parser.add_argument(
        "--beam-arg",
        action="append",
        dest="beam_args",
        metavar="ARG",
        help="a Beam pipeline argument, as --beam-arg=--name=value (repeatable; "
        f"replaces the example's defaults {' '.join(DEFAULT_BEAM_ARGS)})",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    workdir = args.workdir.resolve()
    serving_dir = workdir / "serving_model" / PIPELINE_NAME
    log = workdir / "logs" / f"run-{time.strftime('%Y%m%dT%H%M%S')}.log"
    error: Exception | None = None
    with output_to(log):
        try:
            run(workdir, args.data, serving_dir, args.beam_args or DEFAULT_BEAM_ARGS)
        except Exception as exc:  # noqa: BLE001 - the harness wants one line and an exit code
            traceback.print_exc()
            error = exc
    if error is not None:
        first = (str(error).splitlines() or [""])[0]
        print(f"error: {type(error).__name__}: {first} (full log: {log})", file=sys.stderr)
        return 1
    pushed = sorted(serving_dir.iterdir()) if serving_dir.is_dir() else []
    print(
        f"official TFX penguin: {time.monotonic() - started:.1f} s, "
        f"latest push: {pushed[-1] if pushed else 'none'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
