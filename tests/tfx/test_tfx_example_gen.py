"""The streaming CsvExampleGen (components/tfx/example_gen.py) against the stock one, on
real Beam: the same examples, less the empty cells' features, and the same column types
as tfx_bsl's own inference."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

tf = pytest.importorskip("tensorflow")

from tfx.components.example_gen.csv_example_gen import executor as stock  # noqa: E402
from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor  # noqa: E402
from tfx.proto import example_gen_pb2  # noqa: E402
from tfx.types import standard_artifacts  # noqa: E402
from tfx.types import standard_component_specs as keys  # noqa: E402
from tfx.utils import proto_utils  # noqa: E402
from tfx_bsl.coders import csv_decoder  # noqa: E402

from components.tfx import example_gen  # noqa: E402

# Every case the type inference and the conversion have to agree on: an int column with
# an empty cell, a float written as an int and in exponent form, text, a column of empty
# cells, an integer beyond int64 (STRING for tfx_bsl), quoting and a field over two lines.
TRICKY_CSV = (
    "count,ratio,name,nothing,big,note\n"
    '1,2.5,x,,9223372036854775808,"he said ""hi"", twice"\n'
    '2,3,y,,5,"line one\nline two"\n'
    ",1e3,,,6,plain\n"
    "4,-0.5,z,,7,\n"
)


def _examples(executor_class: type, input_base: Path, out: Path) -> dict[str, collections.Counter]:
    context = BaseBeamExecutor.Context(
        beam_pipeline_args=["--direct_running_mode=in_memory"], tmp_dir=str(out / "tmp")
    )
    examples = standard_artifacts.Examples()
    examples.uri = str(out)
    splits = [example_gen_pb2.Input.Split(name=n, pattern=f"{n}/*") for n in ("train", "eval")]
    executor_class(context).Do(
        {},
        {keys.EXAMPLES_KEY: [examples]},
        {
            keys.INPUT_BASE_KEY: str(input_base),
            keys.INPUT_CONFIG_KEY: proto_utils.proto_to_json(example_gen_pb2.Input(splits=splits)),
            keys.OUTPUT_CONFIG_KEY: proto_utils.proto_to_json(example_gen_pb2.Output()),
            keys.OUTPUT_DATA_FORMAT_KEY: example_gen_pb2.FORMAT_TF_EXAMPLE,
        },
    )
    found = {}
    for split in ("train", "eval"):
        files = [str(p) for p in (out / f"Split-{split}").glob("*.gz")]
        records = tf.data.TFRecordDataset(files, compression_type="GZIP")
        found[split] = collections.Counter(_without_empty_features(r.numpy()) for r in records)
    return found


def _without_empty_features(record: bytes) -> bytes:
    example = tf.train.Example.FromString(record)
    features = example.features.feature
    for name in [n for n, f in features.items() if not _has_values(f)]:
        del features[name]
    return example.SerializeToString(deterministic=True)


def _has_values(feature: tf.train.Feature) -> bool:
    kind = feature.WhichOneof("kind")
    return kind is not None and len(getattr(feature, kind).value) > 0


# The same cases, every record on one line: read with Beam's splittable text source.
ONE_LINE_CSV = TRICKY_CSV.replace('"line one\nline two"', '"line one, line two"')


def _input(base: Path, text: str) -> Path:
    for split in ("train", "eval"):
        (base / split).mkdir(parents=True)
        (base / split / "data.csv").write_text(text)
    return base


@pytest.fixture()
def tricky_input(tmp_path: Path) -> Path:
    return _input(tmp_path / "input", TRICKY_CSV)


def test_column_types_are_tfx_bsl_inference(tricky_input, monkeypatch):
    path = str(tricky_input / "train" / "data.csv")
    names = TRICKY_CSV.splitlines()[0].split(",")
    inferrer = csv_decoder.ColumnTypeInferrer(names, skip_blank_lines=True)
    accumulator = inferrer.create_accumulator()
    parse = csv_decoder.ParseCSVLine(delimiter=",")
    parse.setup()
    for record in stock._ReadCsvRecordsFromTextFile().process(path):
        ((cells, _),) = parse.process(record)
        accumulator = inferrer.add_input(accumulator, cells)
    expected = [info.type for info in inferrer.extract_output(accumulator)]
    assert example_gen.column_types([path], names) == expected
    # Past the remembered cells every cell is typed on its own: the same answer.
    monkeypatch.setattr(example_gen, "REMEMBERED_CELLS", 1)
    assert example_gen.column_types([path], names) == expected
    assert expected == [
        csv_decoder.ColumnType.INT,
        csv_decoder.ColumnType.FLOAT,
        csv_decoder.ColumnType.STRING,
        csv_decoder.ColumnType.UNKNOWN,
        csv_decoder.ColumnType.STRING,
        csv_decoder.ColumnType.STRING,
    ]


def test_only_a_quoted_line_break_makes_a_record_span_lines(tmp_path):
    names = TRICKY_CSV.splitlines()[0].split(",")
    for text, one_line in ((TRICKY_CSV, False), (ONE_LINE_CSV, True)):
        path = tmp_path / f"{one_line}.csv"
        path.write_text(text)
        assert example_gen.scan([str(path)], names)[1] is one_line


@pytest.mark.parametrize("text", [TRICKY_CSV, ONE_LINE_CSV], ids=["multi-line", "one-line"])
def test_examples_are_the_stock_ones_without_empty_cells(text, tmp_path):
    source = _input(tmp_path / "input", text)
    ours = _examples(example_gen.Executor, source, tmp_path / "ours")
    theirs = _examples(stock.Executor, source, tmp_path / "stock")
    assert ours == theirs
    assert sum(ours["train"].values()) == 4
    # Ours writes no empty feature at all: a missing cell is an absent feature.
    files = [str(p) for p in (tmp_path / "ours" / "Split-train").glob("*.gz")]
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        features = tf.train.Example.FromString(record.numpy()).features.feature
        assert "nothing" not in features
        assert all(_has_values(f) for f in features.values())
