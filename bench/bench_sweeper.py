"""The sweeper under load: 100,000 holds expiring at once while sales go on over HTTP.

    .venv/bin/python -m bench.bench_sweeper                       # 100,000 holds, sales at 200/s
    .venv/bin/python -m bench.bench_sweeper --holds 20000 --rate 100 --workers 2
    .venv/bin/python -m bench.bench_sweeper --holds 20000 --sweeper web --duty 1   # as before 2026-12-04

1. starts the real backend (granian workers, PostgreSQL, Redis) with the sweep loops turning every
   second (`--sweep-interval`), and `bilten worker` (`--sweeper worker`, the default), which then
   releases the holds; with `--sweeper web` one elected web worker does (SWEEP_DUTY_CYCLE `--duty`,
   SWEEP_BATCH_SIZE `--batch`);
2. seeds `--holds` pending orders of one seat (every tenth with an open test checkout) on ONE hot
   ticket type with COPY, all expiring at the same moment T0 a few seconds ahead;
3. sells at a steady `--rate` through `POST /api/v1/orders` on the same ticket type (open loop,
   latency counted from when each order was due) from before T0 until the holds are all released;
4. prints the release time (T0 -> no expired hold left pending), the sales' p50/p95/p99 during the
   sweep and overall, the oversell check, and pgbench's bare hot-row transaction on the same
   database afterwards (the machine's PostgreSQL limit at that moment), and the CPU (psutil) of the
   web workers, the `bilten worker` and this database's PostgreSQL backends before and during the
   sweep: the sweep's own cost per hold, whatever the machine's load.
Target (issue #13, 5): released within 60 s while sales keep p95 < 100 ms at 200/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import psutil
import psycopg
import redis
from sqlalchemy.engine import make_url

from bench.bench_live_pages import pgbench_hot_row
from bench.common import cpu_seconds as common_cpu_seconds
from bench.common import (
    drop_database,
    free_port,
    freeze_gc,
    fresh_database,
    hot_ticket_type,
    percentile,
    postgres_backends,
    reserved,
    settle_database,
)
from bench.light_http import LightClient
from bench.server import REDIS_URL, start_backend, start_worker, stop
from bilten.settings import get_settings

HOLD_EMAIL_DOMAIN = "hold.bench.example.org"
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))  # before the settings are first read


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def seed_holds(url: str, type_id: str, *, holds: int, expires_at: datetime) -> None:
    """`holds` pending one-seat orders expiring at `expires_at`, written with COPY, and their seats
    taken on the counter (as `place_order` would have)."""
    now = datetime.now(UTC)
    with psycopg.connect(_libpq(url)) as connection, connection.cursor() as cursor:
        event_id = cursor.execute("SELECT event_id FROM ticket_type WHERE id = %s", (type_id,)).fetchone()[0]
        order_ids = [uuid.uuid4() for _ in range(holds)]
        with cursor.copy(
            "COPY ticket_order (id, event_id, status, buyer_email, buyer_phone, buyer_name, locale, total_minor,"
            " currency, payment_provider, payment_reference, hold_expires_at, created_at) FROM STDIN"
        ) as copy:
            for n, order_id in enumerate(order_ids):
                provider, reference = ("test", f"test_{order_id}") if n % 10 == 0 else ("", "")
                copy.write_row(
                    (
                        order_id,
                        event_id,
                        "pending",
                        f"h{n}@{HOLD_EMAIL_DOMAIN}",
                        "+49 30 1234567",
                        "",
                        "en",
                        2500,
                        "EUR",
                        provider,
                        reference,
                        expires_at,
                        now,
                    )
                )
        with cursor.copy(
            "COPY order_line (id, order_id, ticket_type_id, quantity, unit_price_minor, line_total_minor) FROM STDIN"
        ) as copy:
            for order_id in order_ids:
                copy.write_row((uuid.uuid4(), order_id, type_id, 1, 2500, 2500))
        with cursor.copy(
            "COPY payment (id, order_id, provider, provider_reference, provider_payment_id, checkout_url, status,"
            " amount_minor, currency, refunded_minor, idempotency_key, created_at, updated_at) FROM STDIN"
        ) as copy:
            for order_id in order_ids[::10]:
                payment_id = uuid.uuid4()
                copy.write_row(
                    (
                        payment_id,
                        order_id,
                        "test",
                        f"test_{order_id}",
                        "",
                        "",
                        "pending",
                        2500,
                        "EUR",
                        0,
                        str(payment_id),
                        now,
                        now,
                    )
                )
        cursor.execute("UPDATE ticket_type SET reserved = reserved + %s WHERE id = %s", (holds, type_id))
        connection.commit()


def watch_release(url: str, expires_at: datetime, total: int, done: threading.Event) -> dict:
    """Polls how many of the seeded holds are still pending; notes when the sweep began and ended.
    (A thread of its own: the load generator's event loop must not delay the clock readings.)"""
    seen: dict = {"started": None, "finished": None, "samples": []}
    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        while not done.is_set():
            left = connection.execute(
                "SELECT count(*) FROM ticket_order WHERE status = 'pending' AND hold_expires_at <= %s", (expires_at,)
            ).fetchone()[0]
            moment = time.time()
            seen["samples"].append((moment, left))
            if left < total and seen["started"] is None:
                seen["started"] = moment
            if left == 0:
                seen["finished"] = moment
                done.set()
            time.sleep(0.1)
    return seen


def cpu_seconds(roots: dict[str, subprocess.Popen | None], database: str) -> dict[str, float]:
    """CPU seconds used so far by each named process tree, and by this database's PostgreSQL
    backends (connections that closed in between are not counted: the pools keep theirs)."""
    seconds: dict[str, float] = {}
    for name, root in roots.items():
        if root is None:
            continue
        total = 0.0
        try:
            parent = psutil.Process(root.pid)
            for process in [parent, *parent.children(recursive=True)]:
                times = process.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
        except psutil.NoSuchProcess:
            pass
        seconds[name] = total
    postgres = common_cpu_seconds(postgres_backends(database))
    seconds.update({f"postgres:{pid}": value for pid, value in postgres.items()})
    return seconds


def watch_cpu(roots, database: str, moments: list[float], released: threading.Event) -> list:  # noqa: ANN001
    """CPU readings (wall moment, seconds per tree) at each of `moments` and once the holds are released."""
    readings = []
    for moment in moments:
        time.sleep(max(moment - time.time(), 0))
        readings.append((time.time(), cpu_seconds(roots, database)))
    released.wait()
    readings.append((time.time(), cpu_seconds(roots, database)))
    return readings


async def sell(
    base_url: str, type_id: str, *, rate: float, clients: int, start_at: float, stop_selling: threading.Event
) -> list:
    """`clients` keep-alive buyers, connected beforehand, together start `rate` orders per second on a
    fixed schedule from the wall-clock moment `start_at` until told to stop; returns (due wall-clock
    moment, latency ms, status) per order."""
    results: list[tuple[float, float, int]] = []
    interval = clients / rate
    connections = [LightClient(base_url) for _ in range(clients)]  # cheap for this process: see light_http
    await asyncio.gather(*(client.get("/api/v1/events") for client in connections))
    start = time.monotonic() + max(0.0, start_at - time.time())
    wall_offset = time.time() - time.monotonic()

    async def buyer(n: int) -> None:
        client = connections[n]
        due = start + interval * n / clients
        while not stop_selling.is_set():
            await asyncio.sleep(max(due - time.monotonic(), 0))
            body = {
                "items": [{"ticket_type_id": type_id, "quantity": 1}],
                "email": f"sale{n}.{len(results)}@bench.example.org",
                "phone": "+49 30 1234567",
            }
            status, _ = await client.post_json("/api/v1/orders", body)
            results.append((due + wall_offset, (time.monotonic() - due) * 1000, status))
            due += interval

    try:
        await asyncio.gather(*(buyer(n) for n in range(clients)))
    finally:
        await asyncio.gather(*(client.aclose() for client in connections))
    return results


def run(base_url: str, url: str, type_id: str, args: argparse.Namespace, expires_at: datetime, roots) -> dict:  # noqa: ANN001
    """Sales from `--lead` seconds before T0 until `--lead` seconds after the last hold was released."""
    stop_selling, released = threading.Event(), threading.Event()
    with ThreadPoolExecutor(max_workers=2) as pool:
        watcher = pool.submit(watch_release, url, expires_at, args.holds, released)
        moments = [expires_at.timestamp() - args.lead + 1, expires_at.timestamp()]
        cpu = pool.submit(watch_cpu, roots, make_url(url).database, moments, released)

        def stop_after_release() -> None:
            released.wait(args.timeout + args.lead)
            released.set()  # on a timeout too: the watcher stops
            time.sleep(args.lead)
            stop_selling.set()

        stopper = threading.Thread(target=stop_after_release, daemon=True)
        stopper.start()
        start_at = expires_at.timestamp() - args.lead
        sold = asyncio.run(
            sell(
                base_url,
                type_id,
                rate=args.rate,
                clients=args.clients,
                start_at=start_at,
                stop_selling=stop_selling,
            )
        )
        seen = watcher.result()
    return {"sales": sold, **seen, "cpu": cpu.result()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--holds", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=200, help="sales per second during the sweep")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--sweep-interval", type=int, default=1)
    parser.add_argument("--sweeper", choices=("worker", "web"), default="worker", help="run `bilten worker` or not")
    parser.add_argument("--duty", type=float, default=None, help="SWEEP_DUTY_CYCLE (default: the setting's)")
    parser.add_argument("--batch", type=int, default=None, help="SWEEP_BATCH_SIZE (default: the setting's)")
    parser.add_argument("--lead", type=float, default=10, help="seconds of sales before T0 (the baseline) and after")
    parser.add_argument("--timeout", type=float, default=180, help="give up waiting for the release after this")
    parser.add_argument("--pgbench-clients", type=int, default=50)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    args = parser.parse_args()
    for setting, value in (("SWEEP_DUTY_CYCLE", args.duty), ("SWEEP_BATCH_SIZE", args.batch)):
        if value is not None:
            os.environ[setting] = str(value)  # the backend and the worker inherit it
    get_settings.cache_clear()  # read at import time, before SECRET_KEY was set
    redis.Redis.from_url(REDIS_URL).flushdb()
    url = fresh_database()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = worker = None
    try:
        type_id = str(hot_ticket_type(url, quantity=10_000_000))
        process = start_backend(url, port, args.workers, sweep_interval=args.sweep_interval)
        if args.sweeper == "worker":
            worker = start_worker(url, port, sweep_interval=args.sweep_interval)
        seeding = time.monotonic()
        expires_at = datetime.now(UTC) + timedelta(seconds=3600)  # moved to T0 once seeded
        seed_holds(url, type_id, holds=args.holds, expires_at=expires_at)
        settle_database(url)
        seeded_in = time.monotonic() - seeding
        _warm_up(base_url, type_id)
        freeze_gc()
        t0 = datetime.now(UTC) + timedelta(seconds=args.lead + 10)  # after the vacuum and the connecting
        _move_expiry(url, expires_at, t0)
        result = run(base_url, url, type_id, args, t0, {"web": process, "worker": worker})
        stop(process)  # no request in flight while counting
        process = None
        if worker:
            stop(worker)
            worker = None
        counter, in_lines, capacity = reserved(url, type_id)
        try:
            pgbench_tps = pgbench_hot_row(url, type_id, clients=args.pgbench_clients, seconds=args.pgbench_seconds)
        except subprocess.CalledProcessError as exc:  # e.g. no connections left: the figures above still count
            print(f"pgbench failed: {(exc.stderr or '').strip()[-300:]}", file=sys.stderr)
            pgbench_tps = None
    finally:
        for running in (process, worker):
            if running:
                stop(running)
        drop_database(url)
        redis.Redis.from_url(REDIS_URL).flushdb()
    report(args, result, t0, seeded_in, counter, in_lines, capacity, pgbench_tps)


def _warm_up(base_url: str, type_id: str) -> None:
    stop_selling = threading.Event()
    threading.Timer(2, stop_selling.set).start()
    asyncio.run(sell(base_url, type_id, rate=20, clients=5, start_at=time.time(), stop_selling=stop_selling))


def _move_expiry(url: str, seeded: datetime, t0: datetime) -> None:
    """All seeded holds expire at T0 (one UPDATE before the sales start, then a vacuum: the
    measurement does not meet this rewrite's dead rows)."""
    with psycopg.connect(_libpq(url)) as connection:
        connection.execute(
            "UPDATE ticket_order SET hold_expires_at = %s WHERE status = 'pending' AND hold_expires_at = %s",
            (t0, seeded),
        )
        connection.commit()
    settle_database(url)


def report(args, result, t0, seeded_in, counter, in_lines, capacity, pgbench_tps) -> None:  # noqa: ANN001
    sales = result["sales"]
    if not sales:
        raise SystemExit("no sales were made")
    t0_wall = t0.timestamp()
    finished = result["finished"]
    window_end = finished or (t0_wall + args.timeout)
    during = [latency for due, latency, _ in sales if t0_wall <= due <= window_end]
    before = [latency for due, latency, _ in sales if due < t0_wall]
    everything = [latency for _, latency, _ in sales]
    statuses: dict[int, int] = {}
    for _, _, status in sales:
        statuses[status] = statuses.get(status, 0) + 1
    span = (max(due for due, _, _ in sales) - min(due for due, _, _ in sales)) if sales else 0
    created = statuses.get(201, 0)
    oversold = max(counter - capacity, 0) + abs(counter - in_lines)
    release = f"within {finished - t0_wall:.1f} s" if finished else f"NOT within {args.timeout:.0f} s"
    began = f"{result['started'] - t0_wall:.1f} s" if result["started"] else "never"
    where = "bilten worker" if args.sweeper == "worker" else "one elected web worker"
    print(
        f"sweeper under load: {args.holds:,} holds expiring at once on one hot ticket type, {args.workers} granian "
        f"workers + Redis, sweep by {where} every {args.sweep_interval} s (duty {os.environ.get('SWEEP_DUTY_CYCLE', 'default')}, "
        f"batch {os.environ.get('SWEEP_BATCH_SIZE', 'default')}), {os.cpu_count()} cores; seeded in {seeded_in:.1f} s; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"  released: all {args.holds:,} {release} of T0 (first release {began} after T0)")
    by_60 = [left for moment, left in result["samples"] if moment <= t0_wall + 60]
    if by_60:
        print(f"  released within 60 s of T0: {args.holds - by_60[-1]:,} of {args.holds:,}")
    if finished:
        print(f"  release rate: {args.holds / max(finished - t0_wall, 1e-9):,.0f} holds/s")
    print(
        f"  sales at {args.rate:.0f}/s during the sweep ({len(during)} orders): p50 {percentile(during, 0.5):.1f} ms  "
        f"p95 {percentile(during, 0.95):.1f} ms  p99 {percentile(during, 0.99):.1f} ms  (target p95 < 100 ms)"
    )
    print(
        f"  sales before T0, no sweep ({len(before)} orders): p50 {percentile(before, 0.5):.1f} ms  "
        f"p95 {percentile(before, 0.95):.1f} ms  p99 {percentile(before, 0.99):.1f} ms"
    )
    print(
        f"  sales overall ({len(everything)} orders, {created / span if span else 0:.1f}/s achieved): "
        f"p50 {percentile(everything, 0.5):.1f} ms  p95 {percentile(everything, 0.95):.1f} ms  answers {statuses}"
    )
    print(f"  oversold: {oversold} (counter {counter}, seats in live orders {in_lines}, quantity {capacity})")
    _report_cpu(result["cpu"], args.holds, finished is not None)
    pgbench = f"{pgbench_tps:.0f}/s" if pgbench_tps is not None else "failed (see above)"
    print(f"  pgbench bare hot-row transaction, same database, {args.pgbench_clients} clients: {pgbench}")
    sys.stdout.flush()


def _report_cpu(readings: list, holds: int, finished: bool) -> None:
    """Cores used before T0 (sales only) and during the sweep, and the difference per hold."""
    (t_start, start), (t_zero, zero), (t_end, end) = readings

    def used(later: dict, earlier: dict, seconds: float) -> dict[str, float]:
        cores: dict[str, float] = defaultdict(float)
        for name, value in later.items():  # a backend that closed in between is not counted
            cores[name.split(":")[0]] += (value - earlier.get(name, 0.0)) / max(seconds, 1e-9)
        return cores

    before, during = used(zero, start, t_zero - t_start), used(end, zero, t_end - t_zero)
    print(
        "  CPU (cores) before T0: "
        + ", ".join(f"{name} {value:.2f}" for name, value in before.items())
        + "; during the sweep: "
        + ", ".join(f"{name} {value:.2f}" for name, value in during.items())
    )
    if finished:
        extra = sum(during.values()) - sum(before.values())
        print(
            f"  the sweep's extra CPU: {extra * (t_end - t_zero) * 1000 / holds:.3f} ms per hold (all processes above)"
        )


if __name__ == "__main__":
    main()
