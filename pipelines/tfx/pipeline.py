"""The TFX pipeline, wired: validate, transform, train, evaluate and push, on Apache Beam.

CsvExampleGen -> StatisticsGen -> ImportSchemaGen -> ExampleValidator, and with the
reference statistics (Importer) DistributionValidator -> AnomaliesGate -> Transform
-> Trainer -> Resolver(latest blessed) -> Evaluator -> Cond(blessed): Pusher.

Data in spans: ExampleGen ingests one span (`{SPAN}`), which the validators judge, a
second DistributionValidator against the previous span's statistics;
Transform, Trainer and Evaluator read the training window through `rolling_range`.

Wiring only, as TFX's own template (tfx/experimental/templates/penguin/pipeline): the
local runner is pipelines/tfx/run.py, the Kubeflow compiler kubeflow_runner.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import tensorflow_model_analysis as tfma

# The modules themselves, not the `tfx.v1` facade: importing `tfx.v1` also imports its
# Google Cloud extensions (google.cloud.aiplatform), seconds of every run.
from tfx.components import (
    DistributionValidator,
    Evaluator,
    ExampleValidator,
    StatisticsGen,
    Trainer,
    Transform,
)
from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
from tfx.dsl.components.common.importer import Importer
from tfx.dsl.components.common.resolver import Resolver
from tfx.dsl.experimental.conditionals.conditional import Cond
from tfx.dsl.input_resolution.canned_resolver_functions import rolling_range
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import (
    LatestBlessedModelStrategy,
)
from tfx.orchestration.metadata import sqlite_metadata_connection_config
from tfx.orchestration.pipeline import Pipeline
from tfx.proto import example_gen_pb2, pusher_pb2, range_config_pb2, transform_pb2
from tfx.types import Channel, standard_artifacts

from components.shared.contract import REPO_ROOT, Contract
from components.shared.layout import Workdir
from components.shared.spans import SPAN_FOLDER
from components.tfx import STACK, schema_path
from components.tfx.drift import PREVIOUS_SPAN_PAIRS, SPLIT_PAIRS, comparator_config
from components.tfx.example_gen import NullAwareCsvExampleGen
from components.tfx.gate import AnomaliesGate
from components.tfx.push import AtomicPusher
from models.keras.features import PREDICTIONS, transformed_name

# User code by module file: TFX packages the module's folder into a wheel and keys its
# cache on it, so an edit there reruns Transform and Trainer (a dotted path would not).
TRANSFORM_MODULE = REPO_ROOT / "models" / "keras" / "preprocessing.py"
TRAINER_MODULE = REPO_ROOT / "models" / "keras" / "model.py"
ACCURACY = "SparseCategoricalAccuracy"
LOG_LOSS = "SparseCategoricalCrossentropy"
GATE_ID = "AnomaliesGate"
PREVIOUS_SPAN_VALIDATOR_ID = "PreviousSpanValidator"
PREVIOUS_SPAN_STATISTICS_ID = "PreviousSpanStatisticsGen"


def pipeline_name(contract: Contract) -> str:
    return f"{contract.name}-{STACK}"


def eval_config(contract: Contract, min_accuracy: float | None = None) -> tfma.EvalConfig:
    """Accuracy gates (absolute floor, allowed drop against the last blessed model), log
    loss and the confusion matrix, from which the run's record derives per-class F1
    (components/tfx/mlflow_record.py: binarizing each class in TFMA costs a pass per
    class). `min_accuracy`: the floor when the runner raised it above the
    contract's (to beat the majority-class baseline, components/shared/baseline.py)."""
    floor = contract.min_accuracy if min_accuracy is None else min_accuracy
    accuracy = tfma.MetricConfig(
        class_name=ACCURACY,
        threshold=tfma.MetricThreshold(
            value_threshold=tfma.GenericValueThreshold(lower_bound={"value": floor}),
            # Ignored by TFMA on the first run, when there is no blessed baseline yet.
            change_threshold=tfma.GenericChangeThreshold(
                direction=tfma.MetricDirection.HIGHER_IS_BETTER,
                absolute={"value": -contract.max_accuracy_drop},
            ),
        ),
    )
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name="serving_default",
                label_key=transformed_name(contract.label),
                prediction_key=PREDICTIONS,
                preprocessing_function_names=["transform_features"],
            )
        ],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    accuracy,
                    tfma.MetricConfig(class_name="ExampleCount"),
                    tfma.MetricConfig(class_name=LOG_LOSS),
                    tfma.MetricConfig(class_name="MultiClassConfusionMatrixPlot"),
                ]
            ),
        ],
    )


