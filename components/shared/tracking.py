"""Where and how both pipelines record runs in MLflow, so the two are comparable column
for column in the MLflow UI and the report can read them back.

Names every run uses:
  name     <stack>-<dataset>-<start time> (`run_name`), spanning the pipeline's own time
  input    the shared split's train and eval rows as MLflow datasets (`log_datasets`)
  tags     pipeline (the stack's key in stacks.toml), outcome (components/shared/outcome.py),
           outcome_detail; lineage_store, lineage_recorded, published_model (what the run
           published: a models:/ URI or a SavedModel folder), read by the report
  params   the contract's hyperparameters, data_sha256, train_rows, eval_rows
  metrics  eval_accuracy, eval_f1_<class>, eval_log_loss (when the stack computes it);
           time_<step>_s per step and time_total_s; per epoch (step = epoch):
           train_loss, val_loss, val_accuracy
  artifact eval/confusion_matrix.json  {"classes": [...], "matrix": [[...], ...]}
  model    each stack registers what it publishes as <model_name>-<stack>
           (Contract.registered_model), with `serving_schema`, and moves its `champion`
           alias only when it publishes
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from components.shared.contract import Contract
from components.shared.layout import Workdir
from components.shared.outcome import Outcome

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.models import ModelSignature

    from components.shared.dataset import Split

CONFUSION_MATRIX_ARTIFACT = "eval/confusion_matrix.json"
CHAMPION = "champion"  # the registry alias of the model a stack serves
PREDICTION = "prediction"  # every registered model's output: the class, then prob_<class>


def run_name(stack: str, contract: Contract, started: float) -> str:
    """`<stack>-<dataset>-<local start time>`: what the MLflow runs table shows first."""
    return f"{stack}-{contract.name}-{time.strftime('%Y%m%d-%H%M%S', time.localtime(started))}"


def serving_schema(contract: Contract) -> dict[str, list[dict]]:
    """What every stack's registered model takes and returns, in MLflow's schema JSON: raw
    rows in (the contract's features; optional where a value may be missing), the class
    and one probability per class out. Plain JSON, so a caller need not import MLflow."""
    inputs = [
        {
            "type": "double" if c.is_numeric else "string",
            "name": c.name,
            "required": c.max_null_fraction == 0,
        }
        for c in contract.features
    ]
    outputs = [{"type": "string", "name": PREDICTION, "required": True}] + [
        {"type": "double", "name": f"prob_{cls}", "required": True} for cls in contract.classes
    ]
    return {"inputs": inputs, "outputs": outputs}


def serving_signature(schema: dict[str, list[dict]]) -> ModelSignature:
    """`serving_schema`'s JSON as the signature `mlflow.pyfunc.log_model` takes."""
    from mlflow.models import ModelSignature

    return ModelSignature.from_dict({k: json.dumps(v) for k, v in schema.items()})


def log_datasets(split: Split, contract: Contract, data: Path) -> None:
    """Record the split as the active run's inputs (MLflow datasets, one per side, named
    <dataset>-training and <dataset>-evaluation; for spans one pair per span of the
    window, <dataset>-span-<N>-training, tagged span=<N>): the same rows give the same
    digest in every stack, so the UI shows that the stacks read the same data."""
    import warnings

    import mlflow

    # MLflow registers the local-file source twice and warns that a path is ambiguous.
    warnings.filterwarnings("ignore", ".*can be interpreted in multiple ways.*")
    if not split.spans:
        parts = [(f"{contract.name}", Path(data), None, split.train, split.eval)]
    else:  # one pair per span of the training window, named and tagged with its span
        parts = [
            (f"{contract.name}-span-{part.number}", part.folder, part.number,
             *split.span_rows(part.number))
            for part in split.spans
        ]  # fmt: skip
    for stem, source, span, train, eval_ in parts:
        for context, frame in (("training", train), ("evaluation", eval_)):
            dataset = mlflow.data.from_pandas(
                frame,
                source=str(source.resolve()),
                name=f"{stem}-{context}",
                targets=contract.label if contract.label in frame.columns else None,
            )
            tags = None if span is None else {"span": str(span)}
            mlflow.log_input(dataset, context=context, tags=tags)


def contract_params(contract: Contract) -> dict[str, object]:
    """The contract's hyperparameters and thresholds, under the names both stacks log."""
    hp = contract.hyperparameters
    return {
        "hidden_units": ",".join(map(str, hp.hidden_units)),
        "learning_rate": hp.learning_rate,
        "epochs": hp.epochs,
        "batch_size": hp.batch_size,
        "seed": hp.seed,
        "early_stopping_patience": hp.early_stopping_patience,
        "min_accuracy": contract.min_accuracy,
        "max_accuracy_drop": contract.max_accuracy_drop,
    }


def tracking_uri(workdir: Workdir) -> str:
    """MLFLOW_TRACKING_URI when set (e.g. a shared server), else the workdir's SQLite store."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{workdir.mlflow_db}"


def is_server(uri: str) -> bool:
    return uri.startswith(("http://", "https://", "databricks"))


def store_exists(workdir: Workdir) -> bool:
    """Whether the tracking store is there to read: a SQLite file must exist (opening a
    mistyped path would create an empty store); any other store is asked as it is."""
    uri = tracking_uri(workdir)
    if uri.startswith("sqlite:///"):
        return Path(uri.removeprefix("sqlite:///")).exists()
    return True


def champion_version(client: MlflowClient, name: str) -> ModelVersion | None:
    """The version under the registered model's `champion` alias, or None when there is
    none (no such model, or no alias yet)."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def scoring_server_command(model_uri: str, host: str, port: int) -> list[str]:
    """MLflow's scoring server for a model, in this environment (--env-manager local: the
    one that trained it); run it with processes.with_venv_on_path()."""
    import sys

    mlflow = str(Path(sys.executable).with_name("mlflow"))
    return [mlflow, "models", "serve", "-m", model_uri, "--env-manager", "local",
            "-h", host, "-p", str(port)]  # fmt: skip


def pinned_requirements(packages: Sequence[str]) -> list[str]:
    """`package==version` as installed here, for a logged model (inferring them would load
    the model once more); a local label (torch 2.13.0+cpu) is dropped: PyPI does not serve
    it."""
    from importlib.metadata import version

    return [f"{p}=={version(p).split('+')[0]}" for p in packages]


def ensure_experiment(name: str, workdir: Workdir) -> str:
    """The experiment's id, created with artifacts beside the store (MLflow's default with
    a SQLite URI is ./mlruns in the current directory), with the saved view of the runs
    table that shows the stacks side by side (REVIEW_VIEW)."""
    import mlflow

    uri = tracking_uri(workdir)
    mlflow.set_tracking_uri(uri)
    workdir.mlflow.mkdir(parents=True, exist_ok=True)
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is None:
        # A tracking server decides where artifacts go; a local store needs a location.
        location = None if is_server(uri) else workdir.mlflow_artifacts.as_uri()
        try:
            experiment_id = mlflow.create_experiment(name, artifact_location=location)
        except mlflow.exceptions.MlflowException:
            # Created meanwhile by a concurrent run.
            experiment_id = mlflow.get_experiment_by_name(name).experiment_id
    else:
        experiment_id = experiment.experiment_id
    client = mlflow.MlflowClient()
    # What the experiment holds. MLflow 3.17's UI still opens on its GenAI view unless
    # the URL says ?workflowType=machine_learning (pipelines/ui.py's links do).
    client.set_experiment_tag(experiment_id, "mlflow.experimentKind", "custom_model_development")
    client.set_experiment_tag(experiment_id, f"{SAVED_VIEW_TAG}.{REVIEW_VIEW}", _review_view())
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


# The runs table as a review of the stacks needs it. No URL parameter of MLflow's UI picks
# columns; its saved "Views" do: one per experiment tag, opened with ?viewStateShareKey.
SAVED_VIEW_TAG = "mlflow.sharedViewState"
REVIEW_VIEW = "stacks-side-by-side"
REVIEW_COLUMNS = (
    "tags.`pipeline`",
    "tags.`outcome`",
    "metrics.`eval_accuracy`",
    "metrics.`eval_accuracy_baseline`",
    "metrics.`eval_f1_macro`",
    "metrics.`eval_log_loss`",
    "metrics.`time_total_s`",
)


def _review_view() -> str:
    state = {
        "selectedColumns": list(REVIEW_COLUMNS),
        "orderByKey": "attributes.start_time",
        "orderByAsc": False,
    }
    return json.dumps(
        {"name": "stacks side by side", "createdAt": 0, "updatedAt": 0, "state": json.dumps(state)}
    )


# A run records which process owns it, so a later run can tell a run whose process was
# killed (SIGKILL, OOM, power loss: no chance to end it) from one still in progress.
PID_TAG = "run_pid"
HOST_TAG = "run_host"
PROCESS_START_TAG = "run_process_start"


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid
    from the process that started the run; None where /proc is not there."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22; the command name (field 2) may hold spaces, so count after its ')'.
    return stat.rsplit(")", 1)[1].split()[19]


def process_tags() -> dict[str, str]:
    """Tags naming this process; set them when the run starts."""
    tags = {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    start = _process_start(os.getpid())
    if start is not None:
        tags[PROCESS_START_TAG] = start
    return tags


def _process_gone(tags: dict[str, str]) -> bool:
    pid = tags.get(PID_TAG, "")
    if tags.get(HOST_TAG) != socket.gethostname() or not pid.isdigit():
        # Another machine's run (a shared server), or an untagged one: we cannot tell.
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, owned by another user
    recorded = tags.get(PROCESS_START_TAG)
    return recorded is not None and _process_start(int(pid)) not in (None, recorded)


def sweep_stale_runs(experiment_id: str, pipeline: str) -> list[str]:
    """Mark KILLED the RUNNING runs of `pipeline` whose process is gone from this host.

    A killed process never ends its run, which would otherwise show as RUNNING forever.
    Returns the ids of the runs it ended.
    """
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    running = client.search_runs(
        [experiment_id],
        filter_string=f"tags.pipeline = '{pipeline}' and attributes.status = 'RUNNING'",
    )
    ended = []
    for run in running:
        if not _process_gone(run.data.tags):
            continue
        client.set_tag(run.info.run_id, "outcome", Outcome.ERROR.value)
        client.set_tag(
            run.info.run_id,
            "outcome_detail",
            f"process {run.data.tags[PID_TAG]} ended without ending the run (killed); "
            "marked KILLED by a later run",
        )
        client.set_terminated(run.info.run_id, status="KILLED")
        ended.append(run.info.run_id)
    return ended
