"""Reading the Evaluator's TFMA output for the candidate model, with or without a baseline.

Once a blessed model exists, the Evaluator compares against it and TFMA keys every
metric and plot by model name ("candidate", "baseline"); `tfma.load_eval_result(uri)`
without a name then finds no plots, and the confusion matrix vanished from every run after
the first push.
"""

from __future__ import annotations

from typing import Any

CANDIDATE = "candidate"  # the name TFX's Evaluator gives the model it judges


def candidate_result(evaluation_uri: str) -> Any:
    """`tfma.load_eval_result` of the candidate model (a `tfma.EvalResult`)."""
    import tensorflow_model_analysis as tfma
    from tensorflow_model_analysis.writers import eval_config_writer

    _, _, _, locations = eval_config_writer.load_eval_run(evaluation_uri)
    name = CANDIDATE if CANDIDATE in locations else None
    return tfma.load_eval_result(evaluation_uri, model_name=name)
