"""The Lightning champion behind LitServe, Lightning's own serving engine:
`python -m pipelines serve --stack lightning --server litserve` runs this module.

It answers what MLflow's scoring server answers, on the same route: POST /invocations
{"dataframe_records": [{column: value, ...}]} (or "dataframe_split") -> {"predictions":
[{"prediction": class, "prob_<class>": p, ...}]}. The champion is loaded from the
registry as its pyfunc, whose predict checks each request against the signature both
stacks share: a request that does not fit gets 400 with MLflow's reason. Every answered
request is appended to the serving log (components/shared/request_log.py).
"""

# No `from __future__ import annotations`: LitServe hands decode_request's annotation to
# FastAPI, which needs the class itself, not its name.
import argparse
import os
import sys
from typing import Any

import litserve as ls
import pandas as pd
from fastapi import HTTPException
from pydantic import BaseModel

from components.shared.request_log import RequestLog, records

ROUTE = "/invocations"  # MLflow's, so one client talks to either server


class DataframeSplit(BaseModel):
    columns: list[str] | None = None
    data: list[list[Any]]


class ScoringRequest(BaseModel):
    """MLflow's two table formats. FastAPI validates the body against this model, so a
    body that is not JSON, or not of this shape, gets 422 with the reason."""

    dataframe_records: list[dict[str, Any]] | None = None
    dataframe_split: DataframeSplit | None = None


def frame_of(request: ScoringRequest) -> pd.DataFrame:
    """The rows of a scoring request; HTTPException(400) naming what is wrong."""
    if request.dataframe_records is not None:
        return pd.DataFrame.from_records(request.dataframe_records)
    if request.dataframe_split is not None:
        split = request.dataframe_split
        try:
            return pd.DataFrame(split.data, columns=split.columns)
        except ValueError as exc:
            raise HTTPException(400, f"dataframe_split cannot be read as a table: {exc}") from exc
    raise HTTPException(400, "the body must hold dataframe_records or dataframe_split")


class ChampionAPI(ls.LitAPI):
    """One request at a time per worker: the network answers a few rows in well under a
    millisecond, so batching across requests would add waiting, not throughput."""

    def __init__(self, model_uri: str, name: str, version: str, log: str) -> None:
        super().__init__(api_path=ROUTE)
        self._uri, self._name, self._version, self._log_path = model_uri, name, version, log

    def setup(self, device: str) -> None:
        import mlflow

        self._model = mlflow.pyfunc.load_model(self._uri)
        self._log = RequestLog(self._log_path, "litserve", self._name, self._version)

    def decode_request(self, request: ScoringRequest) -> pd.DataFrame:
        return frame_of(request)

    def predict(self, rows: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
        from mlflow.exceptions import MlflowException

        try:
            answer = self._model.predict(rows)
        except MlflowException as exc:  # the signature refused the rows
            raise HTTPException(400, str(exc.message)) from exc
        # The pyfunc's own input check has typed the rows: log what the model saw.
        self._log.append(rows, answer)
        return {"predictions": records(answer)}

    # Unannotated return: LitServe would make the annotation FastAPI's response class.
    def encode_response(self, output: dict[str, Any]):  # noqa: ANN201
        return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-uri", required=True, help="models:/<name>/<version>")
    parser.add_argument("--name", required=True, help="the registered model's name")
    parser.add_argument("--version", required=True, help="the registered version")
    parser.add_argument("--log", required=True, help="the serving log to append to")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    api = ChampionAPI(args.model_uri, args.name, args.version, os.path.abspath(args.log))
    server = ls.LitServer(api, accelerator="cpu", devices=1, workers_per_device=1)
    server.run(host=args.host, port=args.port, generate_client_file=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
