"""The TFX pipeline: validate, transform, train, evaluate and push, on Apache Beam.

CsvExampleGen -> StatisticsGen -> ImportSchemaGen -> ExampleValidator -> AnomaliesGate
-> Transform -> Trainer -> Resolver(latest blessed) -> Evaluator -> Cond(blessed): Pusher.

`run()` is what `python -m pipelines tfx` calls; it returns the CLI exit code.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import logging
import os
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

# Quiet TF's C++ logs before TensorFlow is first imported (below, via tfx).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# google-cloud libraries pulled in by TFX warn about Python versions on every import.
warnings.filterwarnings("ignore", category=FutureWarning, module="google.api_core")
# Importing Beam/TFMA logs at INFO; quiet it unless the CLI asked for DEBUG (--verbose).
if not logging.getLogger().isEnabledFor(logging.DEBUG):
    for _name in ("", "absl", "apache_beam", "tensorflow", "tfx"):
        logging.getLogger(_name).setLevel(logging.WARNING)

# Beam 2.74's RunInference model manager imports torch at import time (1.5 s and 300 MB
# here); tfx.components reaches it through BulkInferrer even though no component here
# runs inference. Beam treats that module as optional (apache_beam/ml/inference/base.py:
# `except ImportError: ModelManager = None`), so it is left out unless already loaded.
sys.modules.setdefault("apache_beam.ml.inference.model_manager", None)  # type: ignore[arg-type]

import absl.logging  # noqa: E402
import tensorflow_model_analysis as tfma  # noqa: E402

# The modules themselves, not the `tfx.v1` facade: importing `tfx.v1` also imports its
# Google Cloud extensions (google.cloud.aiplatform), about 4.5 s of every run here.
from tfx.components import (  # noqa: E402
    Evaluator,
    ExampleValidator,
    StatisticsGen,
    Trainer,
    Transform,
)
from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen  # noqa: E402
from tfx.dsl.components.common.resolver import Resolver  # noqa: E402
from tfx.dsl.experimental.conditionals.conditional import Cond  # noqa: E402
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import (  # noqa: E402
    LatestBlessedModelStrategy,
)
from tfx.orchestration.local.local_dag_runner import LocalDagRunner  # noqa: E402
from tfx.orchestration.metadata import sqlite_metadata_connection_config  # noqa: E402
from tfx.orchestration.pipeline import Pipeline  # noqa: E402
from tfx.proto import example_gen_pb2, pusher_pb2  # noqa: E402
from tfx.types import Channel, standard_artifacts  # noqa: E402

from components.shared.contract import Contract, ContractError  # noqa: E402
from components.shared.dataset import count_rows, file_sha256, materialize_split  # noqa: E402
from components.tfx import edge, reports, run_fingerprint, tensorboard  # noqa: E402
from components.tfx.example_gen import NullAwareCsvExampleGen  # noqa: E402
from components.tfx.gate import AnomaliesGate  # noqa: E402
from components.tfx.push import AtomicPusher  # noqa: E402
from components.tfx.transform.transform_module import transformed_name  # noqa: E402
from pipelines.exit_codes import ExitCode  # noqa: E402

if TYPE_CHECKING:  # optional at run time: the comparison layer (see _start_recorder)
    from components.tfx.mlflow_record import PendingRecord

REPO_ROOT = Path(__file__).resolve().parents[1]
# TFX packages every .py file beside a module file into the user-code wheel and keys its
# cache on them: each module sits alone in its folder, so editing any other file in the
# repository leaves Transform and Trainer cached.
TRANSFORM_MODULE = REPO_ROOT / "components" / "tfx" / "transform" / "transform_module.py"
TRAINER_MODULE = REPO_ROOT / "models" / "keras" / "keras_mlp.py"
# Beam's DirectRunner mode by data size: below this many rows one in-memory worker is
# fastest (worker start-up and pickling dominate: 41 s vs 92 s at 10k rows); from it on,
# one worker process per core. `make bench-scale` measured the crossover at about
# 545,000 rows (benchmarks/results/scale.md; README, "Performance and scale").
MULTI_PROCESSING_FROM_ROWS = 550_000
ACCURACY = "SparseCategoricalAccuracy"
GATE_ID = "AnomaliesGate"


def pipeline_name(contract: Contract) -> str:
    return f"{contract.name}-tfx"


def pipeline_root(workdir: Path) -> Path:
    return Path(workdir) / "tfx"


def metadata_path(workdir: Path) -> Path:
    return pipeline_root(workdir) / "metadata.db"


def reports_dir(workdir: Path, contract: Contract) -> Path:
    """TFDV HTML reports of the latest run, one folder per dataset: the MLflow recorder
    logs this folder, and a shared one could hand another dataset's reports to a run
    that stopped before writing its own."""
    return pipeline_root(workdir) / "reports" / contract.name


def serving_dir(workdir: Path, contract: Contract) -> Path:
    """Where the Pusher writes <unix time>/ SavedModels; one folder per dataset, so two
    contracts sharing a workdir never serve each other's models (components/report reads
    the same path)."""
    return Path(workdir) / "serving" / "tfx" / contract.name


def tensorboard_dir(workdir: Path, contract: Contract) -> Path:
    """Links to the Trainer's TensorBoard logs, one per execution, beside the Lightning
    runs' logs (`make tensorboard` serves <workdir>/tensorboard)."""
    return Path(workdir) / "tensorboard" / "tfx" / contract.name


