"""Pipelines wire the steps in `components/` into runnable jobs (see `python -m pipelines --help`)."""
