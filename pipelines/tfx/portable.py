"""`python -m pipelines tfx --runner portable`: the TFX run through Beam's portable path,
with the two services a Flink or Spark cluster provides started on this machine.

A portable runner submits each Beam pipeline to a job service, which hands its stages to
SDK workers over Beam's Fn API: the protocol Flink's and Spark's runners use with their
workers, so this run exercises what changes on a cluster (a job endpoint, workers in
their own environment) without one. The job service is Beam's own
(`local_job_service_main`); the worker pool is Beam's `BeamFnExternalWorkerPoolServicer`,
served here on 127.0.0.1 because Beam's `worker_pool_main` binds every interface.

EXTERNAL workers install nothing the runner stages: they import the project from this
checkout. So the pool gets this interpreter's bin folder first on PATH (it starts each
worker as `python`) and, on PYTHONPATH, the repository and the folder of the Transform
module (Beam's pickled preprocessing refers to it by its bare module name).

Both services run in process groups of their own and are stopped, workers included,
when the run ends, however it ends.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

from components.shared.processes import stop_group, with_venv_on_path

# What the run asks Beam for; the endpoints are added once the services listen. The
# fingerprint of an unchanged run covers these, not this machine's ports.
PORTABLE_BEAM_ARGS = ["--runner=PortableRunner", "--environment_type=EXTERNAL"]
# Set in both services' environment (their workers inherit it): a test finds by it every
# process this run started.
SERVICES_MARKER = "PIPELINES_PORTABLE_SERVICES"
STARTUP_TIMEOUT_S = 120.0


class PortableServicesError(RuntimeError):
    """A local service of the portable path did not start; the message says which and
    where its log is."""


def worker_pythonpath(transform_module: Path) -> str:
    """PYTHONPATH for EXTERNAL workers: the repository and the Transform module's folder,
    ahead of whatever the caller had."""
    repo = Path(__file__).resolve().parents[2]
    entries = [str(repo), str(transform_module.resolve().parent)]
    if os.environ.get("PYTHONPATH"):
        entries.append(os.environ["PYTHONPATH"])
    return os.pathsep.join(entries)


@contextmanager
def local_services(log_dir: Path, transform_module: Path) -> Iterator[list[str]]:
    """Start a job service and a worker pool on 127.0.0.1; yields the two Beam args that
    point a PortableRunner (PORTABLE_BEAM_ARGS) at them."""
    log_dir.mkdir(parents=True, exist_ok=True)
    env = with_venv_on_path()
    env["PYTHONPATH"] = worker_pythonpath(transform_module)
    env[SERVICES_MARKER] = str(log_dir)
    with tempfile.TemporaryDirectory(prefix="beam-portable-") as ports, ExitStack() as stack:
        port_files = {"job service": Path(ports) / "job", "worker pool": Path(ports) / "pool"}
        services = {
            "job service": [
                sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main",
                "--port=0", f"--port_file={port_files['job service']}",
            ],
            "worker pool": [
                sys.executable, "-m", __name__, f"--port-file={port_files['worker pool']}",
            ],
        }  # fmt: skip
        started = {}
        for name, argv in services.items():  # both start at once, then both are awaited
            log = log_dir / f"portable-{name.replace(' ', '-')}.log"
            started[name] = (_start(argv, env, log), log)
            stack.callback(_stop, started[name][0])
        ports_of = {
            name: _wait_for_port(name, proc, port_files[name], log)
            for name, (proc, log) in started.items()
        }
        yield [
            f"--job_endpoint=localhost:{ports_of['job service']}",
            f"--environment_config=127.0.0.1:{ports_of['worker pool']}",
        ]


def _start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip


def _stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """Stop a service and the workers it started: the leader is reaped first, since
    its zombie would keep the group alive for stop_group."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=timeout)
    stop_group(proc.pid, timeout=5)
    proc.wait()


def _wait_for_port(name: str, proc: subprocess.Popen, port_file: Path, log: Path) -> int:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if port_file.exists():
            return int(port_file.read_text())
        if proc.poll() is not None:
            raise PortableServicesError(
                f"Beam's local {name} exited with code {proc.returncode} before listening; "
                f"its log: {log}"
            )
        time.sleep(0.1)
    raise PortableServicesError(
        f"Beam's local {name} did not listen within {STARTUP_TIMEOUT_S:.0f} s; its log: {log}"
    )


def serve_worker_pool(port_file: Path) -> None:
    """Beam's external worker pool on 127.0.0.1 (a free port, written to `port_file`),
    one worker process per request, until SIGTERM."""
    import grpc
    from apache_beam.portability.api import beam_fn_api_pb2_grpc
    from apache_beam.runners.worker.worker_pool_main import BeamFnExternalWorkerPoolServicer
    from apache_beam.utils import thread_pool_executor

    server = grpc.server(thread_pool_executor.shared_unbounded_instance())
    port = server.add_insecure_port("127.0.0.1:0")
    beam_fn_api_pb2_grpc.add_BeamFnExternalWorkerPoolServicer_to_server(
        BeamFnExternalWorkerPoolServicer(use_process=True), server
    )
    server.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(str(port))
    tmp.rename(port_file)  # whole or absent: the parent never reads half a port
    print(f"worker pool listening on 127.0.0.1:{port}", flush=True)
    stopped.wait()
    server.stop(grace=None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=serve_worker_pool.__doc__)
    parser.add_argument("--port-file", type=Path, required=True)
    serve_worker_pool(parser.parse_args(argv).port_file)


if __name__ == "__main__":
    main()
