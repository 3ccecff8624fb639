"""The report's measured parts: code lines and install footprint."""

from __future__ import annotations

from components.report.code_size import count_code_lines, lines_per_stage
from components.report.footprint import measure


def test_code_lines_skip_comments_docstrings_and_blanks():
    source = (
        '"""Module doc."""\n\n# comment\n'
        'def f(x):\n    """Doc."""\n    return (x +\n        1)\n'
    )
    assert count_code_lines(source) == 3


def test_each_stack_has_counted_code():
    for stack in ("tfx", "lightning"):
        stages = lines_per_stage(stack)
        assert stages, stack
        assert all(n > 0 for n in stages.values()), stages


def test_footprint_measures_both_stacks():
    by_stack = {f.stack: f for f in measure()}
    assert by_stack["tfx"].packages > 50 and by_stack["tfx"].megabytes > 500
    assert by_stack["lightning"].packages > 20 and by_stack["lightning"].megabytes > 300
    assert 0 < by_stack["tfx"].shared_packages == by_stack["lightning"].shared_packages


def test_the_claims_section_reads_edge_and_tensorboard_files(tmp_path, contract):
    import json

    from components.report import claims
    from components.report.render import _claims

    edge = tmp_path / "edge" / "tfx" / contract.name
    edge.mkdir(parents=True)
    (edge / "edge.json").write_text(
        json.dumps(
            {"format": "tflite", "size_bytes": 2048, "agreement": 1.0, "rows": 94,
             "max_abs_prob_diff": 1e-5, "latency_single_ms": 0.05, "latency_batch_ms": 0.1}
        )
    )  # fmt: skip
    failed = tmp_path / "edge" / "lightning" / contract.name
    failed.mkdir(parents=True)
    (failed / "edge.json").write_text(json.dumps({"format": "onnx", "error": "no onnx"}))
    run = tmp_path / "tensorboard" / "lightning" / contract.name / "run1"
    run.mkdir(parents=True)
    (run / "events.out.tfevents.1.host").write_bytes(b"")
    gathered = claims.gather(tmp_path, contract)
    assert gathered["tensorboard"] == {"tfx": 0, "lightning": 1}
    assert all(n > 0 for by_stack in gathered["glue"].values() for n in by_stack.values())
    text = _claims(gathered)
    assert "| tfx | tflite | 2.0 | 1.000 |" in text
    assert "| lightning | onnx | failed: no onnx |" in text
    assert "Kubeflow Pipelines v2" in text


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
    text = _performance(bench, out)
    assert "| TFX cold / official example cold | 0.61 |" in text
    assert "| tfx in_memory | 10,000 |" in text
    # The report links the plot beside itself, so it must be copied there.
    assert (out / "scale.png").read_bytes() == b"\x89PNG\r\n"
