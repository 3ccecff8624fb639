"""The pushed TFX model as an MLflow pyfunc, logged with MLflow "models from code".

MLflow stores this file, features.py beside it (`code_paths`) and the SavedModel that
Pusher pushed (artifact `saved_model`). Loading runs the SavedModel's `serving_raw`
signature (models/keras/model.py), which carries Transform's graph: what TFX evaluated
and pushed is what is served. Raw rows in (the contract's feature columns, missing values
allowed), the output every stack's registered model gives out: `prediction`, then one
`prob_<class>` column per class. TensorFlow is imported when the model is loaded, not
when it is logged.

It sits in a folder of its own on purpose: TFX packages the top-level files of
models/keras/ into the Transform and Trainer wheel, so editing a file there retrains.
"""

from __future__ import annotations

from typing import Any

import mlflow
import numpy as np
import pandas as pd

from models.keras.features import PREDICTIONS


class TfxSavedModel(mlflow.pyfunc.PythonModel):
    """Scores raw rows with the pushed SavedModel; `model_config["classes"]` names its
    probability columns in the model's output order."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        import tensorflow as tf

        self._tf = tf
        # Held, not just its signature: the signature alone lets the variables be freed.
        self._model = tf.saved_model.load(context.artifacts["saved_model"])
        self._serve = self._model.signatures["serving_raw"]
        self._inputs = self._serve.structured_input_signature[1]
        self._classes = list(context.model_config["classes"])

    def _tensor(self, values: pd.Series, dtype: Any) -> Any:
        tf = self._tf
        if dtype == tf.string:
            # The signature takes "" for a missing category (Transform maps it).
            strings = values.astype(object).where(values.notna(), "").astype(str)
            return tf.constant(strings.to_numpy(), dtype=tf.string)
        numbers = pd.to_numeric(values, errors="coerce").astype("float32")
        return tf.constant(numbers.to_numpy(), dtype=tf.float32)

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        missing = pd.Series([None] * len(model_input), index=model_input.index, dtype=object)
        out = self._serve(
            **{
                name: self._tensor(model_input.get(name, missing), spec.dtype)
                for name, spec in self._inputs.items()
            }
        )
        probabilities = np.asarray(out[PREDICTIONS].numpy(), dtype="float64")
        frame = pd.DataFrame(probabilities, columns=[f"prob_{c}" for c in self._classes])
        frame.insert(0, "prediction", [c.decode() for c in out["class"].numpy()])
        return frame


mlflow.models.set_model(TfxSavedModel())
