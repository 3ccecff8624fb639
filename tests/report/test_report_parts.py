"""The report's measured parts: code lines and install footprint."""

from __future__ import annotations

import os

from components.report.code_size import count_code_lines, lines_per_stage
from components.report.footprint import measure
from components.shared import stacks


def test_code_lines_skip_comments_docstrings_and_blanks():
    source = (
        '"""Module doc."""\n\n# comment\n'
        'def f(x):\n    """Doc."""\n    return (x +\n        1)\n'
    )
    assert count_code_lines(source) == 3


def test_each_stack_has_counted_code():
    for stack in stacks.load():
        stages = lines_per_stage(stack)
        assert stages, stack
        assert all(n > 0 for n in stages.values()), stages


def test_footprint_measures_every_stack():
    by_stack = {f.stack: f for f in measure()}
    assert set(by_stack) == set(stacks.load())
    for footprint in by_stack.values():
        assert footprint.packages > 10 and footprint.megabytes > 100, footprint
    if len(by_stack) == 2:
        first, second = by_stack.values()
        assert 0 < first.shared_packages == second.shared_packages


def test_the_claims_section_reads_edge_and_tensorboard_files(tmp_path, contract):
    import json

    from components.report import claims
    from components.report.render import _claims
    from components.shared.layout import Workdir

    workdir = Workdir(tmp_path)
    names = list(stacks.load())
    exported, failed = names[0], names[-1]
    edge = workdir.edge(exported, contract)
    edge.mkdir(parents=True)
    (edge / "edge.json").write_text(
        json.dumps(
            {"format": "tflite", "size_bytes": 2048, "agreement": 1.0, "rows": 94,
             "max_abs_prob_diff": 1e-5, "latency_single_ms": 0.05, "latency_batch_ms": 0.1,
             "latency_batch_rows": 64}
        )
    )  # fmt: skip
    if failed != exported:
        workdir.edge(failed, contract).mkdir(parents=True)
        (workdir.edge(failed, contract) / "edge.json").write_text(
            json.dumps({"format": "onnx", "error": "no onnx"})
        )
    run = workdir.tensorboard(failed, contract) / "run1"
    run.mkdir(parents=True)
    (run / "events.out.tfevents.1.host").write_bytes(b"")
    gathered = claims.gather(workdir, contract)
    assert gathered["tensorboard"] == {s: int(s == failed) for s in names}
    # Every glue file stacks.toml names is counted; a claim that names none (the Lightning
    # wing's rollback: the shared command does it all) needed no code of the wing's own.
    wings = stacks.load()
    for claim, by_stack in gathered["glue"].items():
        for stack, lines in by_stack.items():
            spec = wings[stack].glue.get(claim, {})
            names_files = bool(spec.get("modules") or spec.get("inline"))
            assert (lines > 0) == names_files, (claim, stack, lines)
    text = _claims(gathered)
    assert f"| {exported} | tflite | 2.0 | 1.000 |" in text
    assert "| 64 rows ms |" in text  # the batch the stack timed, not its eval rows
    if failed != exported:
        assert f"| {failed} | onnx | failed: no onnx |" in text
    # Every orchestrator target stacks.toml names, with its status.
    for stack in stacks.load().values():
        for target in stack.orchestrators:
            assert f"| {stack.name} | {target['target']} |" in text


def test_the_performance_section_shows_the_latest_benchmarks(tmp_path):
    from components.report.render import _performance

    out = tmp_path / "report"
    out.mkdir()
    assert "make bench" in _performance(tmp_path / "bench", out)
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "bench.md").write_text("| TFX cold / official example cold | 0.61 |\n")
    (bench / "scale.md").write_text("![scaling](scale.png)\n| tfx in_memory | 10,000 |\n")
    (bench / "scale.png").write_bytes(b"\x89PNG\r\n")
    (bench / "speedups.md").write_text("| tfx | module-stubs off | 34.0 | 3.0 |\n")
    text = _performance(bench, out)
    assert "| TFX cold / official example cold | 0.61 |" in text
    assert "| tfx in_memory | 10,000 |" in text
    assert "| tfx | module-stubs off | 34.0 | 3.0 |" in text
    # The report links the plot beside itself, so it must be copied there.
    assert (out / "scale.png").read_bytes() == b"\x89PNG\r\n"


def test_the_serving_section_shows_load_verdicts_and_the_code_each_stack_needed(tmp_path):
    from components.report.claims import glue_lines
    from components.report.render import _serving

    out = tmp_path / "report"
    out.mkdir()
    assert "run `make bench-serve`" in _serving(None, None, {}, out)
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "serve.md").write_text("| lightning | litserve | 8 | 2.1 |\n")
    (bench / "serve.png").write_bytes(b"\x89PNG\r\n")
    wings = list(stacks.load())
    glue = {c: {s: glue_lines(c, s) for s in wings} for c in ("serving", "monitoring")}
    monitors = {
        wings[0]: {"version": "3", "rows": "94", "outcome": "skew", "skewed": "island",
                   "method": "TFDV"},
    }  # fmt: skip
    text = _serving(bench, {"glue": glue}, monitors, out)
    assert "| lightning | litserve | 8 | 2.1 |" in text and "![serving latency](serve.png)" in text
    assert (out / "serve.png").read_bytes() == b"\x89PNG\r\n"
    assert f"| {wings[0]} | 3 | 94 | skew | island | TFDV |" in text
    # Each wing names the code it needed for both (stacks.toml), and it is counted.
    for claim in ("serving", "monitoring"):
        assert all(glue[claim][s] > 0 for s in wings), (claim, glue)
        assert f"| {claim} | " + " | ".join(str(glue[claim][s]) for s in wings) in text


def test_report_without_runs_of_this_contract_names_the_contracts_that_have_some(tmp_path):
    """A real MLflow store holding an evaluated run of the wine contract only."""
    import mlflow

    from components.shared.layout import Workdir
    from components.shared.tracking import ensure_experiment, tracking_uri
    from tests.conftest import run_cli

    workdir = Workdir(tmp_path / "runs")
    mlflow.set_tracking_uri(tracking_uri(workdir))
    try:
        with mlflow.start_run(experiment_id=ensure_experiment("wine", workdir)):
            mlflow.log_metric("eval_accuracy", 0.9)
    finally:
        mlflow.set_tracking_uri(None)
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    result = run_cli("report", "--workdir", workdir.root)
    assert result.returncode == 1
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("report: failed (exit 1): no evaluated pipeline run of penguins.yaml")
    assert "this store has runs of 'wine'; try --contract data/wine.yaml" in line
