"""Train: the MLP on the preprocessed split with Lightning, on 1 or more CPU processes."""

from __future__ import annotations

import logging
import sys
import types
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback, EarlyStopping, ModelCheckpoint
from pytorch_lightning.loggers import TensorBoardLogger
from pytorch_lightning.plugins.environments import TorchElasticEnvironment
from pytorch_lightning.strategies import DDPStrategy, Strategy

from components.shared.contract import Contract
from models.lightning.module import Classifier, TabularDataModule
from models.lightning.network import build_network

# TensorBoard's event writer imports TensorFlow whenever it is installed (here it is, for
# the TFX half): ~5 s and a GB of memory in a pipeline that never uses it. The marker
# module `tensorboard.compat.notf` makes it use its own TF-free stub instead. At import
# time, so DDP's spawned workers (which import this module) get it too; not when TF is
# already loaded (`python -m pipelines all` runs TFX first), where it changes nothing.
if "tensorflow" not in sys.modules:
    sys.modules.setdefault("tensorboard.compat.notf", types.ModuleType("tensorboard.compat.notf"))


@dataclass
class TrainResult:
    module: Classifier  # with the best checkpoint's weights loaded
    best_epoch: int
    best_checkpoint: str


class MlflowEpochMetrics(Callback):
    """Log the epoch's train/val metrics to the pipeline's MLflow run, from rank 0 only.

    Holds only strings and creates its client lazily, so it pickles into DDP worker
    processes; Lightning's MLFlowLogger would also end the run when training ends, while
    the pipeline still has evaluation and promotion to record in it.
    """

    def __init__(self, tracking_uri: str, run_id: str) -> None:
        self.tracking_uri = tracking_uri
        self.run_id = run_id

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # What training really ran on, from inside it: the world DDP formed and who
        # started its processes (TorchElasticEnvironment: torchrun).
        if not trainer.is_global_zero:
            return
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        environment = getattr(trainer.strategy, "cluster_environment", None)
        params = {
            "world_size": trainer.world_size,
            "cluster_environment": type(environment).__name__ if environment else "none",
        }
        MlflowClient(self.tracking_uri).log_batch(
            self.run_id, params=[Param(key, str(value)) for key, value in params.items()]
        )

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero or trainer.sanity_checking:
            return
        import time

        from mlflow.entities import Metric
        from mlflow.tracking import MlflowClient

        now = int(time.time() * 1000)
        metrics = [
            Metric(key, float(value), now, trainer.current_epoch)
            for key, value in trainer.callback_metrics.items()
            if key in ("train_loss", "val_loss", "val_accuracy")
        ]
        # Logged here, in the training process: under DDP the main process's trainer
        # does not learn how many epochs its workers ran.
        metrics.append(Metric("epochs_run", trainer.current_epoch + 1, now, trainer.current_epoch))
        MlflowClient(self.tracking_uri).log_batch(self.run_id, metrics=metrics)


def _strategy(devices: int, strategy: str, num_nodes: int = 1) -> str | Strategy:
    """DDP on CPU processes (gloo), started by torchrun or else by spawning.

    Under torchrun (components/lightning/torchrun.py) the processes exist already, one per
    rank on every node: plain DDP, whose launcher sees TorchElasticEnvironment and starts
    nothing. Otherwise, spawn: Lightning's default "ddp" launcher re-executes sys.argv for
    every extra rank, which for `python -m pipelines lightning` would re-run ingest,
    validation and the MLflow run in each rank. Spawned workers run only the fit; the main
    process gets rank 0's weights back and does everything else.
    """
    distributed = strategy in ("auto", "ddp", "ddp_spawn")
    if distributed and TorchElasticEnvironment.detect() and devices * num_nodes > 1:
        return DDPStrategy(process_group_backend="gloo")
    if distributed and devices > 1:
        return DDPStrategy(start_method="spawn", process_group_backend="gloo")
    return strategy


def build_trainer(
    max_epochs: int,
    out_dir: Path,
    *,
    devices: int = 1,
    num_nodes: int = 1,
    strategy: str = "auto",
    callbacks: list[Callback] | None = None,
    logger: TensorBoardLogger | bool = False,
) -> pl.Trainer:
    """The Trainer of the pipeline: CPU, deterministic, DDP as _strategy says."""
    return pl.Trainer(
        max_epochs=max_epochs,
        accelerator="cpu",
        devices=devices,
        num_nodes=num_nodes,
        strategy=_strategy(devices, strategy, num_nodes),
        deterministic=True,
        callbacks=callbacks or [],
        logger=logger,
        enable_progress_bar=sys.stderr.isatty(),
        enable_model_summary=False,
        default_root_dir=str(out_dir),
        num_sanity_val_steps=0,
    )


def train(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_eval: np.ndarray,
    y_eval: np.ndarray,
    contract: Contract,
    out_dir: Path,
    *,
    devices: int = 1,
    num_nodes: int = 1,
    strategy: str = "auto",
    tracking_uri: str | None = None,
    run_id: str | None = None,
    tensorboard_dir: Path | None = None,
) -> TrainResult | None:
    """Fit with EarlyStopping on val loss, keep the best checkpoint's weights.

    The eval split doubles as Lightning's validation set (early stopping, checkpoint
    choice), as the TFX Trainer does with its eval split. With `tensorboard_dir`, the
    epoch metrics also go to TensorBoard event files there, one version per MLflow run.

    Under torchrun every rank calls this with the same arguments; only global rank 0
    gets a result (the best checkpoint is written by rank 0 only, on its node), the others
    None once the fit is over.
    """
    hp = contract.hyperparameters
    pl.seed_everything(hp.seed, workers=True, verbose=False)
    # Small-data CPU training: these warnings (few workers, small log interval) are noise.
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*log_every_n_steps.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*is deprecated.*")
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)

    data = TabularDataModule(x_train, y_train, x_eval, y_eval, hp.batch_size, hp.seed)
    network = build_network(x_train.shape[1], list(hp.hidden_units), len(contract.classes))
    module = Classifier(network, hp.learning_rate)
    checkpoint = ModelCheckpoint(
        dirpath=Path(out_dir) / "checkpoints",
        filename="best-{epoch}",
        monitor="val_loss",
        mode="min",
        save_top_k=1,
    )
    callbacks: list[Callback] = [
        EarlyStopping(monitor="val_loss", mode="min", patience=hp.early_stopping_patience),
        checkpoint,
    ]
    if tracking_uri and run_id:
        callbacks.append(MlflowEpochMetrics(tracking_uri, run_id))
    trainer = build_trainer(
        hp.epochs,
        out_dir,
        devices=devices,
        num_nodes=num_nodes,
        strategy=strategy,
        callbacks=callbacks,
        # MLflow gets the metrics through MlflowEpochMetrics; TensorBoard through its
        # logger, which under DDP writes from rank 0 only.
        logger=TensorBoardLogger(
            str(tensorboard_dir), name="", version=run_id or "run", default_hp_metric=False
        )
        if tensorboard_dir
        else False,
    )
    trainer.fit(module, datamodule=data)
    if not trainer.is_global_zero:
        return None
    best = checkpoint.best_model_path
    # weights_only: a checkpoint is data, never code to run.
    saved = torch.load(best, map_location="cpu", weights_only=True)
    module.load_state_dict(saved["state_dict"])
    module.eval()
    return TrainResult(module=module, best_epoch=int(saved["epoch"]), best_checkpoint=str(best))
