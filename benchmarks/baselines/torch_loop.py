"""Baseline: the same MLP, rows and preprocessing as lightning_minimal.py, trained with a
bare torch loop (Adam, early stopping on eval loss): no Lightning, no MLflow.

    .venv/bin/python benchmarks/baselines/torch_loop.py --workdir DIR [--data CSV]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from benchmarks.baselines.tabular import load_tensors, mlp
from components.shared.contract import load_contract


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--data", type=Path)
    args = parser.parse_args(argv)
    try:
        contract = load_contract()
        hp = contract.hyperparameters
        args.workdir.mkdir(parents=True, exist_ok=True)
        data = load_tensors(args.data or contract.path, contract)

        torch.manual_seed(hp.seed)
        net = mlp(data.x_train.shape[1], hp.hidden_units, len(contract.classes))
        optimizer = torch.optim.Adam(net.parameters(), lr=hp.learning_rate)
        loss_fn = nn.CrossEntropyLoss()
        train = DataLoader(
            TensorDataset(data.x_train, data.y_train), batch_size=hp.batch_size, shuffle=True
        )
        best_loss, stale, epochs = float("inf"), 0, 0
        while epochs < hp.epochs and stale < hp.early_stopping_patience:
            epochs += 1
            net.train()
            for x, y in train:
                optimizer.zero_grad()
                loss_fn(net(x), y).backward()
                optimizer.step()
            net.eval()
            with torch.no_grad():
                eval_loss = loss_fn(net(data.x_eval), data.y_eval).item()
            if eval_loss < best_loss:
                best_loss, stale = eval_loss, 0
            else:
                stale += 1
        with torch.no_grad():
            accuracy = (net(data.x_eval).argmax(dim=1) == data.y_eval).float().mean().item()
        torch.save(net.state_dict(), args.workdir / "model.pt")
    except Exception as exc:  # noqa: BLE001 - the harness wants one line and an exit code
        first = (str(exc).splitlines() or [""])[0]
        print(f"error: {type(exc).__name__}: {first}", file=sys.stderr)
        return 1
    print(f"torch loop: eval accuracy {accuracy:.4f} after {epochs} epochs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
