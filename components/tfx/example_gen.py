"""CsvExampleGen that writes a missing CSV cell as an absent feature.

Stock CsvExampleGen writes an empty cell as a feature with an empty value list, which
TFDV counts as *present*: the schema's `presence.min_fraction` (the contract's
max_null_fraction) could then never fire. Dropping empty features follows the
tf.Example convention (missing = absent), so TFDV counts nulls and Transform sees them
as missing entries of a sparse feature.
"""

from __future__ import annotations

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen.csv_example_gen import executor as csv_executor
from tfx.components.example_gen.csv_example_gen.component import CsvExampleGen
from tfx.dsl.components.base import executor_spec


def _drop_empty_features(example: tf.train.Example) -> tf.train.Example:
    features = example.features.feature
    for name in [n for n, f in features.items() if not _has_values(f)]:
        del features[name]
    return example


def _has_values(feature: tf.train.Feature) -> bool:
    kind = feature.WhichOneof("kind")
    return kind is not None and len(getattr(feature, kind).value) > 0


@beam.ptransform_fn
@beam.typehints.with_input_types(beam.Pipeline)
@beam.typehints.with_output_types(tf.train.Example)
def _CsvToExampleWithoutEmpty(pipeline, exec_properties, split_pattern):  # noqa: N802
    # Reuses the stock CSV parsing (type inference, quoting) and only post-filters.
    return (
        pipeline
        | "CsvToExample" >> csv_executor._CsvToExample(exec_properties, split_pattern)
        | "DropEmptyCells" >> beam.Map(_drop_empty_features)
    )


class Executor(csv_executor.Executor):
    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:  # noqa: N802
        return _CsvToExampleWithoutEmpty


class NullAwareCsvExampleGen(CsvExampleGen):
    """CsvExampleGen whose examples omit the features of empty cells."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)
