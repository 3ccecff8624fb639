"""Reading the Evaluator's TFMA output for the candidate model, with or without a baseline.

Once a blessed model exists, the Evaluator compares against it and TFMA keys every
metric and plot by model name ("candidate", "baseline"); `tfma.load_eval_result(uri)`
without a name then finds no plots, and the confusion matrix vanished from every run after
the first push.
"""

from __future__ import annotations

import functools
from typing import Any

CANDIDATE = "candidate"  # the name TFX's Evaluator gives the model it judges


# A run reads its evaluation several times (the outcome, the MLflow record's metrics and
# confusion matrix); TFMA parses the files on every load.
@functools.lru_cache(maxsize=4)
def candidate_result(evaluation_uri: str) -> Any:
    """`tfma.load_eval_result` of the candidate model (a `tfma.EvalResult`)."""
    import tensorflow_model_analysis as tfma
    from tensorflow_model_analysis.writers import eval_config_writer

    _, _, _, locations = eval_config_writer.load_eval_run(evaluation_uri)
    name = CANDIDATE if CANDIDATE in locations else None
    return tfma.load_eval_result(evaluation_uri, model_name=name)


def overall_metrics(evaluation_uri: str) -> dict[tuple[str, str], float]:
    """{(metric name, sub key): value} of the unsliced candidate model."""
    found = {}
    for slice_key, by_output in candidate_result(evaluation_uri).slicing_metrics:
        if slice_key != ():
            continue
        for by_sub_key in by_output.values():
            for sub_key, metrics in by_sub_key.items():
                for name, value in metrics.items():
                    number = value.get("doubleValue", value.get("boundedValue", {}).get("value"))
                    if number is not None:
                        found[(name, sub_key)] = float(number)
    return found
