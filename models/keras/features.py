"""The TFX model's feature names: what Transform writes, the Keras model reads and the
edge export rebuilds. Which columns are numeric or categorical, and the classes, come
from the dataset contract (through `custom_config`); only the naming rules live here.

It sits beside the Transform and Trainer modules on purpose: TFX packages every file of
a module file's folder into the user-code wheel and keys its cache on them, so editing
this file reruns Transform and Trainer instead of reusing stale outputs.
"""

from __future__ import annotations

# Transformed features are named after their raw column plus this suffix.
SUFFIX = "_xf"
# Stands in for a missing category, so "missing" gets its own vocabulary entry.
MISSING_CATEGORY = "__missing__"
# The model's output: one probability per contract class.
PREDICTIONS = "probabilities"


def transformed_name(name: str) -> str:
    return name + SUFFIX
