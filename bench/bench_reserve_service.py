"""Reservations per second on ONE hot ticket type, through the service (`place_order`), on PostgreSQL.

    .venv/bin/python -m bench.bench_reserve_service [--seconds 10] [--clients 50 200] [--processes 2]

Each client is a thread, spread over worker processes (default 4: a process with 100 client threads
spends its time handing the GIL around, which the web app, with 5 threads per worker, never does);
each process
has a pool of database connections (`--connections` in all, default 20: like the web app's pool,
where more connections only make more backends queue on the hot row inside PostgreSQL).
Two measurements per client count, each with the oversell check:
1. capacity (closed loop): every client buys again as soon as it has its answer -> reservations per
   second, p50/p95/p99. Latency here is mostly queueing: with N clients always waiting, mean latency
   is N / throughput (Little's law), e.g. 200 clients at 500/s wait 400 ms on average by construction;
2. the promise (open loop, `--rate`, default 500/s): the N clients together start a reservation at
   a steady total rate, each on its own schedule, and latency counts from when the reservation was due
   (a slow answer cannot hide the ones queued behind it) -> p50/p95/p99 at that rate. Target: p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import threading
import time
from collections import deque
from datetime import UTC, datetime

from bench.common import drop_database, freeze_gc, fresh_database, hot_ticket_type, reserved, summary


def run(
    clients: int, seconds: float, processes: int, quantity: int, connections: int, rate: float | None = None
) -> dict:
    url = fresh_database()
    try:
        type_id = hot_ticket_type(url, quantity=quantity, max_per_order=10)
        results = multiprocessing.Queue()
        connections = min(clients, connections)
        per_process = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
        threads_per_process = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
        start_at = time.time() + 2
        workers = []
        for i in range(processes):
            # Threads beyond the connection budget wait for a pooled connection, like real clients queueing.
            workers.append(
                multiprocessing.Process(
                    target=_client_process,
                    args=(
                        url,
                        type_id,
                        clients,
                        sum(threads_per_process[:i]),
                        threads_per_process[i],
                        per_process[i],
                        seconds,
                        start_at,
                        rate,
                        results,
                    ),
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


class FairGate:
    """First come, first served admission to the connection pool, as the web app's request queue
    gives (SQLAlchemy's pool alone lets a thread that just returned a connection take it straight
    back, so a few clients would starve for seconds: a property of this harness, not of the service)."""

    def __init__(self, slots: int) -> None:
        self._free = slots
        self._waiters: deque[threading.Event] = deque()
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                return
            turn = threading.Event()
            self._waiters.append(turn)
        turn.wait()

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().set()  # the slot goes straight to the longest waiting client
            else:
                self._free += 1


def _client_process(  # noqa: ANN001, PLR0913
    url, type_id, all_clients, first_client, clients, connections, seconds, start_at, rate, results
) -> None:
    os.environ["DATABASE_URL"] = url
    from sqlalchemy.pool import QueuePool
    from sqlmodel import Session

    from bilten.db import make_engine
    from bilten.services import orders
    from bilten.services.errors import SoldOut, TryAgain

    freeze_gc()  # as the web app does once it has started
    engine = make_engine(url)
    engine.pool = QueuePool(engine.pool._creator, pool_size=connections, max_overflow=0, timeout=60)
    latencies, outcomes, lock = [], {"ok": 0, "sold_out": 0, "try_again": 0}, threading.Lock()
    gate = FairGate(connections)

    def client(n: int) -> None:
        time.sleep(max(start_at - time.time(), 0))
        deadline = start_at + seconds
        # Open loop: this client's reservations are due every `interval`, staggered among all clients.
        interval = all_clients / rate if rate else 0.0
        due = time.perf_counter() + interval * (first_client + n) / all_clients
        i = 0
        while time.time() < deadline:
            i += 1
            if rate:
                time.sleep(max(due - time.perf_counter(), 0))
            began = due if rate else time.perf_counter()
            due += interval
            with gate, Session(engine, expire_on_commit=False) as session:  # a pooled connection per attempt
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
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--quantity", type=int, default=1_000_000, help="seats on the hot type")
    parser.add_argument("--connections", type=int, default=20, help="database connections, all processes together")
    parser.add_argument("--rate", type=float, default=500, help="reservations per second for the open-loop run")
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))  # signing keys of the bench event
    print(
        f"place_order on one hot ticket type, PostgreSQL, {os.cpu_count()} cores, {args.processes} processes, "
        f"{args.connections} connections, {args.seconds:.0f} s per run"
    )
    for clients in args.clients:
        result = run(clients, args.seconds, args.processes, args.quantity, args.connections)
        print(
            f"capacity {clients:>4} clients: {result['rate']:7.1f} reservations/s  {result['latency']}  "
            f"outcomes {result['outcomes']}  oversold {result['oversold']} "
            f"(reserved {result['reserved']} of {result['capacity']})"
        )
    for clients in args.clients:
        result = run(clients, args.seconds, args.processes, args.quantity, args.connections, rate=args.rate)
        print(
            f"steady {args.rate:.0f}/s {clients:>4} clients: {result['rate']:7.1f} reservations/s  "
            f"{result['latency']}  outcomes {result['outcomes']}  oversold {result['oversold']} "
            f"(reserved {result['reserved']} of {result['capacity']})"
        )


if __name__ == "__main__":
    main()
