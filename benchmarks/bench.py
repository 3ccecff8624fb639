"""`make bench`: this repository's pipelines against the frameworks' own minimal use,
side by side in one run, each measured whole (a fresh process, its children included).

    TFX        this repo's pipeline            vs TFX's own penguin example
               (cold; unchanged rerun;            (cold; second run, which
                --force cached rerun)              re-evaluates; cached third run)
    Lightning  this repo's pipeline            vs a minimal Lightning + autolog script
                                                  and a bare torch loop, same rows
    floors     importing each stack and nothing else

Each is run --repeats times (interleaved, so drift of the machine hits all alike) and
reported as medians of wall time, CPU time and peak memory, with the ratios the project
targets. Writes <workdir>/bench/bench.{json,md} and prints the table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.measure import Sample, isolated_env, machine, median_of, run_measured
from components.shared import stacks as wings

PY = sys.executable


@dataclass(frozen=True)
class Ratio:
    name: str
    numerator: str
    denominator: str
    target: float | None  # at most this; None: for information


RATIOS = {
    "tfx": [
        Ratio("TFX cold / official example cold", "tfx_cold", "official_cold", 0.35),
        Ratio(
            "TFX unchanged rerun / official cached rerun",
            "tfx_unchanged_rerun",
            "official_cached_rerun",
            0.5,
        ),
        # Both re-evaluate the same model against the first run's blessed one.
        Ratio(
            "TFX --force rerun / official second run",
            "tfx_forced_rerun",
            "official_second_run",
            None,
        ),  # fmt: skip
    ],
    "lightning": [
        Ratio("Lightning pipeline / minimal Lightning + autolog", "lightning", "minimal", 1.2),
        Ratio("Lightning pipeline / bare torch loop", "lightning", "torch_loop", None),
    ],
}

LABELS = {
    "tfx_cold": "TFX, this repo: cold",
    "tfx_unchanged_rerun": "TFX, this repo: unchanged rerun",
    "tfx_forced_rerun": "TFX, this repo: --force rerun (re-evaluates)",
    "official_cold": "TFX penguin example: cold",
    "official_second_run": "TFX penguin example: second run (re-evaluates)",
    "official_cached_rerun": "TFX penguin example: cached rerun (third run)",
    "tfx_import": "import tfx, TFMA, TFT (floor)",
    "lightning": "Lightning, this repo",
    "minimal": "minimal Lightning + mlflow autolog",
    "torch_loop": "bare torch loop",
    "lightning_import": "import torch, Lightning, MLflow, GX (floor)",
}


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _tfx_round(work: Path, log: Path, i: int) -> dict[str, Sample]:
    env = isolated_env()
    repo = _fresh(work / f"tfx-repo-{i}")
    official = _fresh(work / f"tfx-official-{i}")
    ours = [PY, "-m", "pipelines", "tfx", "--workdir", repo]
    theirs = [PY, "-m", "benchmarks.baselines.official_tfx_penguin", "--workdir", official]
    imports = "import tfx.v1, tensorflow_model_analysis, tensorflow_transform"
    return {
        "tfx_cold": run_measured(ours, log, env),
        "official_cold": run_measured(theirs, log, env),
        "tfx_unchanged_rerun": run_measured(ours, log, env),
        # The example's second run is not all cached: its Resolver now finds the first
        # run's blessed model, so the Evaluator (and the Pusher after it) run again with
        # that baseline. The third run is its cached rerun.
        "official_second_run": run_measured(theirs, log, env),
        "official_cached_rerun": run_measured(theirs, log, env),
        "tfx_forced_rerun": run_measured([*ours, "--force"], log, env),
        "tfx_import": run_measured([PY, "-c", imports], log, env),
    }


def _lightning_round(work: Path, log: Path, i: int) -> dict[str, Sample]:
    env = isolated_env()
    imports = "import torch, pytorch_lightning, mlflow, great_expectations"
    return {
        "lightning": run_measured(
            [PY, "-m", "pipelines", "lightning", "--workdir", _fresh(work / f"lit-repo-{i}")],
            log,
            env,
        ),
        "minimal": run_measured(
            [
                PY,
                "-m",
                "benchmarks.baselines.lightning_minimal",
                "--workdir",
                _fresh(work / f"lit-minimal-{i}"),
            ],
            log,
            env,
        ),  # fmt: skip
        "torch_loop": run_measured(
            [
                PY,
                "-m",
                "benchmarks.baselines.torch_loop",
                "--workdir",
                _fresh(work / f"torch-loop-{i}"),
            ],
            log,
            env,
        ),  # fmt: skip
        "lightning_import": run_measured([PY, "-c", imports], log, env),
    }


ROUNDS: dict[str, Callable[[Path, Path, int], dict[str, Sample]]] = {
    "tfx": _tfx_round,
    "lightning": _lightning_round,
}


def present_stacks() -> list[str]:
    """The stacks still in the tree (stacks.toml) that this benchmark knows how to run."""
    return [s for s in wings.load() if s in ROUNDS]


def ratios_of(medians: dict[str, dict[str, float]], stacks: list[str]) -> list[dict]:
    """The wall-time ratios of the measured stacks, each against its target."""
    ratios = []
    for stack in stacks:
        for ratio in RATIOS[stack]:
            value = medians[ratio.numerator]["wall_s"] / medians[ratio.denominator]["wall_s"]
            ratios.append(
                {
                    "name": ratio.name,
                    "value": round(value, 3),
                    "target": ratio.target,
                    "met": None if ratio.target is None else value <= ratio.target,
                }
            )
    return ratios


def run_bench(workdir: Path, stacks: list[str], repeats: int) -> dict:
    out = Path(workdir) / "bench"
    work, log = out / "work", out / "bench.log"
    log.unlink(missing_ok=True)
    samples: dict[str, list[Sample]] = {}
    for i in range(repeats):
        for stack in stacks:
            print(f"bench: {stack}, round {i + 1} of {repeats} ...", flush=True)
            for name, sample in ROUNDS[stack](work, log, i).items():
                if sample.returncode != 0:
                    raise SystemExit(f"bench: {LABELS[name]} exited {sample.returncode}; see {log}")
                samples.setdefault(name, []).append(sample)
                print(f"  {LABELS[name]}: {sample.wall_s:.1f} s", flush=True)
    medians = {name: median_of(runs) for name, runs in samples.items()}
    result = {
        "machine": machine(),
        "repeats": repeats,
        "medians": medians,
        "samples": {name: [s.as_dict() for s in runs] for name, runs in samples.items()},
        "ratios": ratios_of(medians, stacks),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "bench.md").write_text(markdown(result))
    return result


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; "
        f"medians of {result['repeats']} runs, each a whole process.",
        "",
        "| run | wall s | CPU s | peak memory MB |",
        "|---|---:|---:|---:|",
    ]
    for name, values in result["medians"].items():
        lines.append(
            f"| {LABELS[name]} | {values['wall_s']:.1f} | {values['cpu_s']:.1f} "
            f"| {values['peak_rss_mb']:.0f} |"
        )
    lines += ["", "| ratio (wall time) | value | target |", "|---|---:|---|"]
    for ratio in result["ratios"]:
        target = "—" if ratio["target"] is None else f"≤ {ratio['target']}"
        verdict = {True: " met", False: " **missed**", None: ""}[ratio["met"]]
        lines.append(f"| {ratio['name']} | {ratio['value']:.2f} | {target}{verdict} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench",
        description="Time this repo's pipelines against the frameworks' own minimal use.",
    )
    parser.add_argument("--workdir", type=Path, default=Path("runs"), help="default: runs/")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (default: 3)")
    parser.add_argument(
        "--stack", choices=sorted(ROUNDS), action="append", help="only this stack (repeatable)"
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    result = run_bench(args.workdir.resolve(), args.stack or present_stacks(), args.repeats)
    print(markdown(result))
    print(f"bench: written to {args.workdir / 'bench'}/bench.{{json,md}}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
