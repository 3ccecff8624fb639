"""Where everything goes under --workdir: the one place that spells the workdir's layout.

Stacks, the report and the tests ask a `Workdir` for a path; none joins workdir paths by
hand. A stack's folders are named by the stack's key in stacks.toml.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from components.shared.contract import Contract

DEFAULT_WORKDIR = Path("runs")


@dataclass(frozen=True)
class Workdir:
    root: Path

    def __init__(self, root: str | Path) -> None:
        object.__setattr__(self, "root", Path(root).resolve())

    # A stack's own working folder: its orchestrator's pipeline root, logs, reports.
    def stack_root(self, stack: str) -> Path:
        return self.root / stack

    def metadata_db(self, stack: str) -> Path:
        """A stack's ML Metadata store (SQLite, single-writer)."""
        return self.stack_root(stack) / "metadata.db"

    def logs(self, stack: str) -> Path:
        return self.stack_root(stack) / "logs"

    def lock(self, stack: str) -> Path:
        """Held while a run of a stack whose store is single-writer uses this workdir."""
        return self.stack_root(stack) / ".lock"

    def temp(self, stack: str) -> Path:
        """A run's temporary files, deleted when it ends."""
        return self.stack_root(stack) / "tmp"

    def staged(self, stack: str) -> Path:
        """Inputs a stack copies in under names of their content (cache keys)."""
        return self.stack_root(stack) / "staged"

    def data_reports(self, stack: str, contract: Contract) -> Path:
        """One folder per dataset, so a run that stopped early never shows another
        dataset's reports."""
        return self.stack_root(stack) / "reports" / contract.name

    def last_run_record(self, stack: str, contract: Contract) -> Path:
        """The fingerprint of a stack's last published run of this dataset."""
        return self.stack_root(stack) / "last_push" / f"{contract.name}.json"

    def runs(self, stack: str) -> Path:
        """Per-run folders (checkpoints, Data Docs), one per MLflow run id."""
        return self.stack_root(stack)

    # Published models, per stack and dataset: two contracts sharing a workdir never
    # serve each other's models.
    def serving(self, stack: str, contract: Contract) -> Path:
        return self.root / "serving" / stack / contract.name

    def serving_log(self, stack: str, contract: Contract) -> Path:
        """What `serve` answered, one JSON line per request (components/shared/request_log.py)."""
        return self.root / "serving_logs" / stack / f"{contract.name}.jsonl"

    def monitoring(self, stack: str, contract: Contract) -> Path:
        """`monitor`'s HTML reports, one folder per check."""
        return self.root / "monitoring" / stack / contract.name

    def logged_model(self, stack: str, contract: Contract) -> Path:
        """The request-logging wrapper `serve` builds around a stack's champion."""
        return self.stack_root(stack) / "logged_model" / contract.name

    def edge(self, stack: str, contract: Contract) -> Path:
        return self.root / "edge" / stack / contract.name

    def web(self) -> Path:
        """`export-web`'s static site: index.html, one <dataset>.json per dataset."""
        return self.root / "web"

    def web_bundle(self, stack: str, contract: Contract) -> Path:
        """A stack's browser bundle for a dataset: the model, its runtime, predict.js."""
        return self.web() / stack / contract.name

    def tensorboard(self, stack: str | None = None, contract: Contract | None = None) -> Path:
        """<workdir>/tensorboard (what `make tensorboard` serves), or one stack's and
        dataset's folder under it."""
        base = self.root / "tensorboard"
        return base if stack is None else base / stack / contract.name

    def latest_push(self, stack: str, contract: Contract) -> Path | None:
        """The newest published model: pushes are <unix time>/ folders, each published
        by one rename (a staging folder is never named by digits alone)."""
        pushes = [
            p for p in self.serving(stack, contract).glob("*") if p.name.isdigit() and p.is_dir()
        ]
        return max(pushes, key=lambda p: int(p.name), default=None)

    @property
    def data(self) -> Path:
        """Materialised splits, one folder per data hash."""
        return self.root / "data"

    @property
    def mlflow(self) -> Path:
        return self.root / "mlflow"

    @property
    def mlflow_db(self) -> Path:
        return self.mlflow / "mlflow.db"

    @property
    def mlflow_artifacts(self) -> Path:
        return self.mlflow / "artifacts"

    def report(self, contract: Contract) -> Path:
        return self.root / "report" / contract.name

    @property
    def bench(self) -> Path:
        return self.root / "bench"
