"""Shared set-up for the benchmarks: a fresh PostgreSQL database with one hot ticket type."""

from __future__ import annotations

import gc
import os
import re
import secrets
import socket
import statistics
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

# A throw-away signing key for the servers and the seeding, set before any bilten module reads the
# settings (they are read once per process).
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))

import psutil
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from alembic import command
from bilten import ratelimit
from bilten.cli import alembic_config
from bilten.db import make_engine
from bilten.models import Event, EventStatus, Organization, TicketType
from bilten.services.ticket_codes import generate_event_keys

ROOT = Path(__file__).resolve().parent.parent
# Benchmarks sell paid tickets with test payments, in this process and in the servers they start.
os.environ.setdefault("PAYMENT_PROVIDER", "test")
# The load comes from one address and a few accounts: the rate limits stay on (their Redis check is
# part of each request's cost) but so high that they never refuse a benchmark's traffic.
for _setting in ratelimit.setting_names():
    os.environ.setdefault(_setting, "100000000/minute")
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres")


def fresh_database() -> str:
    name = f"bilten_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    command.upgrade(alembic_config(url), "head")
    return url


def freeze_gc() -> None:
    """Keep the objects made so far (imports, ticket codes, clients) out of the garbage collector's
    full passes: a load generator that stalls 100 ms to collect would charge its own pause to the
    server's latency. (The web app does the same for its own objects at startup.)"""
    gc.collect()
    gc.freeze()


def settle_database(url: str) -> None:
    """After loading test data: vacuum, analyze and checkpoint, so the measurement does not meet the
    load's own aftermath (autovacuum, a checkpoint writing the new pages) half-way through."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("VACUUM ANALYZE"))
        connection.execute(text("CHECKPOINT"))
    engine.dispose()


def drop_database(url: str) -> None:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def hot_ticket_type(url: str, *, quantity: int, max_per_order: int = 10) -> uuid.UUID:
    now = datetime.now(UTC)
    engine = make_engine(url)
    with Session(engine) as session:
        org = Organization(name="Bench", slug=f"bench-{uuid.uuid4().hex[:6]}")
        session.add(org)
        session.flush()
        keys = generate_event_keys()
        event = Event(
            organization_id=org.id,
            title="Hot show",
            slug="hot-show",
            status=EventStatus.PUBLISHED,
            timezone="UTC",
            starts_at=now + timedelta(days=30),
            ends_at=now + timedelta(days=30, hours=3),
            signing_public_key=keys.public_key,
            signing_private_key_sealed=keys.encrypted_private_key,
        )
        session.add(event)
        session.flush()
        ticket_type = TicketType(
            event_id=event.id,
            name="General",
            price_minor=2500,
            currency="EUR",
            quantity=quantity,
            max_per_order=max_per_order,
        )
        session.add(ticket_type)
        session.commit()
        type_id = ticket_type.id
    engine.dispose()
    return type_id


def reserved(url: str, type_id: uuid.UUID) -> tuple[int, int, int]:
    """(reserved counter, seats in order lines of live orders, quantity) for the oversell check,
    read in one statement (one snapshot) once the load has stopped."""
    engine = make_engine(url)
    with engine.connect() as connection:
        counter, lines, quantity = connection.execute(
            text(
                "SELECT t.reserved, (SELECT coalesce(sum(l.quantity), 0) FROM order_line l "
                "JOIN ticket_order o ON o.id = l.order_id "
                "WHERE l.ticket_type_id = t.id AND o.status IN ('pending', 'paid')), t.quantity "
                "FROM ticket_type t WHERE t.id = :id"
            ),
            {"id": type_id},
        ).one()
    engine.dispose()
    return counter, lines, quantity


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)]


def summary(latencies_ms: list[float]) -> str:
    return (
        f"p50 {percentile(latencies_ms, 0.50):.1f} ms  p95 {percentile(latencies_ms, 0.95):.1f} ms  "
        f"p99 {percentile(latencies_ms, 0.99):.1f} ms  mean {statistics.fmean(latencies_ms):.1f} ms"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_backends(database: str) -> list[psutil.Process]:
    """PostgreSQL's backends connected to `database` (their process title names it). The server's
    shared processes (WAL writer, checkpointer) serve every database and are left out."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        title = " ".join(process.info["cmdline"] or ())
        if database and title.startswith("postgres:") and f" {database} " in title:
            found.append(process)
    return found


def cpu_seconds(processes: list[psutil.Process]) -> dict[int, float]:
    """User + system CPU seconds of each process still running, by process id."""
    seconds = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        seconds[process.pid] = times.user + times.system
    return seconds


def orders_per_commit(port: int) -> tuple[float, float]:
    """Orders placed in shared transactions, and those transactions, so far (all workers): the
    server's `bilten_orders_per_commit` histogram's sum and count."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/metrics", timeout=10).read().decode()
    values = {}
    for name in ("sum", "count"):
        found = re.search(rf"^bilten_orders_per_commit_{name} ([\d.e+]+)$", text, re.MULTILINE)
        values[name] = float(found.group(1)) if found else 0.0
    return values["sum"], values["count"]
