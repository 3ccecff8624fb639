"""`make bench-speedups`: what each speed-up of the run machinery still pays.

Each pipeline runs cold on the shipped contract with every speed-up on, and once with
each of its speed-ups off (PIPELINES_SPEEDUPS_OFF, components/shared/speedups.py),
interleaved over --repeats rounds so the machine's drift hits all alike. Reports the
median wall time of each and what each saves, the median over the rounds of its run
off against the all-on run of the same round; a speed-up that saves nothing no longer
pays. The unchanged-run fingerprint is `make bench`'s (unchanged rerun against `--force`
rerun). Writes <workdir>/bench/speedups.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

from benchmarks.bench import present_stacks
from benchmarks.measure import isolated_env, machine, run_measured
from components.shared.speedups import OFF_VARIABLE

# Each stack's speed-ups, as the code names them (speedups.enabled). Where they live:
# exit-without-gc components/shared/processes.py, every CLI process; module-stubs
# pipelines/tfx/environment.py and components/lightning/validate_data.py; early-children
# pipelines/tfx/run.py.
SPEEDUPS = {
    "tfx": ["exit-without-gc", "module-stubs", "early-children"],
    "lightning": ["exit-without-gc", "module-stubs"],
}
ALL_ON = "all on"


def run_speedups(workdir: Path, stacks: list[str], repeats: int) -> dict:
    out = Path(workdir) / "bench"
    work, log = out / "speedups-work", out / "speedups.log"
    log.unlink(missing_ok=True)
    walls: dict[str, dict[str, list[float]]] = {s: {} for s in stacks}
    for i in range(repeats):
        for stack in stacks:
            for variant in [ALL_ON, *SPEEDUPS[stack]]:
                workdir_i = work / f"{stack}-{variant.replace(' ', '-')}-{i}"
                shutil.rmtree(workdir_i, ignore_errors=True)
                env = isolated_env()
                env[OFF_VARIABLE] = "" if variant == ALL_ON else variant
                command = [sys.executable, "-m", "pipelines", stack, "--workdir", workdir_i]
                sample = run_measured(command, log, env)
                if sample.returncode != 0:
                    raise SystemExit(f"bench-speedups: {stack}, {variant} off exited "
                                     f"{sample.returncode}; see {log}")  # fmt: skip
                walls[stack].setdefault(variant, []).append(sample.wall_s)
                print(f"bench-speedups: {stack}, round {i + 1}, {_label(variant)}: "
                      f"{sample.wall_s:.1f} s", flush=True)  # fmt: skip
    result = {"machine": machine(), "repeats": repeats, "rows": costs(walls), "walls": walls}
    out.mkdir(parents=True, exist_ok=True)
    (out / "speedups.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "speedups.md").write_text(markdown(result))
    return result


def _label(variant: str) -> str:
    return "every speed-up on" if variant == ALL_ON else f"{variant} off"


def _median(walls: list[float]) -> float:
    return round(statistics.median(walls), 2)


def costs(walls: dict[str, dict[str, list[float]]]) -> list[dict]:
    """Per stack and speed-up: the median wall time with it off, and what it saves: the
    median over the rounds of (off - every speed-up on) in the same round, so the
    machine's drift between rounds cancels out."""
    rows = []
    for stack, by_variant in walls.items():
        on = by_variant[ALL_ON]
        for variant, samples in by_variant.items():
            saves = [off - base for off, base in zip(samples, on, strict=True)]
            rows.append({"stack": stack, "speedup": variant, "wall_s": _median(samples),
                         "saves_s": None if variant == ALL_ON else _median(saves)})  # fmt: skip
    return rows


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; "
        f"medians of {result['repeats']} cold runs each, interleaved.",
        "",
        "| stack | run | wall s (median) | saved by the speed-up, s (median of the rounds) |",
        "|---|---|---:|---:|",
    ]
    for row in result["rows"]:
        saves = "—" if row["saves_s"] is None else f"{row['saves_s']:.1f}"
        lines.append(
            f"| {row['stack']} | {_label(row['speedup'])} | {row['wall_s']:.1f} | {saves} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.speedups",
        description="Each pipeline cold with every speed-up on, and with each one off.",
    )
    parser.add_argument("--workdir", type=Path, default=Path("runs"), help="default: runs/")
    parser.add_argument("--repeats", type=int, default=3, help="rounds (default: 3)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    stacks = [s for s in present_stacks() if s in SPEEDUPS]
    result = run_speedups(args.workdir.resolve(), stacks, args.repeats)
    print(markdown(result))
    print(f"bench-speedups: written to {args.workdir / 'bench'}/speedups.{{json,md}}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
