"""`make bench-serve`: every stack's champion behind every server it has (MLflow's scoring
server for each, and each wing's own: LitServe for Lightning), under the same bounded
load on loopback, in one run.

For each server and each level of concurrent clients (1, 8, 32 by default), every client
sends --requests requests one after another, each one eval row of the shipped clean
traffic (data/traffic/); reported: p50, p95 and p99 latency, requests per second, errors,
serving-log lines lost (answered requests minus lines the server appended), peak memory
of the server's whole process tree, and how long the server took to answer first.
Writes <workdir>/bench/serve.{json,md,png} and prints the table. Trains the champions first
when the workdir has none (`python -m pipelines all`).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

from benchmarks.measure import isolated_env, machine, tree_rss
from components.shared import stacks
from components.shared.contract import DEFAULT_CONTRACT, REPO_ROOT, load_contract
from components.shared.layout import Workdir
from components.shared.processes import stop_group
from components.shared.request_log import records
from components.shared.traffic import read, traffic_path
from pipelines.serve import current_champion

LEVELS = (1, 8, 32)
REQUESTS_PER_CLIENT = 25
READY_WITHIN_S = 300


def targets() -> list[tuple[str, str]]:
    """(stack, server) for MLflow's server on every stack, then each wing's own."""
    wings = stacks.load()
    return [(s, "mlflow") for s in wings] + [(s, v) for s in wings for v in wings[s].servers]


def _post(url: str, body: bytes) -> tuple[int, float]:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            answer.read()
            status = answer.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError:
        status = 0
    return status, time.perf_counter() - started


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def load(url: str, bodies: list[bytes], clients: int, per_client: int) -> dict:
    """`clients` threads, each sending `per_client` requests in turn; latencies in ms."""

    def client(index: int) -> list[tuple[int, float]]:
        return [
            _post(url, bodies[(index * per_client + i) % len(bodies)]) for i in range(per_client)
        ]

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = [r for part in pool.map(client, range(clients)) for r in part]
    wall = time.perf_counter() - started
    latencies = [seconds * 1000 for status, seconds in results if status == 200]
    return {
        "clients": clients,
        "requests": len(results),
        "answered": len(latencies),
        "errors": len(results) - len(latencies),
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p95_ms": round(_percentile(latencies, 0.95), 2) if latencies else None,
        "p99_ms": round(_percentile(latencies, 0.99), 2) if latencies else None,
        "requests_per_s": round(len(results) / wall, 1),
    }


def _lines(path: Path) -> int:
    return len(path.read_bytes().splitlines()) if path.exists() else 0


def measure(
    stack: str, server: str, contract_path: Path, workdir: Workdir, port: int, per_client: int
) -> dict:
    contract = load_contract(contract_path)
    rows = read(traffic_path(contract, "clean"), contract)
    bodies = [json.dumps({"dataframe_records": [row]}).encode() for row in records(rows)]
    log = workdir.serving_log(stack, contract)
    logs = workdir.bench / "serve-logs"
    logs.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}/invocations"
    with open(logs / f"{stack}-{server}.log", "w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipelines", "serve", "--stack", stack, "--server", server,
             "--contract", str(contract_path), "--workdir", str(workdir.root),
             "--port", str(port)],
            cwd=REPO_ROOT, env=isolated_env(), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        peak, done = 0, threading.Event()

        def sample() -> None:
            nonlocal peak
            root = psutil.Process(proc.pid)
            while not done.is_set():
                peak = max(peak, tree_rss(root))
                done.wait(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            while _post(url, bodies[0])[0] != 200:
                if proc.poll() is not None or time.perf_counter() - started > READY_WITHIN_S:
                    raise RuntimeError(f"{stack}/{server} did not start: see {out.name}")
                time.sleep(0.5)
            ready_s = time.perf_counter() - started
            before = _lines(log)
            levels = []
            for clients in LEVELS:
                level = load(url, bodies, clients, per_client)
                level["lost_log_lines"] = level["answered"] - (_lines(log) - before)
                before = _lines(log)
                levels.append(level)
                print(f"  {stack}/{server}: {_row(level)}", flush=True)
        finally:
            done.set()
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
            stop_group(proc.pid)
    return {
        "stack": stack,
        "server": server,
        "ready_s": round(ready_s, 1),
        "peak_rss_mb": round(peak / 2**20, 1),
        "levels": levels,
    }


def _row(level: dict) -> str:
    return (
        f"{level['clients']} clients: p50 {level['p50_ms']} ms, p95 {level['p95_ms']} ms, "
        f"p99 {level['p99_ms']} ms, {level['requests_per_s']} req/s, {level['errors']} errors, "
        f"{level['lost_log_lines']} log lines lost"
    )


def markdown(results: list[dict], about: dict) -> str:
    lines = [
        f"Measured {about['date']} on {about['cpu']}, {about['cores']} cores; one eval row "
        f"per request, {results[0]['levels'][0]['requests']} requests per client.\n",
        "| stack | server | clients | p50 ms | p95 ms | p99 ms | req/s | errors "
        "| log lines lost | peak MB | ready s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for level in result["levels"]:
            lines.append(
                f"| {result['stack']} | {result['server']} | {level['clients']} "
                f"| {level['p50_ms']} | {level['p95_ms']} | {level['p99_ms']} "
                f"| {level['requests_per_s']} | {level['errors']} | {level['lost_log_lines']} "
                f"| {result['peak_rss_mb']} | {result['ready_s']} |"
            )
    return "\n".join(lines) + "\n"


def plot(results: list[dict], path: Path) -> Path:
    """Median latency and throughput against concurrent clients, a line per server."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {name: stack.color for name, stack in stacks.load().items()}
    fig, (latency, throughput) = plt.subplots(1, 2, figsize=(10, 3.8))
    for result in results:
        clients = [level["clients"] for level in result["levels"]]
        style = "-" if result["server"] == "mlflow" else "--"
        label = f"{result['stack']} / {result['server']}"
        color = colors.get(result["stack"])
        latency.plot(clients, [lv["p50_ms"] for lv in result["levels"]], style, marker="o",
                     color=color, label=label)  # fmt: skip
        throughput.plot(clients, [lv["requests_per_s"] for lv in result["levels"]], style,
                        marker="o", color=color, label=label)  # fmt: skip
    for axis, title in ((latency, "p50 latency (ms)"), (throughput, "requests per second")):
        axis.set_xscale("log", base=2)
        axis.set_xticks(LEVELS, [str(level) for level in LEVELS])
        axis.set_xlabel("concurrent clients")
        axis.set_title(title)
        axis.grid(alpha=0.3)
    latency.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("runs"))
    parser.add_argument("--contract", type=Path, default=DEFAULT_CONTRACT)
    parser.add_argument("--requests", type=int, default=REQUESTS_PER_CLIENT,
                        help=f"requests per client (default {REQUESTS_PER_CLIENT})")  # fmt: skip
    parser.add_argument("--port", type=int, default=5101)
    args = parser.parse_args(argv)
    os.environ.pop("MLFLOW_TRACKING_URI", None)  # the workdir's own store, as isolated_env
    workdir = Workdir(args.workdir)
    wanted = sorted({stack for stack, _ in targets()})
    contract = load_contract(args.contract)
    if any(current_champion(contract, stack, workdir) is None for stack in wanted):
        print(f"bench-serve: no champions in {workdir.root} yet: running the pipelines first")
        trained = subprocess.run(
            [sys.executable, "-m", "pipelines", "all", "--contract", str(args.contract),
             "--workdir", str(workdir.root)],
            cwd=REPO_ROOT, env=isolated_env(),
        )  # fmt: skip
        if trained.returncode != 0:
            print(f"bench-serve: the pipelines failed (exit {trained.returncode})", file=sys.stderr)
            return 1
    results = []
    for stack, server in targets():
        print(f"bench-serve: {stack} champion behind {server}", flush=True)
        results.append(measure(stack, server, args.contract, workdir, args.port, args.requests))
    about = machine()
    workdir.bench.mkdir(parents=True, exist_ok=True)
    (workdir.bench / "serve.json").write_text(
        json.dumps({"machine": about, "results": results}, indent=2) + "\n"
    )
    table = markdown(results, about)
    (workdir.bench / "serve.md").write_text(table)
    plot(results, workdir.bench / "serve.png")
    print(table)
    print(f"bench-serve: wrote {workdir.bench / 'serve.md'}")
    failed = [
        f"{r['stack']}/{r['server']} at {level['clients']} clients"
        for r in results
        for level in r["levels"]
        if level["errors"] or level["lost_log_lines"]
    ]
    if failed:
        print(f"bench-serve: errors or lost log lines: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
