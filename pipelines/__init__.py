"""Pipelines wire the steps in `components/` into runnable jobs.

See `python -m pipelines --help`.
"""
