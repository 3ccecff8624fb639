"""The TFX wing's local runner: runs pipelines/tfx/pipeline.py with LocalDagRunner and
does everything around it that is not wiring.

`run()` is what `python -m pipelines tfx` calls; it returns the CLI exit code. Around the
run (whose caller, pipelines/tfx/cli.py, holds the workdir's lock): TFX's chatter in a log
file, Beam's DirectRunner mode chosen by data size, the outcome read back from MLMD, and
two child processes for its end (the TFLite export of a push and the MLflow record),
started as the Evaluator starts.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.tfx import environment  # noqa: F401 - before TFX is imported

# isort: split
import absl.logging
from tfx.orchestration.local.local_dag_runner import LocalDagRunner

from components.shared import dataset, speedups
from components.shared.baseline import Baseline, majority_baseline, required_accuracy
from components.shared.baseline import describe as describe_baseline
from components.shared.contract import Contract
from components.shared.dataset import DataValidationError, Snapshot, snapshot
from components.shared.layout import Workdir
from components.shared.outcome import ExitCode, Outcome, collapse, last_line
from components.shared.tracking import CHAMPION
from components.tfx import edge, reports, tensorboard
from components.tfx.drift import reference_statistics
from pipelines.tfx import fingerprint as run_fingerprint
from pipelines.tfx import portable as portable_runner
from pipelines.tfx.beam_options import runner_description, with_default_beam_args
from pipelines.tfx.pipeline import (
    GATE_ID,
    PREVIOUS_SPAN_VALIDATOR_ID,
    STACK,
    TRANSFORM_MODULE,
    create_backfill_pipeline,
    create_pipeline,
    pipeline_name,
)

if TYPE_CHECKING:  # optional at run time: MLflow may be absent (see _recorder)
    from components.tfx.mlflow_record import PendingRecord

# The two children (the TFLite export, the MLflow recorder) start as this component
# starts, and import and open their store while it runs rather than after the push;
# started with the run, their imports slowed Transform and the Trainer (both cores busy).
CHILDREN_START_WITH = "Evaluator"


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


def stage_schema(contract: Contract, workdir: Workdir) -> Path:
    """Copy the curated schema to a path named by its content.

    ImportSchemaGen's cache key is the file *path*: a contract copied elsewhere (same
    schema, other thresholds) would re-import it and retrain everything downstream.
    """
    from components.tfx.schema import fresh_companion

    text = fresh_companion(contract).read_bytes()
    target = workdir.staged(STACK) / hashlib.sha256(text).hexdigest()[:16]
    target = target / "schema.pbtxt"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text)
    return target


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


class _ComponentEvents(logging.Handler):
    """What happens as each component starts and ends, read from LocalDagRunner's and its
    launcher's own records (absl, INFO: a component's start, a cache hit, its end): a
    line on the terminal as each finishes, unless `show` is off, and `on_start[id]()` as
    component `id` starts."""

    RUNNING, FINISHED = "Component %s is running.", "Component %s is finished."
    CACHED = "A cached execution %d is used."

    def __init__(self, show: bool, on_start: dict[str, Callable[[], None]]) -> None:
        super().__init__(logging.INFO)
        sys.stdout.flush()
        # The terminal, taken before the run's output is redirected to its log.
        self._terminal = os.fdopen(os.dup(1), "w", buffering=1) if show else None
        self._on_start = dict(on_start)
        self._started = 0.0
        self._cached = False

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == self.RUNNING:
            self._started, self._cached = time.monotonic(), False
            action = self._on_start.pop(record.args[0], None)
            if action is not None:
                action()
        elif record.msg == self.CACHED:
            self._cached = True
        elif record.msg == self.FINISHED and self._terminal is not None:
            how = "cached" if self._cached else "done"
            took = time.monotonic() - self._started
            self._terminal.write(f"  {record.args[0]} {how} in {took:.1f} s\n")

    def close(self) -> None:
        if self._terminal is not None:
            self._terminal.close()
        super().close()


class _AbslWarningsOnly(logging.Filter):
    """What the log file gets from absl while the progress needs its INFO records: the
    warnings and errors, as without it (at INFO, TFX logs every artifact's proto)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name != "absl" or record.levelno >= logging.WARNING


@contextmanager
def _component_events(on_start: dict[str, Callable[[], None]]) -> Iterator[None]:
    """`_ComponentEvents` for the block; the progress lines not with --verbose, where
    TFX's own log shows each component."""
    # absl's verbosity, not its logger's level: TensorFlow sets and restores the former
    # around every save.
    verbosity = absl.logging.get_verbosity()
    handler = _ComponentEvents(show=not _verbose(), on_start=on_start)
    quiet = _AbslWarningsOnly()
    others = [] if _verbose() else list(logging.getLogger().handlers)
    for other in others:
        other.addFilter(quiet)
    absl.logging.set_verbosity(max(verbosity, absl.logging.INFO))
    logging.getLogger("absl").addHandler(handler)
    try:
        yield
    finally:
        logging.getLogger("absl").removeHandler(handler)
        absl.logging.set_verbosity(verbosity)
        for other in others:
            other.removeFilter(quiet)
        handler.close()


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


def run(
    contract: Contract,
    data: Path,
    workdir: Workdir,
    beam_args: Sequence[str] = (),
    data_sha256: str | None = None,
    portable: bool = False,
) -> int:
    """Run the pipeline on `data` under `workdir`; returns an ExitCode (0, 1, 2 or 3).
    `data_sha256`: the file's hash when the caller has taken it already. `portable`: start
    a local job service and worker pool for the run and point Beam's PortableRunner at
    them (pipelines/tfx/portable.py); `beam_args` then hold PORTABLE_BEAM_ARGS, which
    the CLI adds before it fingerprints the run. The caller holds the workdir's TFX lock
    (pipelines/tfx/cli.py): SQLite MLMD is single-writer."""
    _quiet_logs()
    _silence_tf_function_finalizers()
    return _run_locked(contract, Path(data), workdir, beam_args, data_sha256, portable)


def _run_locked(
    contract: Contract,
    data: Path,
    workdir: Workdir,
    beam_args: Sequence[str],
    data_sha256: str | None,
    portable: bool,
) -> int:
    # Started as the Evaluator starts, handed their jobs at the end of the run; whatever
    # stops the run stops them too.
    edge_export = edge.PendingExport(contract, workdir.edge(STACK, contract))
    recorder = _recorder(contract, workdir)
    try:
        # Taken before anything else is read: the record of a push must describe what
        # that run used. The data file is hashed once, and read at most once, per run.
        digest = data_sha256 or dataset.data_sha256(data, contract)
        taken = run_fingerprint.fingerprint(contract, digest, beam_args)
        try:
            snap = snapshot(data, contract, workdir.data, sha256=digest)
        except DataValidationError as exc:  # refused before TFX starts: nothing ran
            print(f"error: {exc}", file=sys.stderr)
            print(last_line(STACK, Outcome.DATA_INVALID, [str(exc)]), flush=True)
            return ExitCode.DATA_INVALID
        return _run_with_children(
            contract, snap, workdir, beam_args, portable, taken, edge_export, recorder
        )
    finally:
        edge_export.cancel()
        if recorder is not None:
            recorder.cancel()


@contextmanager
def _beam_services(
    workdir: Workdir, beam_args: Sequence[str], portable: bool
) -> Iterator[list[str]]:
    """`beam_args`, plus, for a portable run, the runner and the endpoints of its local
    services while they run."""
    if not portable:
        yield list(beam_args)
        return
    with portable_runner.local_services(workdir.logs(STACK), TRANSFORM_MODULE) as endpoints:
        print(f"Beam portable services: {' '.join(endpoints)}", flush=True)
        yield [*beam_args, *endpoints]


def _run_with_children(
    contract: Contract,
    snap: Snapshot,
    workdir: Workdir,
    beam_args: Sequence[str],
    portable: bool,
    taken: str,
    edge_export: edge.PendingExport,
    recorder: PendingRecord | None,
) -> int:
    baseline = _baseline(contract, snap)
    with ExitStack() as services:
        try:
            run_beam_args = services.enter_context(_beam_services(workdir, beam_args, portable))
        except portable_runner.PortableServicesError as exc:
            print(f"error: {exc}", file=sys.stderr)
            print(last_line(STACK, Outcome.ERROR, [str(exc)]), flush=True)
            return ExitCode.ERROR
        pipeline = create_pipeline(
            contract,
            snap.split_dir,
            workdir,
            reference_statistics=reference_statistics(contract, workdir.staged(STACK)),
            schema_file=stage_schema(contract, workdir),
            beam_pipeline_args=with_default_beam_args(run_beam_args, snap.rows),
            min_accuracy=required_accuracy(contract, baseline),
            window=snap.spans,
        )
        print(
            f"TFX pipeline {pipeline.pipeline_info.pipeline_name}: {snap.data} ({snap.rows} rows)"
            f" -> {workdir.root} (Beam {runner_description(pipeline.beam_pipeline_args)})",
            flush=True,
        )
        started_at = time.time()
        started = time.monotonic()
        error: BaseException | None = None

        def children_prepare() -> None:
            if speedups.enabled("early-children"):
                edge_export.prepare()
                if recorder is not None:
                    recorder.prepare()

        log_path = workdir.logs(STACK) / f"run-{time.strftime('%Y%m%dT%H%M%S')}.log"
        try:
            with (
                _component_events({CHILDREN_START_WITH: children_prepare}),
                _output_to(None if _verbose() else log_path),
                run_temp_dir(workdir.temp(STACK)),
                _environ(**USER_CODE_PIP_ENV),
            ):
                for span in snap.spans[:-1]:  # cached once ingested
                    LocalDagRunner().run(
                        create_backfill_pipeline(
                            contract, snap.split_dir, workdir, span, pipeline.beam_pipeline_args
                        )
                    )
                LocalDagRunner().run(pipeline)
        except Exception as exc:  # noqa: BLE001 - classified below from MLMD
            error = exc
            if not _verbose():
                with open(log_path, "a") as log:
                    traceback.print_exception(exc, file=log)
        elapsed = time.monotonic() - started
    _quiet_logs()  # TFX's launcher turns absl back to INFO

    nodes = reports.latest_run(pipeline.metadata_connection_config, pipeline_name(contract))
    written = reports.write_data_reports(
        _first_uri(nodes.get("StatisticsGen"), "statistics"),
        _first_uri(nodes.get("ExampleValidator"), "anomalies"),
        workdir.data_reports(STACK, contract),
        drift_uri=_first_uri(nodes.get("DistributionValidator"), "anomalies"),
        previous_span_uri=_first_uri(nodes.get(PREVIOUS_SPAN_VALIDATOR_ID), "anomalies"),
    )
    if written:
        print(f"data reports: {', '.join(str(p) for p in written)}")
    tensorboard.publish(
        _first_uri(nodes.get("Trainer"), "model_run"), workdir.tensorboard(STACK, contract)
    )

    had_push = workdir.latest_push(STACK, contract) is not None
    code, outcome, problems, final = _classify(nodes, error, elapsed, log_path, had_push)
    for line in problems:
        print(line, file=sys.stderr)
    edge_report = _start_edge_export(edge_export, nodes, snap) if code == ExitCode.OK else None
    if "Evaluator" in nodes:
        print(describe_baseline(contract, baseline))
    _record_in_mlflow(
        recorder, contract, snap, workdir, nodes, outcome, problems, elapsed, started_at,
        baseline.metrics(),
    )  # fmt: skip
    if edge_report is not None:
        edge_report()
    if code == ExitCode.OK:
        run_fingerprint.remember(contract, workdir, taken, str(_pushed_destination(nodes)), final)
    else:
        run_fingerprint.forget(contract, workdir)
    print(final, flush=True)
    return code


def _baseline(contract: Contract, snap: Snapshot) -> Baseline:
    """The majority-class baseline on the split TFX trains and evaluates on."""
    import pandas as pd

    labels = {
        part: pd.concat(
            pd.read_csv(path, usecols=[contract.label], dtype=str) for path in snap.part_files(part)
        )
        for part in ("train", "eval")
    }
    return majority_baseline(
        labels["train"][contract.label].dropna(),
        labels["eval"][contract.label].dropna(),
        contract.classes,
    )


def _classify(
    nodes: dict[str, reports.NodeRun],
    error: BaseException | None,
    elapsed: float,
    log_path: Path,
    had_push: bool,
) -> tuple[ExitCode, Outcome, list[str], str]:
    """(exit code, outcome, stderr lines saying why, final stdout line). `had_push`:
    a model was pushed before this run, so a failed run leaves it in place."""
    gate = nodes.get(GATE_ID)
    if gate is not None and gate.state == "FAILED":
        details, reasons = [], []
        # The schema's findings, then the drift's, then the drift against the previous span.
        for key in ("anomalies", "drift", "previous_span"):
            uri = _first_uri(gate, key, outputs=False)
            found = reports.anomaly_lines(uri, key == "previous_span") if uri else ([], [])
            details, reasons = details + found[0], reasons + found[1]
        shown = collapse(details, limit=None if _verbose() else 10)
        return (
            ExitCode.DATA_INVALID,
            Outcome.DATA_INVALID,
            ["error: data validation failed, nothing trained or pushed:"]
            + [f"  {line}" for line in shown],
            last_line(STACK, Outcome.DATA_INVALID, reasons),
        )
    if error is not None:
        if _verbose():
            logging.exception("TFX run failed", exc_info=error)
        first = (str(error).strip().splitlines() or [""])[0]
        cause = f"{type(error).__name__}: {first}".rstrip(": ")
        problems = [f"error: TFX run failed after {elapsed:.0f} s: {type(error).__name__}: {error}"]
        if not _verbose():
            problems.append(f"  full log: {log_path} (or rerun with --verbose)")
        return ExitCode.ERROR, Outcome.ERROR, problems, last_line(STACK, Outcome.ERROR, [cause])

    if "Evaluator" not in nodes:  # e.g. a resolver found no input: skipped, not raised
        cause = "the run ended before the Evaluator ran (an input was not resolved)"
        problems = [f"error: TFX run incomplete after {elapsed:.0f} s: {cause}"]
        if not _verbose():
            problems.append(f"  full log: {log_path} (or rerun with --verbose)")
        return ExitCode.ERROR, Outcome.ERROR, problems, last_line(STACK, Outcome.ERROR, [cause])
    evaluator = nodes["Evaluator"]
    evaluation_uri = _first_uri(evaluator, "evaluation")
    accuracy = reports.evaluator_accuracy(evaluation_uri)
    blessing = (evaluator.outputs.get("blessing") or [None])[0]
    if blessing is None or blessing.custom_properties["blessed"].int_value != 1:
        failures = reports.validation_failures(evaluation_uri)
        if blessing is not None and blessing.custom_properties["rolled_back"].int_value:
            # A cached Evaluator hands back the blessing `rollback` withdrew.
            failures = ["rolled back: this model's blessing was withdrawn by `rollback`"]
        kept = "; the previous push stays in place" if had_push else "; nothing was pushed"
        return (
            ExitCode.NOT_BLESSED,
            Outcome.NOT_BLESSED,
            [f"error: model not blessed (eval accuracy {accuracy:.4f}); nothing pushed:"]
            + [f"  {line}" for line in failures],
            last_line(STACK, Outcome.NOT_BLESSED, failures, suffix=kept),
        )
    destination = _pushed_destination(nodes)
    cached = sum(n.state == "CACHED" for n in nodes.values())
    return (
        ExitCode.OK,
        Outcome.PUSHED,
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
    edge_export: edge.PendingExport, nodes: dict[str, reports.NodeRun], snap: Snapshot
) -> Callable[[], None] | None:
    """Hand the push to the TFLite export (components/tfx/edge.py), whose child process
    converts while the run is recorded in MLflow; returns what waits for it and prints
    the result. A failure is a warning, kept in edge.json, and
    never changes the run's exit code."""
    push_dir = _pushed_destination(nodes)
    if push_dir is None:
        return None
    transform_graph = _first_uri(nodes.get("Transform"), "transform_graph") or ""
    wait = edge_export.start(push_dir, transform_graph, snap.eval_file)

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


def _recorder(contract: Contract, workdir: Workdir) -> PendingRecord | None:
    """The MLflow recorder's child (components/tfx/mlflow_record.py), or None where MLflow
    is not installed: the TFX run itself does not need it."""
    if importlib.util.find_spec("mlflow") is None:
        return None
    try:
        from components.tfx import mlflow_record
    except ImportError:
        return None
    return mlflow_record.PendingRecord(contract, workdir, workdir.logs(STACK) / "mlflow.log")


def _record_in_mlflow(
    recorder: PendingRecord | None,
    contract: Contract,
    snap: Snapshot,
    workdir: Workdir,
    nodes: dict[str, reports.NodeRun],
    outcome: Outcome,
    problems: list[str],
    elapsed: float,
    started_at: float,
    baseline_metrics: dict[str, float],
) -> None:
    """Log the run beside the Lightning runs: the numbers are gathered here, from TFX's
    outputs, and written by the recorder's child, which also registers a push in the
    MLflow registry. A recording failure is reported but never changes the pipeline's
    exit code."""
    if recorder is None:
        return
    from components.tfx import mlflow_record

    try:
        with _output_to(None if _verbose() else workdir.logs(STACK) / "mlflow.log"):
            job = mlflow_record.gather(
                contract,
                nodes,
                outcome,
                "\n".join(problems),
                snap.sha256,
                snap.sizes,
                workdir.metadata_db(STACK),
                workdir.data_reports(STACK, contract),
                elapsed,
                started_at,
                snap.data,
                baseline_metrics,
            )
        written = recorder.start(job)()
        if "version" in written:
            name = contract.registered_model(STACK)
            print(f"registered {name} version {written['version']} as {CHAMPION}")
    except Exception as exc:  # noqa: BLE001 - tracking must not fail the pipeline
        print(f"warning: could not record the run in MLflow: {exc}", file=sys.stderr)
