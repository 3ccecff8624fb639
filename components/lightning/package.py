"""Package: log the trained model to the MLflow run as a "models from code" pyfunc.

The model is models/lightning/pyfunc.py, with the network and features modules it
imports as its code, plus plain artifacts: the state_dict (loaded with
torch.load(weights_only=True)), the preprocessing JSON and the architecture JSON.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import torch

from components.shared.contract import REPO_ROOT, Contract
from components.shared.tracking import pinned_requirements, serving_schema, serving_signature

MODELS = REPO_ROOT / "models" / "lightning"
SERVING_CODE = MODELS / "pyfunc.py"
# What the served model imports from the repository; MLflow puts `code/` on sys.path.
SERVING_IMPORTS = ("network.py", "features.py")


REQUIREMENTS = ("mlflow", "torch", "pandas", "numpy")


def log_model(
    network: torch.nn.Module,
    preprocessing: dict[str, Any],
    contract: Contract,
    example: pd.DataFrame,
    out_dir: Path,
) -> str:
    """Log the model under the active run and return its model URI."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / "weights.pt"
    torch.save(network.state_dict(), weights)
    prep = out_dir / "preprocessing.json"
    prep.write_text(json.dumps(preprocessing, indent=2))
    architecture = out_dir / "architecture.json"
    architecture.write_text(
        json.dumps(
            {
                "hidden_units": list(contract.hyperparameters.hidden_units),
                "classes": list(contract.classes),
            },
            indent=2,
        )
    )
    code = out_dir / "code" / "models" / "lightning"
    code.mkdir(parents=True, exist_ok=True)
    for name in SERVING_IMPORTS:
        shutil.copy(MODELS / name, code / name)
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=str(SERVING_CODE),
        code_paths=[str(code.parent.parent)],
        artifacts={
            "weights": str(weights),
            "preprocessing": str(prep),
            "architecture": str(architecture),
        },
        signature=serving_signature(serving_schema(contract)),
        input_example=example.head(5),
        pip_requirements=pinned_requirements(REQUIREMENTS),
    )
    return info.model_uri
