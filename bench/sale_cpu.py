"""The app's own work per sale, without a server or a load generator: `POST /api/v1/orders` through
the API's ASGI app in this process, on a fresh PostgreSQL database (Redis rate limits on), one at a
time or `--concurrency N` at once (they then share commits, services/orders/placing.py).

    .venv/bin/python -m bench.sale_cpu [--sales 100] [--rounds 6] [--src DIR] [--full-stack]
        [--concurrency N] [--profile FILE]

Prints the process CPU per sale (the minimum and median of `--rounds` rounds: on a shared machine
the minimum is the least disturbed) and the Python function calls per sale on the event loop and on
the endpoint threads (cProfile): a count that does not depend on the machine's load, to compare
versions of the sale path (`--src` a `git archive` of another version). Not granian; Reflex's own
layers only with `--full-stack`: bench_sellout measures the whole server. `--profile FILE` keeps
the cProfile stats (FILE.loop, FILE.thread) for `python -m pstats`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=int, default=100, help="sales per round")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument(
        "--concurrency", type=int, default=1, help="sales in flight at once (more than 1: they share commits)"
    )
    parser.add_argument("--profile", type=Path, default=None, help="write the cProfile stats to FILE.loop/.thread")
    parser.add_argument("--src", type=Path, default=None, help="the source tree to import (default: this one)")
    parser.add_argument(
        "--full-stack",
        action="store_true",
        help="through the ASGI app granian serves (Reflex's Starlette, CORS, context, then the API)",
    )
    args = parser.parse_args()
    if args.src is not None:
        sys.path.insert(0, str(args.src.resolve()))
        for name in [name for name in sys.modules if name == "bilten" or name.startswith("bilten.")]:
            del sys.modules[name]
    os.environ.setdefault("SECRET_KEY", "bench-sale-cpu-" + "x" * 40)
    os.environ.setdefault("PAYMENT_PROVIDER", "test")
    from bench.common import drop_database, fresh_database, hot_ticket_type
    from bilten.db import get_engine
    from bilten.settings import get_settings

    url = fresh_database()
    os.environ.update(DATABASE_URL=url, REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        type_id = str(hot_ticket_type(url, quantity=10_000_000))
        asyncio.run(
            _measure(
                type_id,
                args.sales,
                args.rounds,
                full_stack=args.full_stack,
                concurrency=args.concurrency,
                profile_to=args.profile,
            )
        )
    finally:
        from bilten.services.orders import wait_for_pending_publishes

        wait_for_pending_publishes()
        get_engine().dispose()
        drop_database(url)


async def _measure(
    type_id: str,
    sales: int,
    rounds: int,
    *,
    full_stack: bool = False,
    concurrency: int = 1,
    profile_to: Path | None = None,
) -> None:
    import anyio.to_thread

    from bilten.api import api

    if full_stack:  # what `reflex run --env prod --backend-only` gives granian (pages not compiled)
        from bilten.bilten import app

        app._compile = lambda *args, **kwargs: None  # the pages are not needed to sell
        api = app()

    thread_profile = cProfile.Profile()
    run_sync = anyio.to_thread.run_sync

    async def profiled_run_sync(function: Any, *args: Any, **kwargs: Any) -> Any:
        def profiled(*inner: Any) -> Any:
            thread_profile.enable()
            try:
                return function(*inner)
            finally:
                thread_profile.disable()

        return await run_sync(profiled, *args, **kwargs)

    async def sale(n: int) -> int:
        body = json.dumps(
            {
                "items": [{"ticket_type_id": type_id, "quantity": 1}],
                "email": f"b{n}@bench.example.org",
                "phone": "+49 30 1234567",
            }
        ).encode()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/api/v1/orders",
            "raw_path": b"/api/v1/orders",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")]
            + [(b"content-length", str(len(body)).encode())],
            "client": (f"127.0.{n % 250}.1", 40000),
            "server": ("127.0.0.1", 80),
        }
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        statuses = []

        async def receive() -> dict:
            if messages:
                return messages.pop()
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await api(scope, receive, send)
        return statuses[0]

    async def sell(numbers: range) -> None:
        """These sales, `concurrency` at a time."""
        for first in range(numbers.start, numbers.stop, concurrency):
            batch = range(first, min(first + concurrency, numbers.stop))
            assert set(await asyncio.gather(*(sale(n) for n in batch))) == {201}

    await sell(range(30))  # warm-up: imports, pools, statement caches
    results = []
    for round_number in range(rounds):
        started, cpu = time.perf_counter(), time.process_time()
        await sell(range(1000 + round_number * sales, 1000 + (round_number + 1) * sales))
        results.append(((time.process_time() - cpu) * 1000 / sales, (time.perf_counter() - started) * 1000 / sales))
    cpu_times = sorted(cpu for cpu, _ in results)
    print(
        f"{sales} sales x {rounds} rounds: process CPU per sale min {cpu_times[0]:.2f} ms, median "
        f"{cpu_times[len(cpu_times) // 2]:.2f} ms (wall min {min(wall for _, wall in results):.2f} ms)"
    )
    loop_profile = cProfile.Profile()
    anyio.to_thread.run_sync = profiled_run_sync
    loop_profile.enable()
    await sell(range(100_000, 100_000 + sales))
    loop_profile.disable()
    anyio.to_thread.run_sync = run_sync
    if profile_to is not None:  # for `python -m pstats FILE.loop` / `FILE.thread`
        thread_profile.dump_stats(f"{profile_to}.thread")
        loop_profile.dump_stats(f"{profile_to}.loop")
    loop_calls = pstats.Stats(loop_profile).total_calls / sales
    thread_calls = pstats.Stats(thread_profile).total_calls / sales
    print(
        f"Python function calls per sale: {loop_calls + thread_calls:.0f} "
        f"(event loop {loop_calls:.0f}, endpoint thread {thread_calls:.0f})"
    )


if __name__ == "__main__":
    main()
