"""The TFX wing: the pipeline (pipeline.py, wiring only), its local runner (run.py), the
Kubeflow compiler (kubeflow_runner.py) and its subcommand (cli.py).
"""
