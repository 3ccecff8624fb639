"""The LightningModule (a classifier around an injected network, and its optimisation) and
the LightningDataModule (the preprocessed train/eval tensors) trained by the Lightning
pipeline. The network itself is models/lightning/network.py, which the served model
builds too."""

from __future__ import annotations

import numpy as np
import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class _Rows(TensorDataset):
    """Rows as tensors, fetched a batch at a time: the DataLoader hands `__getitems__`
    (PyTorch's batched fetch) the batch's indices, one indexing op per tensor, instead
    of a call per row and a stack of the rows (several times faster per epoch)."""

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, ...]:
        return tuple(tensor[indices] for tensor in self.tensors)


def _as_batch(batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """The DataLoader's collate step: `_Rows.__getitems__` already returns a batch."""
    return batch


class TabularDataModule(pl.LightningDataModule):
    """Already-preprocessed arrays; the data is a few hundred rows, so loading happens in
    the main process (num_workers=0) and the arrays travel to DDP workers by pickling."""

    def __init__(
        self,
        x_train: np.ndarray,
        y_train: np.ndarray,
        x_eval: np.ndarray,
        y_eval: np.ndarray,
        batch_size: int,
        seed: int,
    ) -> None:
        super().__init__()
        self.train_set = _Rows(torch.from_numpy(x_train), torch.from_numpy(y_train))
        self.eval_set = _Rows(torch.from_numpy(x_eval), torch.from_numpy(y_eval))
        self.batch_size = batch_size
        self.seed = seed

    def train_dataloader(self) -> DataLoader:
        # A seeded generator makes the shuffle order part of the run's determinism; under
        # DDP Lightning swaps in a DistributedSampler seeded by seed_everything.
        generator = torch.Generator().manual_seed(self.seed)
        return DataLoader(
            self.train_set,
            batch_size=self.batch_size,
            shuffle=True,
            generator=generator,
            collate_fn=_as_batch,
        )

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.eval_set, batch_size=256, collate_fn=_as_batch)


class Classifier(pl.LightningModule):
    """`net` maps features to one logit per class; cross-entropy; Adam(learning_rate)."""

    def __init__(self, net: nn.Module, learning_rate: float) -> None:
        super().__init__()
        # Its state_dict is what gets logged and served.
        self.net = net
        self.learning_rate = learning_rate
        self.loss = nn.CrossEntropyLoss()

    def setup(self, stage: str) -> None:
        # Runs in every training process (DDP workers too). Layers of a few dozen units
        # gain nothing from intra-op threads; on a small shared CPU the thread pool's
        # synchronisation made each step several times slower (2 s vs 11 s per fit).
        torch.set_num_threads(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
        x, y = batch
        loss = self.loss(self(x), y)
        self.log("train_loss", loss, on_step=False, on_epoch=True, sync_dist=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> None:
        x, y = batch
        logits = self(x)
        # sync_dist: under DDP every rank must see the same val_loss, or EarlyStopping and
        # ModelCheckpoint would decide differently per process.
        self.log("val_loss", self.loss(logits, y), on_epoch=True, sync_dist=True)
        accuracy = (logits.argmax(dim=1) == y).float().mean()
        self.log("val_accuracy", accuracy, on_epoch=True, sync_dist=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.learning_rate)