def feature_config(contract: Contract) -> dict:
    """The contract's features and classes, as the user modules receive them."""
    return {
        "numeric": [c.name for c in contract.numeric_features],
        "categorical": [c.name for c in contract.categorical_features],
        "label": contract.label,
        "classes": list(contract.classes),
    }


def _example_gen(split_dir: Path, span: int | None) -> NullAwareCsvExampleGen:
    """ExampleGen over <split_dir>/{train,eval}/, or over one span's
    <split_dir>/span-<span>/{train,eval}/ (a StaticRange: ExampleGen ingests one span
    per execution)."""
    folder = "" if span is None else f"{SPAN_FOLDER}/"
    return NullAwareCsvExampleGen(
        input_base=str(split_dir),
        input_config=example_gen_pb2.Input(
            splits=[
                example_gen_pb2.Input.Split(name=part, pattern=f"{folder}{part}/*")
                for part in ("train", "eval")
            ]
        ),
        range_config=None
        if span is None
        else range_config_pb2.RangeConfig(
            static_range=range_config_pb2.StaticRange(start_span_number=span, end_span_number=span)
        ),
    ).with_id("CsvExampleGen")


def _metadata(workdir: Workdir):  # noqa: ANN202 - an MLMD ConnectionConfig
    return sqlite_metadata_connection_config(str(workdir.metadata_db(STACK)))


def create_backfill_pipeline(
    contract: Contract,
    split_dir: Path,
    workdir: Workdir,
    span: int,
    beam_pipeline_args: Sequence[str] = (),
) -> Pipeline:
    """ExampleGen alone, ingesting one earlier span of the training window into the same
    pipeline's ML Metadata, where the span resolvers find it (TFX's backfill: a
    RangeConfig with a static range)."""
    return Pipeline(
        pipeline_name=pipeline_name(contract),
        pipeline_root=str(workdir.stack_root(STACK)),
        metadata_connection_config=_metadata(workdir),
        components=[_example_gen(split_dir, span)],
        enable_cache=True,
        beam_pipeline_args=list(beam_pipeline_args),
    )


