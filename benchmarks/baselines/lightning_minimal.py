"""Baseline: a minimal PyTorch Lightning script with mlflow.pytorch.autolog().

The same rows (the shared split), MLP and hyperparameters as the Lightning pipeline, with
none of its data validation, model checks or registry: what Lightning + MLflow cost with
nothing on top. MLflow records into sqlite:///<workdir>/mlflow.db, artifacts beside it.

    .venv/bin/python benchmarks/baselines/lightning_minimal.py --workdir DIR [--data CSV]
        [--contract YAML]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from pathlib import Path

import mlflow
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import EarlyStopping
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from benchmarks.baselines.tabular import load_tensors, mlp
from components.shared.contract import load_contract

EXPERIMENT = "lightning-minimal"


class Classifier(pl.LightningModule):
    def __init__(self, net: nn.Module, learning_rate: float) -> None:
        super().__init__()
        self.net = net
        self.learning_rate = learning_rate
        self.loss = nn.CrossEntropyLoss()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: list[torch.Tensor], _: int) -> torch.Tensor:
        x, y = batch
        loss = self.loss(self(x), y)
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: list[torch.Tensor], _: int) -> None:
        x, y = batch
        logits = self(x)
        self.log("val_loss", self.loss(logits, y))
        self.log("val_accuracy", (logits.argmax(dim=1) == y).float().mean())

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.learning_rate)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--data", type=Path)
    parser.add_argument(
        "--contract", type=Path, help="its columns and hyperparameters (default: the shipped one)"
    )
    args = parser.parse_args(argv)
    # Keep stderr to errors: Lightning's and MLflow's info lines, Lightning's small-data
    # and deprecation warnings, and the C++ log of TensorFlow, which autolog imports
    # through TensorBoard when it is installed (it is here, for the TFX half).
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*log_every_n_steps.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*is deprecated.*")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        contract = load_contract(args.contract) if args.contract else load_contract()
        hp = contract.hyperparameters
        workdir = args.workdir.resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        data = load_tensors(args.data or contract.path, contract)

        mlflow.set_tracking_uri(f"sqlite:///{workdir / 'mlflow.db'}")
        if mlflow.get_experiment_by_name(EXPERIMENT) is None:
            mlflow.create_experiment(EXPERIMENT, artifact_location=(workdir / "mlruns").as_uri())
        mlflow.set_experiment(EXPERIMENT)
        mlflow.pytorch.autolog(silent=True)

        pl.seed_everything(hp.seed, verbose=False)
        model = Classifier(
            mlp(data.x_train.shape[1], hp.hidden_units, len(contract.classes)), hp.learning_rate
        )
        train = DataLoader(
            TensorDataset(data.x_train, data.y_train), batch_size=hp.batch_size, shuffle=True
        )
        val = DataLoader(TensorDataset(data.x_eval, data.y_eval), batch_size=len(data.y_eval))
        trainer = pl.Trainer(
            max_epochs=hp.epochs,
            callbacks=[EarlyStopping(monitor="val_loss", patience=hp.early_stopping_patience)],
            deterministic=True,
            logger=False,
            default_root_dir=workdir,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
        with mlflow.start_run():
            trainer.fit(model, train, val)
            model.eval()
            with torch.no_grad():
                accuracy = (model(data.x_eval).argmax(dim=1) == data.y_eval).float().mean().item()
            mlflow.log_metric("eval_accuracy", accuracy)
    except Exception as exc:  # noqa: BLE001 - the harness wants one line and an exit code
        first = (str(exc).splitlines() or [""])[0]
        print(f"error: {type(exc).__name__}: {first}", file=sys.stderr)
        return 1
    print(f"lightning minimal: eval accuracy {accuracy:.4f} after {trainer.current_epoch} epochs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
