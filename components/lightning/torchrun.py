"""The pipeline under torchrun, on one node or several.

torchrun starts every process itself, on every node, and each one runs the whole command
line; it tells each its place through the environment (RANK, LOCAL_RANK, GROUP_RANK,
WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT, TORCHELASTIC_RUN_ID), where
Lightning finds it (TorchElasticEnvironment) and then starts no process of its own.

Global rank 0 is the pipeline: it reads and validates the data, owns the MLflow run,
evaluates, registers and moves the alias. Every other rank only trains: it opens the
process group, waits for rank 0 to hand it the preprocessed arrays (or to say that the run
stopped before training), joins Lightning's DDP fit on that same group, and exits. So the
data file and the MLflow store need to be reachable from rank 0's node only, and nothing
but rank 0 ever writes to MLflow.

The handoff sends tensors and one JSON header over the gloo group: nothing is unpickled.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from components.shared.contract import Contract, Hyperparameters

# The variable torch.distributed.is_torchelastic_launched() (and so Lightning's
# TorchElasticEnvironment.detect()) looks at; read here without importing torch.
RUN_ID_VARIABLE = "TORCHELASTIC_RUN_ID"
ARRAYS = ("x_train", "y_train", "x_eval", "y_eval")


def launched() -> bool:
    """True in a process torchrun started."""
    return RUN_ID_VARIABLE in os.environ


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1")) if launched() else 1


def rank() -> int:
    """This process's global rank (0 outside torchrun)."""
    return int(os.environ.get("RANK", "0")) if launched() else 0


def mismatch(devices: int, num_nodes: int) -> str | None:
    """Why --devices/--num-nodes cannot work with how the processes were started, or None.

    Under torchrun they must describe what torchrun started (--nproc-per-node processes on
    each of --nnodes nodes); without it, several nodes would each wait for the others'
    processes forever, since nothing starts them.
    """
    if not launched():
        if num_nodes > 1:
            return (
                f"--num-nodes {num_nodes}: several nodes need torchrun to start the processes "
                "on each (docs/lightning.md, 'DDP under torchrun')"
            )
        return None
    world = int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_WORLD_SIZE", world))
    if devices == local and devices * num_nodes == world:
        return None
    return (
        f"torchrun started {world} process(es), {local} per node: run the pipeline with "
        f"--devices {local} --num-nodes {world // local} "
        f"(got --devices {devices} --num-nodes {num_nodes})"
    )


@dataclass
class TrainInputs:
    """What every rank passes to components.lightning.train.train."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_eval: np.ndarray
    y_eval: np.ndarray
    out_dir: Path
    tracking_uri: str | None
    run_id: str | None
    tensorboard_dir: Path | None


class Handoff:
    """Rank 0 hands the training inputs to the other ranks, once; outside torchrun (or in
    a world of one) it does nothing."""

    def __init__(self, active: bool) -> None:
        self.active = active
        self.sent = False

    @property
    def is_worker(self) -> bool:
        """A rank that only trains."""
        return self.active and rank() != 0

    def stop(self) -> None:
        """On rank 0: the run ended before training; the other ranks exit."""
        if self.active and not self.sent:
            self.sent = True
            _broadcast_json({"stop": True})

    def send(self, inputs: TrainInputs, contract: Contract) -> None:
        """On rank 0: what to train on, with rank 0's hyperparameters and classes."""
        if not self.active or self.sent:
            return
        self.sent = True
        _broadcast_json(
            {
                "stop": False,
                "arrays": {name: _describe(getattr(inputs, name)) for name in ARRAYS},
                "paths": {
                    "out_dir": str(inputs.out_dir),
                    "tensorboard_dir": _str(inputs.tensorboard_dir),
                },
                "tracking_uri": inputs.tracking_uri,
                "run_id": inputs.run_id,
                # Every rank trains with rank 0's settings, whatever its node's contract says.
                "hyperparameters": dataclasses.asdict(contract.hyperparameters),
                "classes": list(contract.classes),
            }
        )
        for name in ARRAYS:
            _broadcast_tensor(np.ascontiguousarray(getattr(inputs, name)))

    def receive(self, contract: Contract) -> tuple[TrainInputs, Contract] | None:
        """On the other ranks: rank 0's inputs and contract settings, or None: it stopped."""
        header = _broadcast_json(None)
        if header["stop"]:
            return None
        arrays = {
            name: _broadcast_tensor(None, *header["arrays"][name]) for name in ARRAYS
        }  # in the order rank 0 sent them
        paths = header["paths"]
        hp = header["hyperparameters"]
        hp["hidden_units"] = tuple(hp["hidden_units"])
        contract = dataclasses.replace(
            contract, hyperparameters=Hyperparameters(**hp), classes=tuple(header["classes"])
        )
        inputs = TrainInputs(
            **arrays,
            out_dir=Path(paths["out_dir"]),
            tracking_uri=header["tracking_uri"],
            run_id=header["run_id"],
            tensorboard_dir=Path(paths["tensorboard_dir"]) if paths["tensorboard_dir"] else None,
        )
        return inputs, contract


@contextmanager
def ranks() -> Iterator[Handoff]:
    """The handoff, and under torchrun the gloo process group it travels on, which
    Lightning's DDP then reuses (it initialises one only when none exists).

    On rank 0, when the run ends before it handed over the inputs (data validation stopped
    it, or it failed), the other ranks are told to stop, so none waits for a fit that
    never comes.
    """
    if not launched() or world_size() == 1:
        yield Handoff(active=False)
        return
    import torch.distributed as dist

    if not dist.is_initialized():
        # env://: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE from torchrun.
        dist.init_process_group("gloo")
    handoff = Handoff(active=True)
    try:
        yield handoff
    finally:
        try:
            if rank() == 0:
                handoff.stop()
        finally:
            if dist.is_initialized():
                dist.destroy_process_group()


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _describe(array: np.ndarray) -> list:
    return [list(array.shape), array.dtype.name]


def _broadcast_json(value: dict | None) -> dict:
    import torch
    import torch.distributed as dist

    data = json.dumps(value).encode() if value is not None else b""
    size = torch.tensor([len(data)], dtype=torch.int64)
    dist.broadcast(size, src=0)
    buffer = (
        torch.frombuffer(bytearray(data), dtype=torch.uint8)
        if value is not None
        else torch.empty(int(size.item()), dtype=torch.uint8)
    )
    dist.broadcast(buffer, src=0)
    return json.loads(bytes(buffer.numpy()).decode())


def _broadcast_tensor(
    array: np.ndarray | None, shape: list[int] | None = None, dtype: str | None = None
) -> np.ndarray:
    import torch
    import torch.distributed as dist

    if array is not None:
        tensor = torch.from_numpy(array)
    else:
        tensor = torch.empty(tuple(shape or ()), dtype=getattr(torch, dtype or "float32"))
    dist.broadcast(tensor, src=0)
    return tensor.numpy()