def create_pipeline(
    contract: Contract,
    split_dir: Path,
    workdir: Workdir,
    reference_statistics: Path,
    schema_file: Path | None = None,
    beam_pipeline_args: Sequence[str] = (),
    min_accuracy: float | None = None,
    window: Sequence[int] = (),
) -> Pipeline:
    """The pipeline over an already materialised split (<split_dir>/{train,eval}/*.csv),
    checked for drift against `reference_statistics` (an ExampleStatistics folder,
    components/tfx/drift.py).

    `schema_file` defaults to the contract's curated schema (data/<name>.schema.pbtxt);
    `min_accuracy` to the contract's (the runner passes the baseline-raised floor).
    `window`: for data in spans (<split_dir>/span-<N>/), the training window's span
    numbers, oldest first; this run ingests and validates the newest, and trains and
    evaluates on the window (its earlier spans ingested by `create_backfill_pipeline`).
    """
    schema_file = schema_file or schema_path(contract)
    example_gen = _example_gen(split_dir, window[-1] if window else None)
    examples = example_gen.outputs["examples"]
    # Every run's ExampleGen output, not only this run's: the window's earlier spans were
    # ingested by earlier runs. Transform waits for this run's span through the gate,
    # which waits for its statistics.
    every_ingested_span = Channel(
        type=standard_artifacts.Examples,
        producer_component_id=example_gen.id,
        output_key="examples",
    )
    if window:
        examples = rolling_range(
            every_ingested_span,
            start_span_number=window[0],
            num_spans=contract.window_spans,
            min_spans=1,
        )
    statistics_gen = StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = ImportSchemaGen(schema_file=str(schema_file))
    example_validator = ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    )
    reference = Importer(
        source_uri=str(reference_statistics),
        artifact_type=standard_artifacts.ExampleStatistics,
        properties={"split_names": '["train"]'},
    ).with_id("ReferenceStatistics")
    distribution_validator = DistributionValidator(
        statistics=statistics_gen.outputs["statistics"],
        baseline_statistics=reference.outputs["result"],
        config=comparator_config(contract),
        include_split_pairs=SPLIT_PAIRS,
    )
    checks = [example_validator, reference, distribution_validator]
    previous_span = {}
    if len(window) > 1:
        # The span before this one, its latest delivery, as ingested by an earlier run:
        # the newest span skipped, then one span. Its statistics are computed from its
        # examples (a cache hit once done): TFX 1.16's span resolvers need a `version`
        # property, which ExampleStatistics lacks. Not `static_range`: among deliveries
        # of one version it keeps the oldest.
        previous_statistics_gen = StatisticsGen(
            examples=rolling_range(
                every_ingested_span,
                start_span_number=window[-2],
                num_spans=1,
                skip_num_recent_spans=1,
                min_spans=1,
            )
        ).with_id(PREVIOUS_SPAN_STATISTICS_ID)
        previous_span_validator = DistributionValidator(
            statistics=statistics_gen.outputs["statistics"],
            baseline_statistics=previous_statistics_gen.outputs["statistics"],
            config=comparator_config(contract),
            include_split_pairs=PREVIOUS_SPAN_PAIRS,
        ).with_id(PREVIOUS_SPAN_VALIDATOR_ID)
        checks += [previous_statistics_gen, previous_span_validator]
        previous_span = {"previous_span": previous_span_validator.outputs["anomalies"]}
    gate = AnomaliesGate(
        anomalies=example_validator.outputs["anomalies"],
        drift=distribution_validator.outputs["anomalies"],
        **previous_span,
    ).with_id(GATE_ID)

    transform = Transform(
        examples=examples,
        schema=schema_gen.outputs["schema"],
        module_file=str(TRANSFORM_MODULE),
        custom_config=feature_config(contract),
        # StatisticsGen and ExampleValidator already profile and check the raw data; the
        # pre/post-transform statistics would be a second and third pass over it. The
        # Trainer reads the transformed schema from the transform graph.
        disable_statistics=True,
        # The analyzer cache pays off when a later run sees the same spans again (a
        # rolling window) and a resolver feeds the last cache back in: not wired here,
        # so writing it would be a pass for nothing.
        disable_analyzer_cache=True,
        # Analyze train only and write no transformed copy of the window: the Trainer
        # maps raw batches through the transform graph (models/keras/model.py), as
        # serving does, instead of a pass that encodes and writes every row to read it
        # back. An empty `transform` list is what keeps Beam from transforming anyway.
        materialize=False,
        splits_config=transform_pb2.SplitsConfig(analyze=["train"]),
    )
    # Transform consumes no gate output, so make the order explicit: a failed gate
    # fails the run before Transform (and so Trainer) can start.
    transform.add_upstream_node(gate)

    hp = contract.hyperparameters
    trainer = Trainer(
        module_file=str(TRAINER_MODULE),
        examples=examples,
        transform_graph=transform.outputs["transform_graph"],
        custom_config={
            **feature_config(contract),
            "hidden_units": list(hp.hidden_units),
            "learning_rate": hp.learning_rate,
            "epochs": hp.epochs,
            "batch_size": hp.batch_size,
            "seed": hp.seed,
            "early_stopping_patience": hp.early_stopping_patience,
        },
    )
    model_resolver = Resolver(
        strategy_class=LatestBlessedModelStrategy,
        model=Channel(type=standard_artifacts.Model),
        model_blessing=Channel(type=standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")
    evaluator = Evaluator(
        examples=examples,
        model=trainer.outputs["model"],
        baseline_model=model_resolver.outputs["model"],
        eval_config=eval_config(contract, min_accuracy),
    )
    with Cond(evaluator.outputs["blessing"].future()[0].custom_property("blessed") == 1):
        # Publishes each push with one rename: no reader sees a half-copied model.
        pusher = AtomicPusher(
            model=trainer.outputs["model"],
            push_destination=pusher_pb2.PushDestination(
                filesystem=pusher_pb2.PushDestination.Filesystem(
                    base_directory=str(workdir.serving(STACK, contract))
                )
            ),
        ).with_id("Pusher")
    return Pipeline(
        pipeline_name=pipeline_name(contract),
        pipeline_root=str(workdir.stack_root(STACK)),
        metadata_connection_config=_metadata(workdir),
        components=[
            example_gen,
            statistics_gen,
            schema_gen,
            *checks,
            gate,
            transform,
            trainer,
            model_resolver,
            evaluator,
            pusher,
        ],
        enable_cache=True,
        beam_pipeline_args=list(beam_pipeline_args),
    )
