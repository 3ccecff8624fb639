"""Compile the TFX pipeline for Kubeflow Pipelines v2 / Vertex AI Pipelines.

`python -m pipelines.tfx.kubeflow_runner --out pipeline.json` writes the pipeline-spec JSON
that `kfp` (or Vertex AI's `PipelineJob(template_path=...)`) submits; nothing runs here.
It is the same `create_pipeline` that `python -m pipelines tfx` runs locally: only the
runner changes. On a cluster every path must be one the pods can read, the repository
must be in the container image, and MLMD is the cluster's, not SQLite.

The pipeline root is a filesystem path (the local pipeline builds its paths with
pathlib, which turns gs://b into gs:/b): compiling uploads the user-module wheels
there, so use a path both this machine and the pods mount (e.g. /gcs/BUCKET/... with
Cloud Storage FUSE, as Vertex AI mounts buckets, or a shared volume).

Needs `kfp-pipeline-spec`, the part of TFX's `kfp` extra in requirements.lock: TFX
imports only its protobufs (`kfp.pipeline_spec`) to compile; the full kfp SDK would
conflict with the lock.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from components.shared.contract import DEFAULT_CONTRACT, Contract, load_contract
from components.shared.layout import Workdir

# TFX's own image for this TFX version: it holds TFX, Beam and TF, not this repository;
# a real deployment builds FROM it and copies the repository in.
DEFAULT_IMAGE = "gcr.io/tfx-oss-public/tfx:1.16.0"


def kfp_available() -> bool:
    """True when the protobufs KubeflowV2DagRunner compiles to are importable."""
    try:
        from kfp.pipeline_spec import pipeline_spec_pb2  # noqa: F401
    except ImportError:
        return False
    return True


def compile_pipeline(
    contract: Contract,
    pipeline_root: Path,
    out_file: Path,
    data_root: Path | None = None,
    image: str = DEFAULT_IMAGE,
) -> dict:
    """Write the KFP v2 pipeline spec of `create_pipeline` to `out_file`; returns it.

    `pipeline_root` is where the cluster's runs write artifacts (a mounted path, see
    the module docstring); `data_root` holds the split as <data_root>/{train,eval}/.
    """
    from pipelines.tfx import environment  # noqa: F401 - before TFX is imported

    # isort: split
    from tfx import v1 as tfx

    from pipelines.tfx.pipeline import create_pipeline

    workdir = Workdir(pipeline_root)
    pipeline = create_pipeline(
        contract,
        Path(data_root) if data_root else workdir.data,
        workdir,
        # Beside the split: the drift reference, as components/tfx/drift.py writes it.
        reference_statistics=(Path(data_root) if data_root else workdir.data) / "reference",
        # DirectRunner inside each component's pod, as locally; Dataflow args go here too.
        beam_pipeline_args=["--direct_running_mode=multi_processing"],
    )
    # KFP v2 provides its own metadata store; a local SQLite path means nothing there.
    pipeline.metadata_connection_config = None
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=image),
        output_dir=str(out_file.parent),
        output_filename=out_file.name,
    )
    runner.run(pipeline, write_out=True)
    return json.loads(out_file.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contract", type=Path, default=DEFAULT_CONTRACT)
    parser.add_argument("--pipeline-root", type=Path, default=Path("runs/kubeflow/root"))
    parser.add_argument("--image", default=DEFAULT_IMAGE)
    parser.add_argument("--out", type=Path, default=Path("runs/kubeflow/pipeline.json"))
    args = parser.parse_args(argv)
    if not kfp_available():
        parser.error("kfp-pipeline-spec is not installed (TFX's `kfp` extra)")
    contract = load_contract(args.contract)
    spec = compile_pipeline(contract, args.pipeline_root, args.out, image=args.image)
    tasks = spec["pipelineSpec"]["root"]["dag"]["tasks"] if "pipelineSpec" in spec else {}
    print(f"wrote {args.out} ({len(tasks)} tasks)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
