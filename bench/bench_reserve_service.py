"""Reservations per second on ONE hot ticket type, through the service (`place_order`), on PostgreSQL.

    .venv/bin/python -m bench.bench_reserve_service [--seconds 10] [--clients 50 200] [--processes 2]

Each client is a thread with its own database connection (PostgreSQL here allows 100, so beyond
~90 clients they share a pool of 90), spread over worker processes so the GIL is not the limit.
Prints successful reservations per second, p50/p95/p99 latency, and the oversell check.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import threading
import time
from datetime import UTC, datetime

from bench.common import drop_database, fresh_database, hot_ticket_type, reserved, summary

MAX_CONNECTIONS = 90


def run(clients: int, seconds: float, processes: int, quantity: int) -> dict:
    url = fresh_database()
    try:
        type_id = hot_ticket_type(url, quantity=quantity, max_per_order=10)
        results = multiprocessing.Queue()
        connections = min(clients, MAX_CONNECTIONS)
        per_process = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
        threads_per_process = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
        start_at = time.time() + 2
        workers = []
        for i in range(processes):
            # Threads beyond the connection budget wait for a pooled connection, like real clients queueing.
            workers.append(
                multiprocessing.Process(
                    target=_client_process,
                    args=(url, type_id, threads_per_process[i], per_process[i], seconds, start_at, results),
                )
            )
        for worker in workers:
            worker.start()
        latencies, outcomes = [], {"ok": 0, "sold_out": 0, "try_again": 0}
        for _ in workers:
            part_latencies, part_outcomes = results.get()
            latencies += part_latencies
            for key, value in part_outcomes.items():
                outcomes[key] += value
        for worker in workers:
            worker.join()
        counter, in_lines, capacity = reserved(url, type_id)
    finally:
        drop_database(url)
    return {
        "clients": clients,
        "ok": outcomes["ok"],
        "rate": outcomes["ok"] / seconds,
        "outcomes": outcomes,
        "latency": summary(latencies),
        "oversold": max(counter - capacity, 0) + abs(counter - in_lines),
        "reserved": counter,
        "capacity": capacity,
    }


def _client_process(url, type_id, clients, connections, seconds, start_at, results) -> None:  # noqa: ANN001
    os.environ["DATABASE_URL"] = url
    from sqlalchemy.pool import QueuePool
    from sqlmodel import Session

    from bilten.db import make_engine
    from bilten.services import orders
    from bilten.services.errors import SoldOut, TryAgain

    engine = make_engine(url)
    engine.pool = QueuePool(engine.pool._creator, pool_size=connections, max_overflow=0, timeout=60)
    latencies, outcomes, lock = [], {"ok": 0, "sold_out": 0, "try_again": 0}, threading.Lock()

    def client(n: int) -> None:
        time.sleep(max(start_at - time.time(), 0))
        deadline = start_at + seconds
        i = 0
        while time.time() < deadline:
            i += 1
            began = time.perf_counter()
            with Session(engine, expire_on_commit=False) as session:  # a connection per attempt, from the pool
                try:
                    orders.place_order(
                        session,
                        items=[(type_id, 1)],
                        email=f"c{os.getpid()}.{n}.{i}@bench.example.org",
                        phone="+49 30 1234567",
                        now=datetime.now(UTC),
                    )
                    outcome = "ok"
                except SoldOut:
                    outcome = "sold_out"
                except TryAgain:
                    outcome = "try_again"
            elapsed = (time.perf_counter() - began) * 1000
            with lock:
                outcomes[outcome] += 1
                if outcome == "ok":
                    latencies.append(elapsed)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    results.put((latencies, outcomes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--quantity", type=int, default=1_000_000, help="seats on the hot type")
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))  # signing keys of the bench event
    print(f"place_order on one hot ticket type, PostgreSQL, {os.cpu_count()} cores, {args.seconds:.0f} s per run")
    for clients in args.clients:
        result = run(clients, args.seconds, args.processes, args.quantity)
        print(
            f"{clients:>4} clients: {result['rate']:7.1f} reservations/s  {result['latency']}  "
            f"outcomes {result['outcomes']}  oversold {result['oversold']} "
            f"(reserved {result['reserved']} of {result['capacity']})"
        )


if __name__ == "__main__":
    main()
