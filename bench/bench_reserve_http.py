"""Reservations per second on ONE hot ticket type through `POST /api/v1/orders`, on PostgreSQL + Redis.

    .venv/bin/python -m bench.bench_reserve_http [--seconds 10] [--clients 50 200] [--workers N]

Starts the real backend (`reflex run --env prod --backend-only`, granian workers, Redis state
manager), drives it from wrk (a C load generator, `apt-get install wrk`) with keep-alive
connections, and prints successful reservations per second, p50/p95/p99 latency of all requests,
the answers by status, and the oversell check.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys

from bench.common import ROOT, drop_database, free_port, fresh_database, hot_ticket_type, reserved
from bench.server import start_backend, stop


def run_wrk(port: int, clients: int, seconds: float, type_id: str) -> dict:
    threads = min(2, clients)
    output = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(clients),
            "-d",
            f"{int(seconds)}s",
            "--timeout",
            "10s",
            "-s",
            str(ROOT / "bench/reserve.lua"),
            f"http://127.0.0.1:{port}",
        ],
        env={**os.environ, "BENCH_TICKET_TYPE": type_id},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("BENCH "))
    return json.loads(line.removeprefix("BENCH "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--workers", type=int, default=None, help="granian workers (default: Reflex's choice)")
    parser.add_argument("--quantity", type=int, default=1_000_000)
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    workers = args.workers or min(2 * (os.cpu_count() or 1) + 1, 8)
    print(
        f"POST /api/v1/orders on one hot ticket type, PostgreSQL + Redis, {os.cpu_count()} cores, "
        f"{workers} granian workers, wrk keep-alive, {args.seconds:.0f} s per run"
    )
    for clients in args.clients:
        url = fresh_database()
        port = free_port()
        process = None
        try:
            type_id = str(hot_ticket_type(url, quantity=args.quantity))
            process = start_backend(url, port, workers)
            run_wrk(port, min(clients, 10), 2, type_id)  # warm-up: imports, pools, JIT-free but cold caches
            result = run_wrk(port, clients, args.seconds, type_id)
            stop(process)  # no request still in flight while counting
            process = None
            counter, in_lines, capacity = reserved(url, type_id)
        finally:
            if process:
                stop(process)
            drop_database(url)
        created = result["statuses"].get("201", 0)
        oversold = max(counter - capacity, 0) + abs(counter - in_lines)
        print(
            f"{clients:>4} clients: {created / result['seconds']:7.1f} reservations/s  "
            f"p50 {result['p50']:.1f} ms  p95 {result['p95']:.1f} ms  p99 {result['p99']:.1f} ms  "
            f"answers {result['statuses']}  socket errors {result['errors']}  oversold {oversold}"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
