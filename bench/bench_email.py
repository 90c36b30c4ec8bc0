"""Emails delivered per second through the Redis queue (Dramatiq) to a local SMTP sink.

    .venv/bin/python -m bench.bench_email [--welcome 300] [--orders 40] [--tickets 2] [--threads 4]
                                          [--sqlite] [--in-process]

A fresh PostgreSQL database (or, with --sqlite, a temporary SQLite file) is filled with outbox
events; a private redis-server and an aiosmtpd sink (its own process) are started; the worker
(`run_queue_worker`, or the no-Redis loop with --in-process) runs in this process. The clock runs
from the worker's start until the database shows every notification sent: dispatching, queueing,
rendering and SMTP included. Welcome emails (small HTML + text) and ticket emails (QR codes, PDF,
calendar file) are timed in separate rounds.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))

import redis  # noqa: E402
from sqlmodel import Session, SQLModel, func, select  # noqa: E402

from bilten.db import make_engine  # noqa: E402
from bilten.models import Notification, NotificationStatus, OutboxEvent, User  # noqa: E402
from bilten.notifications.config import DeliveryConfig  # noqa: E402
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


def start_sink(port: int) -> subprocess.Popen:
    """aiosmtpd's own command line with its Sink handler: accepts and discards every message."""
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: _listening(port), 10)
    return process


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


def run_round(engine, delivery: Delivery, *, redis_url: str | None, threads: int, total: int) -> float:
    before = sent_count(engine)
    stop = threading.Event()
    target = run_queue_worker if redis_url else run_in_process_worker
    kwargs = {"delivery": delivery, "redis_url": redis_url, "threads": threads} if redis_url else {"delivery": delivery}
    started = time.perf_counter()
    worker = threading.Thread(target=target, args=(stop,), kwargs=kwargs)
    worker.start()
    wait_for(lambda: sent_count(engine) >= before + total, 600)
    elapsed = time.perf_counter() - started
    stop.set()
    worker.join()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--welcome", type=int, default=300)
    parser.add_argument("--orders", type=int, default=40)
    parser.add_argument("--tickets", type=int, default=2, help="tickets per order")
    parser.add_argument("--threads", type=int, default=4, help="Dramatiq worker threads")
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead of PostgreSQL")
    parser.add_argument("--in-process", action="store_true", help="the no-Redis loop instead of the queue")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="bilten-bench-"))
    database_url = f"sqlite:///{scratch / 'bench.db'}" if args.sqlite else None
    if database_url is None:
        from bench.common import fresh_database

        database_url = fresh_database()
    engine = make_engine(database_url)
    SQLModel.metadata.create_all(engine)
    smtp_port, redis_port = free_port(), free_port()
    sink = start_sink(smtp_port)
    redis_server = None if args.in_process else start_redis(redis_port)
    redis_url = None if args.in_process else f"redis://127.0.0.1:{redis_port}/0"
    settings = Settings(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_port, SMTP_TLS=False)
    delivery = Delivery(
        engine=engine,
        settings=settings,
        config=DeliveryConfig(poll_seconds=0.05, requeue_seconds=60, worker_threads=args.threads),
    )
    mode = "in-process loop (no Redis)" if args.in_process else f"Redis queue, Dramatiq {args.threads} threads"
    database = "SQLite" if args.sqlite else "PostgreSQL"
    try:
        print(f"emails through {mode}, {database}, aiosmtpd sink on 127.0.0.1 ({os.cpu_count()} cores):")
        for label, welcome, orders in (
            ("welcome emails", args.welcome, 0),
            (f"ticket emails ({args.tickets} tickets: QR, PDF, .ics)", 0, args.orders),
        ):
            if welcome + orders == 0:
                continue
            fill(engine, welcome=welcome, orders=orders, tickets=args.tickets)
            elapsed = run_round(engine, delivery, redis_url=redis_url, threads=args.threads, total=welcome + orders)
            count = welcome + orders
            print(f"  {label:<48} {count:>5} in {elapsed:6.2f} s = {count / elapsed:7.1f} emails/s")
    finally:
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