def with_default_beam_args(beam_args: Sequence[str], rows: int | None = None) -> list[str]:
    """The user's Beam args, plus multi-processing with one worker per core from
    MULTI_PROCESSING_FROM_ROWS rows on, unless they chose a mode or another runner.

    Below that nothing is added: the DirectRunner's own default is in memory, and with no
    Beam args at all TFX also skips packaging itself as an sdist for remote workers
    (about 1.3 s per Beam component, for a package the DirectRunner never uses).
    """
    args = list(beam_args)
    if any(a.startswith(("--direct_running_mode", "--runner")) for a in args):
        return args
    if rows is not None and rows >= MULTI_PROCESSING_FROM_ROWS:
        return args + [
            "--direct_running_mode=multi_processing",
            f"--direct_num_workers={os.cpu_count() or 1}",
        ]
    return args


def runner_description(beam_args: Sequence[str]) -> str:
    """How Beam will run, for the run's header line: "DirectRunner, in_memory", ..."""
    options = dict(a.removeprefix("--").split("=", 1) for a in beam_args if "=" in a)
    runner = options.get("runner", "DirectRunner")
    if runner != "DirectRunner":
        return runner
    return f"DirectRunner, {options.get('direct_running_mode', 'in_memory')}"


@contextmanager
def _environ(**values: str) -> Iterator[None]:
    """Set environment variables for this process and its children, then restore them."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def run_temp_dir(path: Path) -> Iterator[None]:
    """Point this process's and its children's temporary files at `path` for the run,
    then delete it: TFX's packaging steps (the user-code wheels and their pip installs,
    its own sdist when Beam args are given) leave 50-200 MB in the system temp
    directory on every run otherwise."""
    shutil.rmtree(path, ignore_errors=True)  # left by a killed run
    path.mkdir(parents=True)
    saved_default = tempfile.tempdir
    tempfile.tempdir = str(path)
    try:
        with _environ(TMPDIR=str(path)):
            yield
    finally:
        tempfile.tempdir = saved_default
        shutil.rmtree(path, ignore_errors=True)


# TFX pip-installs the user-code wheel it builds from a module file each time an executor
# looks up a function in it (Transform: three times a run), with a bare `pip install`.
# Those wheels declare no dependencies, and pip's resolver start-up was 0.3 s of each
# 0.7 s install. A component you add with pip dependencies of its own needs them
# resolved: drop this then.
# No index and no version check either: the wheel is a local file, and this install must
# not reach for the network.
USER_CODE_PIP_ENV = {"PIP_NO_DEPS": "1", "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def eval_config(contract: Contract) -> tfma.EvalConfig:
    """Accuracy gates (absolute floor, allowed drop against the baseline) and per-class metrics."""
    accuracy = tfma.MetricConfig(
        class_name=ACCURACY,
        threshold=tfma.MetricThreshold(
            value_threshold=tfma.GenericValueThreshold(
                lower_bound={"value": contract.min_accuracy}
            ),
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
                prediction_key="probabilities",
                preprocessing_function_names=["transform_features"],
            )
        ],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    accuracy,
                    tfma.MetricConfig(class_name="ExampleCount"),
                    tfma.MetricConfig(class_name="MultiClassConfusionMatrixPlot"),
                ]
            ),
            # Per-class precision and recall, class i = contract.classes[i].
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(class_name="Precision"),
                    tfma.MetricConfig(class_name="Recall"),
                    tfma.MetricConfig(class_name="F1Score"),
                ],
                binarize=tfma.BinarizationOptions(
                    class_ids={"values": list(range(len(contract.classes)))}
                ),
            ),
        ],
    )


def _feature_config(contract: Contract) -> dict:
    return {
        "numeric": [c.name for c in contract.numeric_features],
        "categorical": [c.name for c in contract.categorical_features],
        "label": contract.label,
        "classes": list(contract.classes),
    }


def stage_schema(contract: Contract, workdir: Path) -> Path:
    """Copy the curated schema to a path named by its content.

    ImportSchemaGen's cache key is the file *path*: a contract copied elsewhere (same
    schema, other thresholds) would re-import it and retrain everything downstream.
    """
    if not contract.schema_path.exists():
        raise ContractError(
            f"no TFDV schema at {contract.schema_path}; generate it from the contract with "
            f"`python -m components.tfx.schema {contract.source}`"
        )
    text = contract.schema_path.read_bytes()
    target = pipeline_root(workdir) / "schema" / hashlib.sha256(text).hexdigest()[:16]
    target = target / "schema.pbtxt"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text)
    return target


def create_pipeline(
    contract: Contract,
    split_dir: Path,
    workdir: Path,
    beam_args: Sequence[str] = (),
    schema_file: Path | None = None,
    rows: int | None = None,
) -> Pipeline:
    """The pipeline over an already materialised split (<split_dir>/{train,eval}/data.csv).

    `schema_file` defaults to the contract's curated schema (data/<name>.schema.pbtxt);
    `rows`, the data's row count, picks Beam's DirectRunner mode (with_default_beam_args).
    """
    schema_file = schema_file or contract.schema_path
    example_gen = NullAwareCsvExampleGen(
        input_base=str(split_dir),
        input_config=example_gen_pb2.Input(
            splits=[
                example_gen_pb2.Input.Split(name="train", pattern="train/*"),
                example_gen_pb2.Input.Split(name="eval", pattern="eval/*"),
            ]
        ),
    ).with_id("CsvExampleGen")
    statistics_gen = StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = ImportSchemaGen(schema_file=str(schema_file))
    example_validator = ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    )
    gate = AnomaliesGate(anomalies=example_validator.outputs["anomalies"]).with_id(GATE_ID)

    transform = Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        module_file=str(TRANSFORM_MODULE),
        custom_config=_feature_config(contract),
        # StatisticsGen and ExampleValidator already profile and check the raw data; the
        # pre/post-transform statistics would be a second and third pass over it (on the
        # penguins, most of Transform's time). The Trainer reads the transformed schema
        # from the transform graph.
        disable_statistics=True,
        # The analyzer cache lets a later run reuse the statistics of spans it has seen
        # (rolling windows over many spans); this pipeline reads one span, so writing the
        # cache was pure cost: 2 s of Transform's 14 s here. Turn it back on with spans.
        disable_analyzer_cache=True,
    )
    # Transform consumes no gate output, so make the order explicit: a failed gate
    # fails the run before Transform (and so Trainer) can start.
    transform.add_upstream_node(gate)

    hp = contract.hyperparameters
    trainer = Trainer(
        module_file=str(TRAINER_MODULE),
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        custom_config={
            **_feature_config(contract),
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
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=model_resolver.outputs["model"],
        eval_config=eval_config(contract),
    )
    with Cond(evaluator.outputs["blessing"].future()[0].custom_property("blessed") == 1):
        # Publishes each push with one rename: no reader sees a half-copied model.
        pusher = AtomicPusher(
            model=trainer.outputs["model"],
            push_destination=pusher_pb2.PushDestination(
                filesystem=pusher_pb2.PushDestination.Filesystem(
                    base_directory=str(serving_dir(workdir, contract))
                )
            ),
        ).with_id("Pusher")
    return Pipeline(
        pipeline_name=pipeline_name(contract),
        pipeline_root=str(pipeline_root(workdir)),
        metadata_connection_config=sqlite_metadata_connection_config(str(metadata_path(workdir))),
        components=[
            example_gen,
            statistics_gen,
            schema_gen,
            example_validator,
            gate,
            transform,
            trainer,
            model_resolver,
            evaluator,
            pusher,
        ],
        enable_cache=True,
        beam_pipeline_args=with_default_beam_args(beam_args, rows),
    )


@contextmanager
def _exclusive_lock(path: Path) -> Iterator[bool]:
    """Yields False when another run holds the lock (SQLite MLMD is single-writer)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextmanager
