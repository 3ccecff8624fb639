"""The MLflow UI review of both stacks, in headless Chromium: used by the browser test
(tests/report/test_compare.py) and by `make screenshots`, which writes the pages as PNGs
into docs/images/ for the README.

`python -m tests.review [--out DIR]`: runs every stack twice against a real `mlflow
server` on 127.0.0.1 (once on the shipped contract, once under a lift no model can
reach, so each stack has a published and a rejected run), then captures the pages.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from components.shared import stacks
from components.shared.contract import Contract, load_contract
from tests.conftest import run_cli, write_contract

# What a returning user's browser remembers on MLflow's origin: its pop-ups dismissed
# (the registry's announcement, the assistant panel), the model-training workflow chosen.
SEEN_BEFORE = {
    "_mlflow_model_registry_promo_modal_dismissed_v1": "true",
    "mlflow.assistant.fab.autoOpenedOnFirstLoad_v1": "true",
    "mlflow.assistant.panelOpen_v1": "false",
    "mlflow.workflowType_v1": json.dumps("machine_learning"),
}
# A lift over the majority-class baseline that no model reaches: the run is rejected.
UNREACHABLE = {"min_accuracy": 0.5, "max_accuracy_drop": 0.02, "min_lift_over_baseline": 0.99}


def run_rejected(url: str, workdir: Path, scratch: Path) -> None:
    """Each stack once more, on a copy of the contract no model can pass (exit 3)."""
    contract = write_contract(scratch, evaluation=UNREACHABLE)
    for stack in stacks.load():
        result = run_cli(
            stack, "--workdir", workdir, "--contract", contract, env={"MLFLOW_TRACKING_URI": url}
        )
        if result.returncode != 3:
            raise RuntimeError(f"{stack} was not rejected:\n{result.stdout}\n{result.stderr}")


@dataclass
class Review:
    """What each page showed (its visible text), and how many champions the registry did."""

    runs: str
    models: str
    champions: int
    compare: str
    compared: dict  # stack -> the run compared


def capture(url: str, contract: Contract, out_dir: Path | None = None) -> Review:
    """Open the pages `python -m pipelines ui` links to, wait for what they must show,
    and screenshot them into `out_dir` (mlflow-runs.png, mlflow-models.png,
    mlflow-compare.png): the compare view holds each stack's oldest published run."""
    from mlflow import MlflowClient

    from components.shared.browser import Browser
    from pipelines.ui import review_urls

    client = MlflowClient(url)
    experiment_id = client.get_experiment_by_name(contract.experiment).experiment_id
    runs = client.search_runs([experiment_id], order_by=["attributes.start_time ASC"])
    compared = {}
    for run in runs:
        if run.data.tags.get("outcome") in ("pushed", "promoted"):
            compared.setdefault(run.data.tags["pipeline"], run)
    pages = review_urls(url, experiment_id, [r.info.run_id for r in compared.values()])

    def shot(browser: Browser, name: str) -> None:
        if out_dir is not None:
            browser.screenshot(out_dir / name)

    # Wide: the runs table renders only the columns in view, and the review needs all.
    with Browser(1920, 900) as browser:
        browser.open(pages["runs"], local_storage=SEEN_BEFORE)
        runs_text = browser.wait_for_text(*(r.info.run_name for r in runs))
        shot(browser, "mlflow-runs.png")
        browser.open(pages["models"])
        models_text = browser.wait_for_text(*(contract.registered_model(s) for s in compared))
        champions = browser.evaluate("document.querySelectorAll('[title=\"champion\"]').length")
        shot(browser, "mlflow-models.png")
    with Browser(1400, 1900) as browser:  # tall: the metrics table is below the charts
        browser.open(pages["compare"], local_storage=SEEN_BEFORE)
        compare_text = browser.wait_for_text("eval_accuracy_baseline")
        shot(browser, "mlflow-compare.png")
    return Review(runs_text, models_text, champions, compare_text, compared)


def main(argv: list[str] | None = None) -> int:
    from tests.servers import mlflow_server

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    args = parser.parse_args(argv)
    contract = load_contract()
    with tempfile.TemporaryDirectory(prefix="review-") as tmp:
        root = Path(tmp)
        with mlflow_server(root) as url:
            workdir = root / "work"
            print(f"running every stack on {contract.name} (a few minutes)", flush=True)
            result = run_cli("all", "--workdir", workdir, env={"MLFLOW_TRACKING_URI": url})
            if result.returncode != 0:
                print(result.stdout[-3000:] + result.stderr[-3000:], file=sys.stderr)
                return 1
            print("and once more under a lift no model reaches, to show a rejection", flush=True)
            run_rejected(url, workdir, root)
            capture(url, contract, args.out)
    for name in ("mlflow-runs.png", "mlflow-models.png", "mlflow-compare.png"):
        print(f"screenshot: {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
