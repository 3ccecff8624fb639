"""The model `serve` puts behind MLflow's scoring server: a stack's champion, loaded from
the registry, that appends every request and its answer to the serving log.

A "models from code" pyfunc (MLflow stores this file, no pickle). `model_config` names
the champion (`model_uri`, `name`, `version`) and the log file (`log`); the log's format
is components/shared/request_log.py's. MLflow checks each request against the signature
(the champion's own) before `predict` sees it, so refused requests are not logged.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd

from components.shared.request_log import RequestLog


class LoggedModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        config = context.model_config
        self._model = mlflow.pyfunc.load_model(config["model_uri"])
        self._log = RequestLog(config["log"], "mlflow", config["name"], config["version"])

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        answer = self._model.predict(model_input)
        self._log.append(model_input, answer)
        return answer


mlflow.models.set_model(LoggedModel())
