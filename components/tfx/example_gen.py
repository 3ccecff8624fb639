"""CsvExampleGen that writes a missing CSV cell as an absent feature, streams, and
records its span where TFX's span resolvers look for it.

Stock CsvExampleGen writes an empty cell as a feature with an empty value list, which
TFDV counts as *present*: the schema's `presence.min_fraction` (the contract's
max_null_fraction) could then never fire. Dropping empty features follows the
tf.Example convention (missing = absent), so TFDV counts nulls and Transform sees them
as missing entries of a sparse feature.

Two more changes let the examples stream from the CSV to the TFRecord files instead of
waiting in memory for the whole dataset (on Beam's DirectRunner, 1M rows held 0.9 GB):
- Stock CsvExampleGen infers the column types inside the Beam pipeline, as a combine
  whose result is a side input of the conversion, so every parsed line waits until the
  whole file has been seen. Here the same inference, with tfx_bsl's own rule per value,
  reads the split's files once before the pipeline is built.
- Stock ExampleGen shuffles every split before writing it (`write_split.WriteSplit`, a
  Reshuffle: a GroupByKey on a random key per example). The split files are shuffled
  already, reproducibly, by components/shared/dataset.snapshot, so the
  examples are written in their order.

Without the Reshuffle, the stock reader (a whole file per worker) would also have left
each split in one file and Beam's multi-processing mode with one busy worker in every
later step; a file whose records are all one line each is read with Beam's splittable
text source instead, so the workers share the reading and each writes its own shard.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen import utils, write_split
from tfx.components.example_gen.csv_example_gen import executor as csv_executor
from tfx.components.example_gen.csv_example_gen.component import CsvExampleGen
from tfx.components.util import examples_utils
from tfx.dsl.components.base import executor_spec
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils
from tfx.types.standard_component_specs import (
    EXAMPLES_KEY,
    INPUT_BASE_KEY,
    INPUT_CONFIG_KEY,
    OUTPUT_CONFIG_KEY,
    OUTPUT_DATA_FORMAT_KEY,
    OUTPUT_FILE_FORMAT_KEY,
)
from tfx.utils import io_utils, proto_utils
from tfx_bsl.coders import csv_decoder

ColumnType = csv_decoder.ColumnType
# Distinct cells per column whose type is remembered; past that (an id, a measurement
# with many digits) each cell is typed anew, so the scan's memory stays bounded.
REMEMBERED_CELLS = 10_000


def column_types(csv_files: Iterable[str], column_names: list[str]) -> list[ColumnType]:
    """What tfx_bsl's ColumnTypeInferrer makes of these files, per column: the highest
    type (INT < FLOAT < STRING) of any non-empty cell, UNKNOWN for a column of empty
    cells. A cell is typed as the bytes the CSV decoder yields, each distinct one once
    (up to REMEMBERED_CELLS per column)."""
    return scan(csv_files, column_names)[0]


def scan(csv_files: Iterable[str], column_names: list[str]) -> tuple[list[ColumnType], bool]:
    """`column_types`, and whether every record is one line (no quoted line breaks)."""
    types = [ColumnType.UNKNOWN] * len(column_names)
    seen: list[set[str]] = [set() for _ in column_names]
    one_line_records = True
    for path in csv_files:
        with fileio.open(path, "rb") as lines:
            rows = csv.reader(line.decode("utf-8") for line in lines)
            next(rows, None)  # the header
            records = 0
            for cells in rows:
                records += 1
                if not cells:  # a blank line, skipped as the stock inference does
                    continue
                if len(cells) != len(column_names):
                    raise ValueError(
                        f"Columns do not match specified csv headers: {column_names} -> {cells}"
                    )
                for i, cell in enumerate(cells):
                    if types[i] == ColumnType.STRING or cell in seen[i]:
                        continue
                    if len(seen[i]) < REMEMBERED_CELLS:
                        seen[i].add(cell)
                    types[i] = max(types[i], csv_decoder._InferValueType(cell.encode()))
            one_line_records = one_line_records and rows.line_num == records + 1
    return types, one_line_records


_TO_FEATURE = {
    ColumnType.INT: lambda cell: tf.train.Feature(int64_list=tf.train.Int64List(value=[int(cell)])),
    ColumnType.FLOAT: lambda cell: tf.train.Feature(
        float_list=tf.train.FloatList(value=[float(cell)])
    ),
    ColumnType.STRING: lambda cell: tf.train.Feature(bytes_list=tf.train.BytesList(value=[cell])),
}


class _CellsToExample(beam.DoFn):
    """A parsed CSV line to a tf.Example, as stock CsvExampleGen converts it (the same
    value conversions per column type) except that empty cells are left out."""

    def __init__(self, column_names: list[str], types: list[ColumnType]) -> None:
        self._columns = [
            (name, _TO_FEATURE[kind])
            for name, kind in zip(column_names, types, strict=True)
            if kind in _TO_FEATURE
        ]
        self._positions = [i for i, kind in enumerate(types) if kind in _TO_FEATURE]
        self._width = len(column_names)

    def process(self, cells: list[bytes]) -> Iterator[tf.train.Example]:
        if not cells:  # a blank line
            return
        if len(cells) != self._width:
            raise ValueError(f"Invalid CSV line: {cells}")
        feature = {
            name: to_feature(cells[i])
            for i, (name, to_feature) in zip(self._positions, self._columns, strict=True)
            if cells[i]
        }
        yield tf.train.Example(features=tf.train.Features(feature=feature))


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(tf.train.Example)
def _CsvToExampleWithoutEmpty(pipeline, exec_properties, split_pattern):  # noqa: N802
    pattern = os.path.join(exec_properties[INPUT_BASE_KEY], split_pattern)
    csv_files = fileio.glob(pattern)
    if not csv_files:
        raise RuntimeError(f"Split pattern {split_pattern} does not match any files.")
    column_names = io_utils.load_csv_column_names(csv_files[0])
    for csv_file in csv_files[1:]:
        if io_utils.load_csv_column_names(csv_file) != column_names:
            raise RuntimeError(f"Files in same split {pattern} have different header.")
    types, one_line_records = scan(csv_files, column_names)
    if one_line_records:
        # Beam's text source splits a file into ranges that Beam's workers read in
        # parallel, and each writes its own output shard for the next steps to split.
        records = pipeline | "ReadLines" >> beam.io.ReadFromText(pattern, skip_header_lines=1)
    else:  # a quoted field spans lines: the stock reader, one file per worker
        records = (
            pipeline
            | "CreateFilenames" >> beam.Create(csv_files)
            | "ReadFromText" >> beam.ParDo(csv_executor._ReadCsvRecordsFromTextFile())
        )
    return (
        records
        | "ParseCSVLine" >> beam.ParDo(csv_decoder.ParseCSVLine(delimiter=","))
        | "ExtractParsedCSVLines" >> beam.Keys()
        | "ToTFExample" >> beam.ParDo(_CellsToExample(column_names, types))
    )


@beam.ptransform_fn
def _WriteSplitInOrder(examples, split_uri: str):  # noqa: N802
    """write_split.WriteSplit (TFRecord, gzip, its file names) without its Reshuffle."""
    return (
        examples
        | "MaybeSerialize" >> beam.ParDo(write_split.MaybeSerialize())
        | "Write"
        >> beam.io.WriteToTFRecord(os.path.join(split_uri, "data_tfrecord"), file_name_suffix=".gz")
    )


class Executor(csv_executor.Executor):
    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:  # noqa: N802
        return _CsvToExampleWithoutEmpty

    def Do(self, input_dict, output_dict, exec_properties) -> None:  # noqa: N802
        """BaseExampleGenExecutor.Do, writing each split with _WriteSplitInOrder."""
        self._log_startup(input_dict, output_dict, exec_properties)
        input_config = example_gen_pb2.Input()
        proto_utils.json_to_proto(exec_properties[INPUT_CONFIG_KEY], input_config)
        output_config = example_gen_pb2.Output()
        proto_utils.json_to_proto(exec_properties[OUTPUT_CONFIG_KEY], output_config)
        examples = output_dict[EXAMPLES_KEY]
        split_names = utils.generate_output_split_names(input_config, output_config)
        artifact = artifact_utils.get_single_instance(examples)
        artifact.split_names = artifact_utils.encode_split_names(split_names)
        # TFX 1.16's ExampleGen driver records the span only as a custom property, while
        # the span resolvers (rolling_range, LatestSpan) read the `span` property.
        artifact.span = int(exec_properties.get(utils.SPAN_PROPERTY_NAME) or 0)
        artifact.version = int(exec_properties.get(utils.VERSION_PROPERTY_NAME) or 0)
        with self._make_beam_pipeline() as pipeline:
            splits = self.GenerateExamplesByBeam(pipeline, exec_properties)
            for name, split in splits.items():
                uri = artifact_utils.get_split_uri(examples, name)
                _ = split | f"WriteSplit[{name}]" >> _WriteSplitInOrder(uri)
        payload_format = exec_properties.get(OUTPUT_DATA_FORMAT_KEY)
        file_format = exec_properties.get(OUTPUT_FILE_FORMAT_KEY)
        for artifact in examples:
            if payload_format:
                examples_utils.set_payload_format(artifact, payload_format)
            if file_format:
                examples_utils.set_file_format(
                    artifact, write_split.to_file_format_str(file_format)
                )


class NullAwareCsvExampleGen(CsvExampleGen):
    """CsvExampleGen whose examples omit the features of empty cells, and whose
    examples stream from the CSV to the TFRecord files (module docstring)."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)
