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
from pytorch_lightning.loggers import Logger, MLFlowLogger, TensorBoardLogger
from pytorch_lightning.plugins.environments import TorchElasticEnvironment
from pytorch_lightning.strategies import DDPStrategy, Strategy
from torch import nn

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
    # The best checkpoint's weights in the bare network: the LightningModule would keep
    # its Trainer, and through it every training tensor, alive after the fit.
    network: nn.Module
    best_epoch: int
    best_checkpoint: str


class PipelineRunLogger(MLFlowLogger):
    """Lightning's MLFlowLogger, on the pipeline's open MLflow run (`run_id`).

    Two changes to it: an epoch's metrics are logged with the epoch as their step, as the
    TFX Trainer's are, so both stacks' curves share an x axis; and the run stays open when
    training ends (the stock logger ends it), for the pipeline still records evaluation
    and promotion in it.
    """

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        epoch = metrics.pop("epoch", None)
        super().log_metrics(metrics, step=int(epoch) if epoch is not None else step)

    def finalize(self, status: str = "success") -> None:
        """The pipeline ends its run itself."""


class TrainingWorld(Callback):
    """What training really ran on, logged from inside it (rank 0, through the loggers):
    the world DDP formed, who started its processes (TorchElasticEnvironment: torchrun),
    and the epochs run (under DDP the main process's trainer does not learn them)."""

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        environment = getattr(trainer.strategy, "cluster_environment", None)
        for logger in trainer.loggers:
            logger.log_hyperparams(
                {
                    "world_size": trainer.world_size,
                    "cluster_environment": type(environment).__name__ if environment else "none",
                }
            )

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        pl_module.log("epochs_run", float(trainer.current_epoch + 1), rank_zero_only=True)


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
    logger: list[Logger] | bool = False,
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
        TrainingWorld(),
    ]
    # Under DDP the loggers write from rank 0 only.
    loggers: list[Logger] = []
    if tracking_uri and run_id:
        loggers.append(PipelineRunLogger(tracking_uri=tracking_uri, run_id=run_id))
    if tensorboard_dir:
        loggers.append(
            TensorBoardLogger(
                str(tensorboard_dir), name="", version=run_id or "run", default_hp_metric=False
            )
        )
    trainer = build_trainer(
        hp.epochs,
        out_dir,
        devices=devices,
        num_nodes=num_nodes,
        strategy=strategy,
        callbacks=callbacks,
        logger=loggers or False,
    )
    trainer.fit(module, datamodule=data)
    if not trainer.is_global_zero:
        return None
    best = checkpoint.best_model_path
    # weights_only: a checkpoint is data, never code to run.
    saved = torch.load(best, map_location="cpu", weights_only=True)
    module.load_state_dict(saved["state_dict"])
    return TrainResult(
        network=module.net.eval(), best_epoch=int(saved["epoch"]), best_checkpoint=str(best)
    )
