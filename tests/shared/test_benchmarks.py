"""Quick checks of the benchmark tooling (benchmarks/): the measurements, the analysis,
and the generated data. The benchmarks themselves run with `make bench` and
`make bench-scale`; their speed targets are ratios they report, never test assertions."""

from __future__ import annotations

import sys

import pandas as pd

from benchmarks import measure, scale, scale_data, speedups
from components.shared.contract import load_contract
from components.shared.dataset import load_split


def test_a_measured_child_reports_its_memory_and_cpu(tmp_path):
    code = (
        "import time\n"
        "block = bytearray(300 * 2**20)\n"  # touched below, so it is resident
        "for i in range(0, len(block), 4096): block[i] = 1\n"
        "end = time.process_time() + 0.5\n"
        "while time.process_time() < end: pass\n"
        "time.sleep(0.5)\n"
    )
    sample = measure.run_measured([sys.executable, "-c", code], tmp_path / "log")
    assert sample.returncode == 0
    assert sample.peak_rss_mb >= 300
    assert sample.cpu_s >= 0.5
    assert sample.wall_s >= sample.cpu_s * 0.9


def test_a_failing_child_is_reported_as_failing(tmp_path):
    sample = measure.run_measured([sys.executable, "-c", "raise SystemExit(3)"], tmp_path / "l")
    assert sample.returncode == 3


def test_growth_exponent_tells_linear_from_worse():
    assert scale.growth_exponents([(1_000, 10.0), (10_000, 100.0)]) == [1.0]
    assert scale.growth_exponents([(10_000, 30.0), (1_000, 20.0)]) == [0.18]
    assert scale.growth_exponents([(1_000, 1.0), (10_000, 100.0)]) == [2.0]


def test_crossover_reads_the_sizes_where_multi_processing_wins():
    walls = {
        "tfx in_memory": {10_000: 50.0, 100_000: 90.0, 1_000_000: 600.0},
        "tfx multi_processing": {10_000: 120.0, 100_000: 150.0, 1_000_000: 400.0},
    }
    # log(150/90) and log(400/600) put the crossing 56% of the way from 1e5 to 1e6.
    assert scale.crossover(walls) == (
        "between 100,000 and 1,000,000 rows (about 360,988, interpolated)"
    )
    walls["tfx multi_processing"][1_000_000] = 700.0
    assert "in-memory is faster at every measured size" in scale.crossover(walls)


def test_summary_reads_memory_per_mb_of_data_beyond_the_smallest_run():
    def run(name, rows, wall, mb, peak):
        return {"run": name, "rows": rows, "data_mb": mb, "wall_s": wall, "cpu_s": wall,
                "peak_rss_mb": peak}  # fmt: skip

    results = [
        run("tfx in_memory", 10_000, 50.0, 1.0, 2000.0),
        run("tfx in_memory", 1_000_000, 500.0, 101.0, 2500.0),
        run("tfx multi_processing", 10_000, 90.0, 1.0, 3000.0),
        run("tfx multi_processing", 1_000_000, 300.0, 101.0, 4000.0),
    ]
    summary = scale.summarize(results)
    assert summary["summary"]["tfx in_memory"]["memory_per_data_mb"] == 5.0
    assert summary["summary"]["tfx multi_processing"]["growth_exponents"] == [0.26]
    assert summary["crossover"].startswith("between 10,000 and 1,000,000 rows")


def test_generated_rows_are_seeded_and_keep_the_contract(tmp_path):
    contract = load_contract()
    first = scale_data.generate(contract, 5_000, seed=7)
    assert first.equals(scale_data.generate(contract, 5_000, seed=7))
    assert not first.equals(scale_data.generate(contract, 5_000, seed=8))
    assert list(first.columns) == contract.column_names and len(first) == 5_000

    written = load_contract(scale_data.write_dataset(5_000, tmp_path, seed=7))
    split = load_split(written.path, written)
    rows = pd.concat([split.train, split.eval])
    assert len(rows) == 5_000
    for column in contract.columns:
        values = rows[column.name]
        assert values.isna().mean() <= column.max_null_fraction, column.name
        if column.is_numeric:
            assert values.min() >= column.min and values.max() <= column.max, column.name
        else:
            assert set(values.dropna()) <= set(column.domain), column.name
    # Drawn like the source: the class balance stays within a few points.
    source = load_split(contract.path, contract)
    shares = pd.concat([source.train, source.eval])[contract.label].value_counts(normalize=True)
    drawn = rows[contract.label].value_counts(normalize=True)
    assert (drawn - shares).abs().max() < 0.03


def test_each_stack_is_set_against_its_peer_per_size_tfx_by_its_faster_mode():
    def run(name, rows, wall):
        return {"run": name, "rows": rows, "data_mb": 1.0, "wall_s": wall, "cpu_s": wall,
                "peak_rss_mb": 100.0}  # fmt: skip

    results = [
        run("tfx in_memory", 10_000, 40.0),
        run("tfx multi_processing", 10_000, 60.0),
        run(scale.TFX_PEER, 10_000, 80.0),
        run("lightning", 10_000, 30.0),
        run(scale.LIGHTNING_PEER, 10_000, 20.0),
        run("lightning", 100_000, 45.0),  # no peer run at this size: no ratio
    ]
    assert scale.peer_ratios(results) == [
        {"stack": "tfx", "rows": 10_000, "ratio": 0.5, "target": scale.TARGETS["tfx"]},
        {"stack": "lightning", "rows": 10_000, "ratio": 1.5, "target": scale.TARGETS["lightning"]},
    ]
    table = scale.markdown({"machine": {"date": "d", "cpu": "c", "cores": 2, "memory_gib": 1},
                            "training": {"epochs": 2}, **scale.summarize(results)})  # fmt: skip
    assert "| lightning | 10,000 | 1.50 | ≤ 1.0 |" in table


def test_each_speedup_is_set_against_every_speedup_on_in_the_same_round():
    # Round 3 is slow for both: compared round by round, the drift cancels out.
    walls = {"tfx": {speedups.ALL_ON: [30.0, 31.0, 40.0], "module-stubs": [33.5, 32.0, 41.0]}}
    rows = speedups.costs(walls)
    assert rows == [
        {"stack": "tfx", "speedup": speedups.ALL_ON, "wall_s": 31.0, "saves_s": None},
        {"stack": "tfx", "speedup": "module-stubs", "wall_s": 33.5, "saves_s": 1.0},
    ]
    table = speedups.markdown({"machine": measure.machine(), "repeats": 3, "rows": rows})
    assert "| tfx | module-stubs off | 33.5 | 1.0 |" in table