def _output_to(log_path: Path | None) -> Iterator[None]:
    """Send fds 1 and 2 (TFX, Beam, TF, and the wheel builds TFX runs in subprocesses)
    to a log file, so the terminal shows only this module's summary; None: no redirect."""
    if log_path is None:
        yield
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _silence_tf_function_finalizers() -> None:
    """At interpreter exit, TF functions cached by TFMA/TFT are finalised after TF's
    module globals are gone and print "Exception ignored in AtomicFunction.__del__"
    tracebacks. Harmless; drop just those, keep every other unraisable report."""
    default = sys.unraisablehook

    def hook(unraisable) -> None:  # noqa: ANN001 - sys.UnraisableHookArgs
        if "AtomicFunction.__del__" not in repr(unraisable.object):
            default(unraisable)

    sys.unraisablehook = hook


def _verbose() -> bool:
    return logging.getLogger().isEnabledFor(logging.DEBUG)


def _quiet_logs() -> None:
    """Keep TFX/Beam/TF chatter out of the way unless the CLI asked for DEBUG."""
    if _verbose():
        absl.logging.set_verbosity(absl.logging.DEBUG)
        return
    absl.logging.set_verbosity(absl.logging.WARNING)
    for name in ("", "apache_beam", "tfx", "mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Deprecation notes and TFMA's "no plots for model None" while reading results back.
    for name in ("absl", "tensorflow"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _first_uri(node: reports.NodeRun | None, key: str, outputs: bool = True) -> str | None:
    if node is None:
        return None
    artifacts = (node.outputs if outputs else node.inputs).get(key, [])
    return artifacts[0].uri if artifacts else None


def run(contract: Contract, data: Path, workdir: Path, beam_args: Sequence[str] = ()) -> int:
    """Run the pipeline on `data` under `workdir`; returns an ExitCode (0, 1, 2 or 3)."""
    _quiet_logs()
    workdir = Path(workdir)
    with _exclusive_lock(pipeline_root(workdir) / ".lock") as locked:
        if not locked:
            print(
                f"error: another TFX run is using {pipeline_root(workdir)} "
                "(its MLMD store is single-writer); wait for it or use another --workdir",
                file=sys.stderr,
            )
            return ExitCode.ERROR
        _silence_tf_function_finalizers()
        return _run_locked(contract, Path(data), workdir, beam_args)


def _run_locked(contract: Contract, data: Path, workdir: Path, beam_args: Sequence[str]) -> int:
    # Two children start with the run and prepare on the core the in-memory runner leaves
    # idle: the TFLite export imports TensorFlow, the MLflow recorder opens its store.
    edge_export = edge.PendingExport(contract, edge.edge_dir(workdir, contract))
    recorder = _start_recorder(contract, workdir)
    try:
        return _run_with_children(contract, data, workdir, beam_args, edge_export, recorder)
    finally:
        edge_export.cancel()
        if recorder is not None:
            recorder.cancel()


def _run_with_children(
    contract: Contract,
    data: Path,
    workdir: Path,
    beam_args: Sequence[str],
    edge_export: edge.PendingExport,
    recorder: PendingRecord | None,
) -> int:
    # Before anything is read: the record of a push must describe what that run used.
    fingerprint = run_fingerprint.fingerprint(contract, data, beam_args)
    split_dir = materialize_split(data, contract, workdir / "data")
    rows = count_rows(data)
    pipeline = create_pipeline(
        contract,
        split_dir,
        workdir,
        beam_args,
        schema_file=stage_schema(contract, workdir),
        rows=rows,
    )
    print(
        f"TFX pipeline {pipeline.pipeline_info.pipeline_name}: {data} ({rows} rows) -> {workdir}"
        f" (Beam {runner_description(pipeline.beam_pipeline_args)})",
        flush=True,
    )
    started = time.monotonic()
    error: BaseException | None = None
    log_path = pipeline_root(workdir) / "logs" / f"run-{time.strftime('%Y%m%dT%H%M%S')}.log"
    try:
        with (
            _output_to(None if _verbose() else log_path),
            run_temp_dir(pipeline_root(workdir) / "tmp"),
            _environ(**USER_CODE_PIP_ENV),
        ):
            LocalDagRunner().run(pipeline)
    except Exception as exc:  # noqa: BLE001 - classified below from MLMD
        error = exc
        if not _verbose():
            with open(log_path, "a") as log:
                traceback.print_exception(exc, file=log)
    _quiet_logs()  # TFX's launcher turns absl back to INFO
    elapsed = time.monotonic() - started

    nodes = reports.latest_run(pipeline.metadata_connection_config, pipeline_name(contract))
    print("component timings (wall):")
    for line in reports.timing_lines(nodes):
        print(line)
    written = reports.write_data_reports(
        _first_uri(nodes.get("StatisticsGen"), "statistics"),
        _first_uri(nodes.get("ExampleValidator"), "anomalies"),
        reports_dir(workdir, contract),
    )
    if written:
        print(f"data reports: {', '.join(str(p) for p in written)}")
    tensorboard.publish(
        _first_uri(nodes.get("Trainer"), "model_run"), tensorboard_dir(workdir, contract)
    )

    code, outcome, problems, final = _classify(nodes, error, elapsed, log_path)
    for line in problems:
        print(line, file=sys.stderr)
    edge_report = _start_edge_export(edge_export, nodes, split_dir) if code == ExitCode.OK else None
    _record_in_mlflow(
        recorder, contract, data, workdir, split_dir, nodes, outcome, problems, elapsed
    )
    if edge_report is not None:
        edge_report()
    if code == ExitCode.OK:
        run_fingerprint.remember(
            contract, workdir, fingerprint, str(_pushed_destination(nodes)), final
        )
    else:
        run_fingerprint.forget(contract, workdir)
    print(final, flush=True)
    return code


def _classify(
    nodes: dict[str, reports.NodeRun],
    error: BaseException | None,
    elapsed: float,
    log_path: Path,
) -> tuple[int, str, list[str], str]:
    """(exit code, outcome name, stderr lines saying why, final stdout line)."""
    gate = nodes.get(GATE_ID)
    if gate is not None and gate.state == "FAILED":
        anomalies = reports.anomaly_lines(_first_uri(gate, "anomalies", outputs=False))
        return (
            ExitCode.DATA_INVALID,
            "data_invalid",
            ["error: data validation failed, nothing trained or pushed:"]
            + [f"  {line}" for line in anomalies],
            f"FAILED: data invalid (exit 2) after {elapsed:.0f} s",
        )
    if error is not None:
        if _verbose():
            logging.exception("TFX run failed", exc_info=error)
        problems = [f"error: TFX run failed: {type(error).__name__}: {error}"]
        if not _verbose():
            problems.append(f"  full log: {log_path} (or rerun with --verbose)")
        return ExitCode.ERROR, "error", problems, f"FAILED: error (exit 1) after {elapsed:.0f} s"

    evaluator = nodes["Evaluator"]
    evaluation_uri = _first_uri(evaluator, "evaluation")
    accuracy = reports.evaluator_accuracy(evaluation_uri)
    blessing = (evaluator.outputs.get("blessing") or [None])[0]
    if blessing is None or blessing.custom_properties["blessed"].int_value != 1:
        return (
            ExitCode.NOT_BLESSED,
            "not_blessed",
            [f"error: model not blessed (eval accuracy {accuracy:.4f}); nothing pushed:"]
            + [f"  {line}" for line in reports.validation_failures(evaluation_uri)],
            f"NOT BLESSED: exit 3 after {elapsed:.0f} s; the previous push stays in place",
        )
    destination = _pushed_destination(nodes)
    cached = sum(n.state == "CACHED" for n in nodes.values())
    return (
        ExitCode.OK,
        "pushed",
        [],
        f"OK: blessed (eval accuracy {accuracy:.4f}), pushed to {destination} "
        f"in {elapsed:.0f} s ({cached}/{len(nodes)} components cached)",
    )


def _pushed_destination(nodes: dict[str, reports.NodeRun]) -> Path | None:
    pusher = nodes.get("Pusher")
    pushed = (pusher.outputs.get("pushed_model") or [None])[0] if pusher else None
    if pushed is None:
        return None
    return Path(pushed.custom_properties["pushed_destination"].string_value)


def _start_edge_export(
    edge_export: edge.PendingExport, nodes: dict[str, reports.NodeRun], split_dir: Path
) -> Callable[[], None] | None:
    """Hand the push to the TFLite export (components/tfx/edge.py), whose child process
    started with the run and converts while the run is recorded in MLflow; returns what
    waits for it and prints the result. A failure is a warning, kept in edge.json, and
    never changes the run's exit code."""
    push_dir = _pushed_destination(nodes)
    if push_dir is None:
        return None
    transform_graph = _first_uri(nodes.get("Transform"), "transform_graph") or ""
    wait = edge_export.start(push_dir, transform_graph, split_dir / "eval" / "data.csv")

    def report() -> None:
        result = wait()
        if "error" in result:
            print(f"warning: TFLite export failed: {result['error']}", file=sys.stderr)
        else:
            print(
                f"edge: {result['artifact']} ({result['size_bytes'] / 1024:.0f} KiB), "
                f"agreement {result['agreement']:.3f} on {result['rows']} eval rows"
            )

    return report


def _start_recorder(contract: Contract, workdir: Path) -> PendingRecord | None:
    """The MLflow recorder's child (components/tfx/mlflow_record.py), or None without the
    comparison layer: optional by design, so with the Lightning/MLflow half deleted
    (README, "Keep one stack") the TFX run is unaffected."""
    if importlib.util.find_spec("mlflow") is None:
        return None
    try:
        from components.tfx import mlflow_record
    except ImportError:
        return None
    return mlflow_record.PendingRecord(
        contract, workdir, pipeline_root(workdir) / "logs" / "mlflow.log"
    )


def _record_in_mlflow(
    recorder: PendingRecord | None,
    contract: Contract,
    data: Path,
    workdir: Path,
    split_dir: Path,
    nodes: dict[str, reports.NodeRun],
    outcome: str,
    problems: list[str],
    elapsed: float,
) -> None:
    """Log the run beside the Lightning runs: the numbers are gathered here, from TFX's
    outputs, and written by the recorder's child. A recording failure is reported but
    never changes the pipeline's exit code."""
    if recorder is None:
        return
    from components.tfx import mlflow_record

    try:
        sizes = {
            split: sum(1 for _ in open(split_dir / split / "data.csv")) - 1
            for split in ("train", "eval")
        }
        with _output_to(None if _verbose() else pipeline_root(workdir) / "logs" / "mlflow.log"):
            job = mlflow_record.gather(
                contract,
                nodes,
                outcome,
                "\n".join(problems),
                file_sha256(data),
                sizes,
                metadata_path(workdir),
                reports_dir(workdir, contract),
                elapsed,
            )
        recorder.start(job)()
    except Exception as exc:  # noqa: BLE001 - tracking must not fail the pipeline
        print(f"warning: could not record the run in MLflow: {exc}", file=sys.stderr)
