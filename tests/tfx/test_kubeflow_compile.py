"""The TFX pipeline compiles for Kubeflow Pipelines v2 / Vertex AI: no cluster needed.

Only `kfp-pipeline-spec` of TFX's `kfp` extra is locked: it is all the compiler needs.
"""

from __future__ import annotations

import pytest

pytest.importorskip("tfx", reason="TFX stack removed from this tree")
from pipelines.tfx import kubeflow_runner  # noqa: E402
from tests.tfx.test_tfx_build import COMPONENTS  # noqa: E402


def test_create_pipeline_compiles_to_a_kfp_v2_pipeline_spec(contract, tmp_path):
    out = tmp_path / "spec" / "pipeline.json"
    spec = kubeflow_runner.compile_pipeline(
        contract, tmp_path / "root", out, image="example.com/tfx-vs-lightning:test"
    )
    assert out.exists()
    pipeline_spec = spec["pipelineSpec"]
    assert pipeline_spec["pipelineInfo"]["name"] == f"{contract.name}-tfx"
    tasks = pipeline_spec["root"]["dag"]["tasks"]
    # The Resolver compiles to resolver tasks of its own; every component is a task.
    assert set(COMPONENTS) - {"latest_blessed_model_resolver"} <= set(tasks)
    # The Cond(blessed) around the Pusher survives as a KFP trigger condition.
    assert "condition" in tasks["Pusher"]["triggerPolicy"]
    assert "blessed" in tasks["Pusher"]["triggerPolicy"]["condition"]
    executors = pipeline_spec["deploymentSpec"]["executors"]
    images = {e["container"]["image"] for e in executors.values() if "container" in e}
    assert images == {"example.com/tfx-vs-lightning:test"}
    # The user modules were packaged as wheels under the pipeline root for the pods.
    assert len(list((tmp_path / "root" / "tfx" / "_wheels").glob("*.whl"))) == 2
