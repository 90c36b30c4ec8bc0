"""Start and stop the real backend for HTTP benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
import urllib.request

from bench.common import ROOT

BUN = ROOT / ".tools" / "node_modules" / "@oven" / "bun-linux-x64" / "bin" / "bun"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def backend_env(url: str, port: int, workers: int, *, sweep_interval: int = 3600) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": os.environ["SECRET_KEY"],
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "GRANIAN_WORKERS": str(workers),
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "SWEEP_INTERVAL_SECONDS": str(sweep_interval),
    }


def start_backend(
    url: str, port: int, workers: int, *, sweep_interval: int = 3600, with_frontend: bool = False
) -> subprocess.Popen:
    """`sweep_interval`: seconds between the workers' sweeps (holds, refunds, exports); by default
    the sweeper stays out of the way of benchmarks that do not measure it. `with_frontend` also
    compiles and serves the pages on the same port (for real browser tabs; the build takes a minute
    or two, in a work directory of its own)."""
    env = backend_env(url, port, workers, sweep_interval=sweep_interval)
    serve = ["--backend-only", "--backend-port", str(port)]
    if with_frontend:
        serve = ["--frontend-port", str(port)]
        workdir = tempfile.mkdtemp(prefix="bench-web-")
        env.update(
            REFLEX_BUN_PATH=str(BUN),
            REFLEX_WEB_WORKDIR=f"{workdir}/.web",
            REFLEX_STATES_WORKDIR=f"{workdir}/.states",
        )
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/reflex"), "run", "--env", "prod", *serve, "--loglevel", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + (600 if with_frontend else 120)
    paths = ["/api/health", "/"] if with_frontend else ["/api/health"]
    while time.time() < deadline:
        if all(_answers(f"http://127.0.0.1:{port}{path}") for path in paths):
            return process
        time.sleep(0.5)
    stop(process)
    raise RuntimeError("backend did not start")


def start_worker(url: str, port: int, *, sweep_interval: int = 3600) -> subprocess.Popen:
    """`bilten worker` on the same database and Redis as `start_backend` (notifications, and the
    hold sweeper, which the web workers then leave to it)."""
    return subprocess.Popen(
        [str(ROOT / ".venv/bin/python"), "-m", "bilten.cli", "worker"],
        cwd=ROOT,
        env=backend_env(url, port, 1, sweep_interval=sweep_interval),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - the local server
            return response.status == 200
    except OSError:
        return False


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)
