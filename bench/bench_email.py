"""Emails delivered per second by `bilten worker` (with Redis, or --in-process without) to a local SMTP sink.

    .venv/bin/python -m bench.bench_email [--welcome 300] [--orders 40] [--tickets 2] [--threads 4]
                                          [--sqlite] [--in-process] [--render-processes 2] [--batch 50]
                                          [--pgbench-seconds 10] [--pgbench-clients 20]

A fresh PostgreSQL database (or, with --sqlite, a temporary SQLite file) is filled with outbox
events; a private redis-server and an aiosmtpd sink (its own process, counting every message it
accepts by Message-ID) are started; the worker (`run_queue_worker`: batch lanes for emails plus
Dramatiq for exports, what `bilten worker` runs with REDIS_URL; or the no-Redis loop with
--in-process, rendering in --render-processes processes) runs in this process. Both send emails
the same way (batch claims, --threads lanes); the difference is the Dramatiq worker beside them. The clock runs
from the worker's start until the database shows every notification sent: dispatching, claiming,
rendering and SMTP included. Welcome emails (small HTML + text) and ticket emails (QR codes, PDF,
calendar file) are timed in separate rounds. Then the sink's count is checked against the
database (every email delivered exactly once), and pgbench's bare hot-row transaction runs on the
same database for scale (0 seconds skips it).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))

import psutil  # noqa: E402
import redis  # noqa: E402
from sqlmodel import Session, SQLModel, func, select  # noqa: E402

from bench.common import cpu_seconds, postgres_backends  # noqa: E402
from bilten.db import make_engine  # noqa: E402
from bilten.models import Notification, NotificationStatus, OutboxEvent, User  # noqa: E402
from bilten.notifications.config import DeliveryConfig  # noqa: E402
from bilten.notifications.mime import message_id  # noqa: E402
from bilten.notifications.worker import Delivery, run_in_process_worker, run_queue_worker  # noqa: E402
from bilten.settings import Settings  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.05)


def start_sink(port: int, tally: Path) -> multiprocessing.Process:
    """An aiosmtpd server in its own process that accepts every message and counts its Message-ID."""
    process = multiprocessing.get_context("spawn").Process(target=_run_sink, args=(port, str(tally)), daemon=True)
    process.start()
    wait_for(lambda: _listening(port), 20)
    return process


def stop_sink(process: multiprocessing.Process, tally: Path) -> Counter:
    """Stop the sink; returns how often each Message-ID arrived."""
    process.terminate()  # SIGTERM: the sink writes its tally and exits
    process.join(timeout=20)
    return Counter(json.loads(tally.read_text()))


def _run_sink(port: int, tally_path: str) -> None:
    import signal

    from aiosmtpd.controller import Controller

    seen: Counter = Counter()
    header = re.compile(rb"^Message-ID: *(<[^>]*>)", re.IGNORECASE | re.MULTILINE)

    class Counting:
        async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001 (aiosmtpd hook)
            head = envelope.content.split(b"\r\n\r\n", 1)[0]
            found = header.search(head)
            seen[found.group(1).decode() if found else "(none)"] += 1
            return "250 2.0.0 Accepted"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    controller.stop()
    Path(tally_path).write_text(json.dumps(seen))


def start_redis(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    wait_for(lambda: _pings(client), 10)
    return process


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def fill(engine, *, welcome: int, orders: int, tickets: int) -> None:
    from tests.factories import make_event, make_organization
    from tests.notifications_support import make_paid_order

    now = datetime.now(UTC)
    with Session(engine, expire_on_commit=False) as session:
        for n in range(welcome):
            user = User(email=f"bench{n}-{secrets.token_hex(3)}@example.org", password_hash="x", full_name="Bench")
            session.add(user)
            session.flush()
            session.add(OutboxEvent(topic="user.registered", payload={"user_id": str(user.id)}, created_at=now))
        session.commit()
        if orders:
            event = make_event(session, organization=make_organization(session, now=now), now=now, title="Bench")
            for n in range(orders):
                make_paid_order(session, event=event, now=now, tickets=tickets, email=f"buyer{n}@example.org")


def sent_count(engine) -> int:
    with Session(engine) as session:
        return session.exec(
            select(func.count()).select_from(Notification).where(Notification.status == NotificationStatus.SENT)
        ).one()


@dataclass
class Round:
    elapsed: float  # seconds, wall clock
    worker_cpu: float  # CPU seconds of this process (the worker's threads; the polling here is tiny)
    render_cpu: float  # CPU seconds of the render processes
    sink_cpu: float  # CPU seconds of the SMTP sink
    postgres_cpu: float  # CPU seconds of the PostgreSQL backends serving this benchmark's database


def run_round(
    engine, delivery: Delivery, *, redis_url: str | None, threads: int, total: int, sink_pid: int, database: str
) -> Round:
    before = sent_count(engine)
    stop = threading.Event()
    target = run_queue_worker if redis_url else run_in_process_worker
    kwargs = {"delivery": delivery, "redis_url": redis_url, "threads": threads} if redis_url else {"delivery": delivery}
    cpu_before = _cpu_seconds(sink_pid)
    postgres_before = _postgres_cpu(database)
    started = time.perf_counter()
    worker = threading.Thread(target=target, args=(stop,), kwargs=kwargs)
    worker.start()
    wait_for(lambda: sent_count(engine) >= before + total, 600)
    elapsed = time.perf_counter() - started
    stop.set()
    worker.join()
    cpu_after = _cpu_seconds(sink_pid)
    postgres = sum(seconds - postgres_before.get(pid, 0.0) for pid, seconds in _postgres_cpu(database).items())
    used = [after - before for before, after in zip(cpu_before, cpu_after, strict=True)]
    return Round(elapsed, *used, postgres)


def _cpu_seconds(sink_pid: int) -> tuple[float, float, float]:
    """(this process, its other children but the sink, the sink): user + system CPU seconds so far.
    CPU time, unlike the rate, hardly depends on what else the machine runs."""
    me = psutil.Process()
    own = me.cpu_times()
    children = sink = 0.0
    for child in me.children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        if child.pid == sink_pid:
            sink += times.user + times.system
        else:
            children += times.user + times.system
    return own.user + own.system, children, sink


def _postgres_cpu(database: str) -> dict[int, float]:
    """User + system CPU seconds of each PostgreSQL backend connected to `database` (their process
    title names it), by process id. The server's shared processes (WAL writer, checkpointer) serve
    every database and are left out; so is a backend that ends during the round (the worker's
    connections stay open)."""
    return cpu_seconds(postgres_backends(database))


def expected_message_ids(engine, mail_from: str) -> set[str]:
    with Session(engine) as session:
        keys = session.exec(select(Notification.idempotency_key)).all()
    return {message_id(key, mail_from) for key in keys}


def exactly_once_report(delivered: Counter, expected: set[str]) -> tuple[bool, str]:
    twice = sorted(key for key, count in delivered.items() if count > 1)
    missing = expected - set(delivered)
    unexpected = set(delivered) - expected
    ok = not twice and not missing and not unexpected
    detail = (
        f"{len(expected)} notifications, {sum(delivered.values())} messages accepted by the sink: "
        f"{len(twice)} delivered more than once, {len(missing)} never delivered, {len(unexpected)} unknown"
    )
    return ok, detail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--welcome", type=int, default=300)
    parser.add_argument("--orders", type=int, default=40)
    parser.add_argument("--tickets", type=int, default=2, help="tickets per order")
    parser.add_argument(
        "--threads", type=int, default=4, help="sending lanes (NOTIFY_WORKER_THREADS), and Dramatiq threads"
    )
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead of PostgreSQL")
    parser.add_argument("--in-process", action="store_true", help="the no-Redis loop (no Dramatiq worker beside it)")
    parser.add_argument(
        "--render-processes", type=int, default=0, help="NOTIFY_RENDER_PROCESSES of the in-process loop (0 = none)"
    )
    parser.add_argument("--batch", type=int, default=20, help="NOTIFY_BATCH_SIZE: emails claimed at once")
    parser.add_argument("--pgbench-seconds", type=int, default=10, help="0 skips the pgbench comparison")
    parser.add_argument("--pgbench-clients", type=int, default=20)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="bilten-bench-"))
    database_url = f"sqlite:///{scratch / 'bench.db'}" if args.sqlite else None
    if database_url is None:
        from bench.common import fresh_database

        database_url = fresh_database()
    engine = make_engine(database_url)
    SQLModel.metadata.create_all(engine)
    smtp_port, redis_port = free_port(), free_port()
    tally = scratch / "sink.json"
    sink = start_sink(smtp_port, tally)
    redis_server = None if args.in_process else start_redis(redis_port)
    redis_url = None if args.in_process else f"redis://127.0.0.1:{redis_port}/0"
    settings = Settings(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_port, SMTP_TLS=False)
    config = DeliveryConfig(
        poll_seconds=0.05,
        worker_threads=args.threads,
        batch_size=args.batch,
        render_processes=args.render_processes if args.in_process else 0,
    )
    delivery = Delivery(engine=engine, settings=settings, config=config)
    if args.in_process:
        mode = f"in-process loop (no Redis), batches of {args.batch}, {config.render_processes} render processes"
    else:
        mode = f"worker with Redis, batches of {args.batch}, {args.threads} lanes (+ Dramatiq for exports)"
    database = "SQLite" if args.sqlite else "PostgreSQL"
    delivered: Counter | None = None
    try:
        print(f"emails through {mode}, {database}, aiosmtpd sink on 127.0.0.1 ({os.cpu_count()} cores):")
        if args.in_process and config.render_processes:
            started = time.perf_counter()
            delivery.preparer  # noqa: B018 (start the render processes before the clock runs)
            print(f"  render processes started in {time.perf_counter() - started:.1f} s (not timed below)")
        for label, welcome, orders in (
            ("welcome emails", args.welcome, 0),
            (f"ticket emails ({args.tickets} tickets: QR, PDF, .ics)", 0, args.orders),
        ):
            if welcome + orders == 0:
                continue
            fill(engine, welcome=welcome, orders=orders, tickets=args.tickets)
            result = run_round(
                engine,
                delivery,
                redis_url=redis_url,
                threads=args.threads,
                total=welcome + orders,
                sink_pid=sink.pid,
                database="" if args.sqlite else engine.url.database,
            )
            count = welcome + orders
            print(f"  {label:<48} {count:>5} in {result.elapsed:6.2f} s = {count / result.elapsed:7.1f} emails/s")
            worker, render, sink_ms, postgres = (
                1000 * seconds / count
                for seconds in (result.worker_cpu, result.render_cpu, result.sink_cpu, result.postgres_cpu)
            )
            everything = worker + render + sink_ms + postgres
            print(
                f"    CPU per email: worker {worker:.1f} ms + render processes {render:.1f} ms"
                f" + PostgreSQL backends {postgres:.1f} ms + SMTP sink {sink_ms:.1f} ms = {everything:.1f} ms"
                f" (at most {1000 * (os.cpu_count() or 1) / everything:.0f} emails/s on {os.cpu_count()} free cores)"
            )
        delivery.close()
        delivered = stop_sink(sink, tally)
        ok, detail = exactly_once_report(delivered, expected_message_ids(engine, settings.mail_from))
        print(f"  exactly once: {'yes' if ok else 'NO'} ({detail})")
        if args.pgbench_seconds and not args.sqlite:
            from bench.bench_live_pages import pgbench_hot_row
            from bench.common import hot_ticket_type

            type_id = hot_ticket_type(database_url, quantity=100_000_000)
            tps = pgbench_hot_row(
                database_url, str(type_id), clients=args.pgbench_clients, seconds=args.pgbench_seconds
            )
            print(
                f"  pgbench hot-row transaction (guarded UPDATE + INSERT, {args.pgbench_clients} clients, "
                f"{args.pgbench_seconds} s, same database, after the emails): {tps:.0f}/s"
            )
        try:
            load = os.getloadavg()
            print(f"  load average at the end (1/5/15 min): {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
        except OSError:
            pass
    finally:
        delivery.close()
        if delivered is None:
            sink.terminate()
        if redis_server:
            redis_server.terminate()
        engine.dispose()
        if not args.sqlite:
            from bench.common import drop_database

            drop_database(database_url)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
