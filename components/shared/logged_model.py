"""The model `serve` puts behind MLflow's scoring server: a stack's champion, loaded from
the registry, that appends every request and its answer to the serving log.

A "models from code" pyfunc (MLflow stores this file, no pickle). `model_config` names
the champion (`model_uri`, `name`, `version`) and the log file (`log`). Each request is
one JSON line {"time", "model", "version", "inputs", "outputs"} written with a single
write(2) to a file opened O_APPEND, so concurrent requests never interleave partial lines
and a crash loses at most the request being answered. MLflow checks each request against
the signature (the champion's own) before `predict` sees it.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

import mlflow
import pandas as pd


class LoggedModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        config = context.model_config
        self._model = mlflow.pyfunc.load_model(config["model_uri"])
        self._name, self._version = config["name"], str(config["version"])
        os.makedirs(os.path.dirname(config["log"]), exist_ok=True)
        self._log = os.open(config["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._lock = threading.Lock()  # one line at a time from this process's threads

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        answer = self._model.predict(model_input)
        record = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "model": self._name,
            "version": self._version,
            # to_json writes NaN as null: a missing value stays missing in the log.
            "inputs": json.loads(model_input.to_json(orient="records", double_precision=15)),
            "outputs": json.loads(
                pd.DataFrame(answer).to_json(orient="records", double_precision=15)
            ),
        }
        line = (json.dumps(record) + "\n").encode()
        with self._lock:
            os.write(self._log, line)
        return answer


mlflow.models.set_model(LoggedModel())
