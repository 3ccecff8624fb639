"""The comparison layer: reads what both pipelines recorded in MLflow, the source tree
and the installed environment, and writes the side-by-side report."""
