"""The report's figures, as PNG files (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from components.report.collect import StackRun  # noqa: E402
from components.shared import stacks  # noqa: E402


def _color(stack: str) -> str | None:
    wing = stacks.load().get(stack)
    return wing.color if wing else None


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _paired_bars(ax, labels: list[str], runs: dict[str, StackRun], values) -> None:
    width = 0.8 / max(len(runs), 1)
    for i, (stack, run) in enumerate(runs.items()):
        xs = [j + i * width for j in range(len(labels))]
        ax.bar(
            xs,
            [values(run, label) or 0.0 for label in labels],
            width,
            label=stack,
            color=_color(stack),
        )
    ax.set_xticks(
        [j + width * (len(runs) - 1) / 2 for j in range(len(labels))],
        labels,
        rotation=30,
        ha="right",
    )
    ax.legend()


def step_times(runs: dict[str, StackRun], path: Path) -> Path:
    # One x scale for all: side by side, the bars must compare across stacks.
    fig, axes = plt.subplots(1, len(runs), figsize=(5 * len(runs), 3.6), squeeze=False, sharex=True)
    for ax, (stack, run) in zip(axes[0], runs.items(), strict=False):
        names = list(run.step_times)
        ax.barh(names, [run.step_times[n] for n in names], color=_color(stack))
        ax.invert_yaxis()
        ax.set_title(f"{stack}: wall time per step (s)")
    return _save(fig, path)


def metrics(runs: dict[str, StackRun], classes: list[str], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 3.6))
    labels = ["accuracy", *[f"F1 {c}" for c in classes]]

    def value(run: StackRun, label: str) -> float | None:
        return run.accuracy if label == "accuracy" else run.f1(label.removeprefix("F1 "))

    _paired_bars(ax, labels, runs, value)
    baselines = {r.metrics.get("eval_accuracy_baseline") for r in runs.values()} - {None}
    if len(baselines) == 1:  # the same eval rows in every stack give one baseline
        ax.axhline(
            baselines.pop(), color="#555555", linestyle="--", linewidth=1,
            label="majority-class baseline (accuracy)",
        )  # fmt: skip
        ax.legend()
    ax.set_ylim(0, 1.05)
    ax.set_title("Evaluation on the shared eval rows")
    return _save(fig, path)


def confusion(runs: dict[str, StackRun], path: Path) -> Path | None:
    have = {s: r for s, r in runs.items() if r.confusion}
    if not have:
        return None
    fig, axes = plt.subplots(1, len(have), figsize=(4.2 * len(have), 3.8), squeeze=False)
    for ax, (stack, run) in zip(axes[0], have.items(), strict=False):
        classes, matrix = run.confusion["classes"], run.confusion["matrix"]
        ax.imshow(matrix, cmap="Blues")
        darkest = max((n for row in matrix for n in row), default=0)
        for i, row in enumerate(matrix):
            for j, n in enumerate(row):
                # White on the dark half of the colour map, black on the light half.
                color = "white" if n > darkest / 2 else "black"
                ax.text(j, i, int(n), ha="center", va="center", color=color)
        ax.set_xticks(range(len(classes)), classes, rotation=30)
        ax.set_yticks(range(len(classes)), classes)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(stack)
    return _save(fig, path)


def curves(runs: dict[str, StackRun], path: Path) -> Path | None:
    if not any(r.curves for r in runs.values()):
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for stack, run in runs.items():
        for ax, key in zip(axes, ("train_loss", "val_loss"), strict=False):
            points = run.curves.get(key)
            if points:
                ax.plot(*zip(*points, strict=False), label=stack, color=_color(stack))
                ax.set_title(key.replace("_", " ") + " per epoch")
                ax.set_xlabel("epoch")
    for ax in axes:
        ax.legend()
    return _save(fig, path)
