"""The ecosystem claims, measured: edge exports, TensorBoard logs, orchestrator targets,
and the glue code each stack needed for them.

Reads only files: the pipelines' edge.json and TensorBoard folders in the workdir, and
the repository's sources. Imports neither stack (a report must render with one deleted).
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

from components.report.code_size import count_code_lines
from components.shared.contract import REPO_ROOT, Contract

STACKS = ("tfx", "lightning")
# Glue per claim: whole modules written for it, and files where it is a few inline lines
# (counted as the code lines naming it).
GLUE: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    "edge export": {
        "tfx": {"modules": ("components/tfx/edge.py",), "inline": ()},
        "lightning": {"modules": ("components/lightning/edge.py",), "inline": ()},
    },
    "TensorBoard": {
        "tfx": {
            "modules": ("components/tfx/tensorboard.py",),
            "inline": ("models/keras/keras_mlp.py", "pipelines/tfx_pipeline.py"),
        },
        "lightning": {
            "modules": (),
            "inline": ("components/lightning/train.py", "pipelines/lightning_pipeline.py"),
        },
    },
    "production orchestrator": {
        "tfx": {"modules": ("pipelines/kubeflow_runner.py",), "inline": ()},
        "lightning": {"modules": ("MLproject",), "inline": ()},
    },
}
INLINE_PATTERN = {"TensorBoard": re.compile(r"tensorboard|notf", re.IGNORECASE)}


def _code_lines(path: Path) -> int:
    text = path.read_text()
    if path.suffix == ".py":
        return count_code_lines(text)
    return sum(
        1 for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    )


def glue_lines(claim: str, stack: str, root: Path = REPO_ROOT) -> int:
    """Code lines `stack` needed for `claim` (0 when its files are gone)."""
    spec = GLUE[claim][stack]
    total = sum(_code_lines(root / m) for m in spec["modules"] if (root / m).exists())
    pattern = INLINE_PATTERN.get(claim)
    for name in spec["inline"]:
        path = root / name
        if pattern and path.exists():
            total += sum(
                1
                for line in path.read_text().splitlines()
                if pattern.search(line) and not line.lstrip().startswith("#")
            )
    return total


def edge_results(workdir: Path, contract: Contract) -> dict[str, dict]:
    """{stack: edge.json} for the stacks that tried an edge export."""
    out = {}
    for stack in STACKS:
        path = Path(workdir) / "edge" / stack / contract.name / "edge.json"
        if path.exists():
            out[stack] = json.loads(path.read_text())
    return out


def tensorboard_runs(workdir: Path, contract: Contract) -> dict[str, int]:
    """{stack: runs with TensorBoard event files} (symlinked TFX logs followed)."""
    counts = {}
    for stack in STACKS:
        root = Path(workdir) / "tensorboard" / stack / contract.name
        runs = [p for p in root.iterdir() if p.is_dir()] if root.is_dir() else []
        counts[stack] = sum(1 for run in runs if any(run.rglob("events.out.tfevents.*")))
    return counts


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def orchestrators() -> list[list[str]]:
    """[stack, target, status] rows: what this tree can compile or launch, and what not."""
    rows = [
        ["tfx", "LocalDagRunner + Beam DirectRunner", "runs here (the pipeline)"],
        ["tfx", "Beam on Flink / Spark / Dataflow", "compiles (tested with Flink args)"],
    ]
    if _installed("kfp.pipeline_spec"):
        kfp = "compiles to a pipeline-spec JSON (tested)"
    else:
        kfp = "compile code ready; kfp-pipeline-spec is missing from this environment"
    rows.append(["tfx", "Kubeflow Pipelines v2 / Vertex AI", kfp])
    airflow = "installed" if _installed("airflow") else "README snippet; apache-airflow absent"
    rows.append(["tfx", "Airflow (AirflowDagRunner)", airflow])
    if (REPO_ROOT / "MLproject").exists():
        rows.append(["lightning", "MLflow Projects (`mlflow run`)", "runs (tested)"])
    rows.append(
        ["lightning", "Kubeflow / Airflow", "not provided: a wrapper per step and a DAG to write"]
    )
    return rows


def gather(workdir: Path, contract: Contract) -> dict:
    return {
        "edge": edge_results(workdir, contract),
        "tensorboard": tensorboard_runs(workdir, contract),
        "orchestrators": orchestrators(),
        "glue": {claim: {s: glue_lines(claim, s) for s in STACKS} for claim in GLUE},
    }
