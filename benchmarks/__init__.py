"""Benchmarks: timing the two pipelines against minimal baselines."""
