"""Reservations per second on ONE hot ticket type through `POST /api/v1/orders`, on PostgreSQL + Redis.

    .venv/bin/python -m bench.bench_reserve_http [--seconds 10] [--clients 50 200] [--workers N]

Starts the real backend (`reflex run --env prod --backend-only`, granian workers, Redis state
manager) and measures, for each number of clients, with the oversell check:
1. capacity: wrk (a C load generator, `apt-get install wrk`) keeps N keep-alive connections busy
   back to back -> reservations per second, p50/p95/p99 (mostly queueing: N clients always waiting
   wait N / throughput on average, Little's law);
2. the promise (open loop, `--rate`, default 200/s): N connected clients together start reservations
   at a steady total rate, latency counted from when each was due -> p50/p95/p99. Target: p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import time

import httpx

from bench.common import (
    ROOT,
    drop_database,
    free_port,
    freeze_gc,
    fresh_database,
    hot_ticket_type,
    percentile,
    reserved,
)
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


async def steady(port: int, clients: int, rate: float, seconds: float, type_id: str) -> dict:
    """`clients` buyers, each on its own keep-alive connection, together starting `rate` reservations
    per second on a fixed schedule; each answer's latency counts from when its request was due."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    interval = clients / rate
    connections = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) for _ in range(clients)]
    await asyncio.gather(*(client.get("/api/v1/events") for client in connections))  # connected before the start
    start = time.perf_counter() + 0.5

    async def buyer(n: int) -> None:
        client = connections[n]
        due = start + interval * n / clients
        try:
            while due < start + seconds:
                await asyncio.sleep(max(due - time.perf_counter(), 0))
                body = {
                    "items": [{"ticket_type_id": type_id, "quantity": 1}],
                    "email": f"s{n}.{len(latencies)}@bench.example.org",
                    "phone": "+49 30 1234567",
                }
                response = await client.post("/api/v1/orders", json=body)
                latencies.append((time.perf_counter() - due) * 1000)
                statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1
                due += interval
        finally:
            await client.aclose()

    await asyncio.gather(*(buyer(n) for n in range(clients)))
    return {
        "rate": statuses.get("201", 0) / seconds,
        "p50": percentile(latencies, 0.5),
        "p95": percentile(latencies, 0.95),
        "p99": percentile(latencies, 0.99),
        "statuses": statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--workers", type=int, default=None, help="granian workers (default: Reflex's choice)")
    parser.add_argument("--quantity", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=200, help="reservations per second for the open-loop run")
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
            freeze_gc()
            promise = asyncio.run(steady(port, clients, args.rate, args.seconds, type_id))
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
            f"capacity {clients:>4} clients: {created / result['seconds']:7.1f} reservations/s  "
            f"p50 {result['p50']:.1f} ms  p95 {result['p95']:.1f} ms  p99 {result['p99']:.1f} ms  "
            f"answers {result['statuses']}  socket errors {result['errors']}"
        )
        print(
            f"steady {args.rate:.0f}/s {clients:>4} clients: {promise['rate']:7.1f} reservations/s  "
            f"p50 {promise['p50']:.1f} ms  p95 {promise['p95']:.1f} ms  p99 {promise['p99']:.1f} ms  "
            f"answers {promise['statuses']}  oversold (both runs) {oversold}"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
