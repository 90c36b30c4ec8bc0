"""Background export of 20,000 attendees on PostgreSQL: time and peak memory, CSV and XLSX.

Fills a fresh database with one event of 20,000 tickets (10,000 orders of two, a quarter checked
in), then runs `services.exports.run_export` for attendees and orders in both formats, each in a
fresh child process so its peak resident memory (ru_maxrss) is its own. A second child per case
runs with tracemalloc for the peak of Python allocations (tracemalloc slows it down, so the time
comes from the first child).

    .venv/bin/python -m bench.bench_export [--tickets 20000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import secrets
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import Session

from bench.common import drop_database, fresh_database
from bilten.db import make_engine
from bilten.models import (
    CheckIn,
    CheckInResult,
    Event,
    EventStatus,
    Membership,
    Order,
    OrderLine,
    OrderStatus,
    Organization,
    Role,
    TeamRole,
    Ticket,
    TicketType,
    User,
)
from bilten.services import exports
from bilten.services.ticket_codes import generate_event_keys

BATCH = 2000


def seed(url: str, tickets: int) -> tuple[uuid.UUID, uuid.UUID]:
    """One event with `tickets` paid tickets (two per order); returns (event id, owner id)."""
    now = datetime.now(UTC)
    engine = make_engine(url)
    with Session(engine) as session:
        owner = User(email=f"owner-{secrets.token_hex(3)}@example.org", password_hash="-", role=Role.ORGANIZER)
        org = Organization(name="Bench", slug=f"bench-{secrets.token_hex(3)}")
        session.add_all([owner, org])
        session.flush()
        session.add(Membership(organization_id=org.id, user_id=owner.id, team_role=TeamRole.OWNER))
        keys = generate_event_keys()
        event = Event(
            organization_id=org.id,
            title="Export bench",
            slug="export-bench",
            status=EventStatus.PUBLISHED,
            timezone="Europe/Berlin",
            starts_at=now + timedelta(days=30),
            ends_at=now + timedelta(days=30, hours=3),
            signing_public_key=keys.public_key,
            signing_private_key_sealed=keys.encrypted_private_key,
        )
        session.add(event)
        session.flush()
        ticket_type = TicketType(
            event_id=event.id, name="General", price_minor=2500, quantity=tickets, reserved=tickets
        )
        session.add(ticket_type)
        session.commit()
        event_id, owner_id, type_id = event.id, owner.id, ticket_type.id

    with engine.begin() as connection:
        orders, lines, issued, scans = [], [], [], []
        for n in range(tickets // 2):
            order_id, line_id = uuid.uuid4(), uuid.uuid4()
            orders.append(
                {
                    "id": order_id,
                    "event_id": event_id,
                    "status": OrderStatus.PAID.value,
                    "buyer_email": f"buyer{n}@example.org",
                    "buyer_phone": "+49 30 1234567",
                    "buyer_name": f"Buyer Number {n}",
                    "locale": "en",
                    "total_minor": 5000,
                    "currency": "EUR",
                    "payment_provider": "test",
                    "payment_reference": "",
                    "created_at": now,
                    "paid_at": now,
                }
            )
            lines.append(
                {
                    "id": line_id,
                    "order_id": order_id,
                    "ticket_type_id": type_id,
                    "quantity": 2,
                    "unit_price_minor": 2500,
                    "line_total_minor": 5000,
                }
            )
            for seat in range(2):
                ticket_id = uuid.uuid4()
                issued.append(
                    {
                        "id": ticket_id,
                        "order_id": order_id,
                        "order_line_id": line_id,
                        "event_id": event_id,
                        "ticket_type_id": type_id,
                        "code": f"BENCH{ticket_id.hex.upper()}",
                        "holder_name": f"Holder {n}-{seat}",
                        "status": "valid",
                        "issued_at": now,
                    }
                )
                if (2 * n + seat) % 4 == 0:
                    scans.append(
                        {
                            "id": uuid.uuid4(),
                            "event_id": event_id,
                            "ticket_id": ticket_id,
                            "gate": "North",
                            "scanned_at": now,
                            "received_at": now,
                            "result": CheckInResult.VALID.value,
                            "nonce": uuid.uuid4().hex,
                        }
                    )
        for table, rows in ((Order, orders), (OrderLine, lines), (Ticket, issued), (CheckIn, scans)):
            for start in range(0, len(rows), BATCH):
                connection.execute(insert(table), rows[start : start + BATCH])
    engine.dispose()
    return event_id, owner_id


def _run(url: str, export_dir: str, event_id: uuid.UUID, owner_id: uuid.UUID, kind: str, fmt: str, traced: bool, out):
    """One export in this (child) process: reports seconds, ru_maxrss (KiB) and the traced peak."""
    os.environ["DATABASE_URL"] = url
    os.environ["EXPORT_DIR"] = export_dir
    engine = make_engine(url)
    with Session(engine) as session:
        owner = session.get(User, owner_id)
        job = exports.request_export(
            session, actor=owner, event_id=event_id, kind=kind, file_format=fmt, now=datetime.now(UTC)
        )
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    status = exports.run_export(job.id, engine=engine)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    size = (Path(export_dir) / f"{job.id}.{fmt}").stat().st_size if status == "done" else 0
    out.put((str(status), seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, peak, size, job.rows_total))
    engine.dispose()


def measure(url, export_dir, event_id, owner_id, kind, fmt, traced):  # noqa: ANN001, ANN201
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    child = context.Process(target=_run, args=(url, export_dir, event_id, owner_id, kind, fmt, traced, out))
    child.start()
    result = out.get(timeout=600)
    child.join()
    return result


def baseline_rss() -> int:
    """ru_maxrss of a child that only imports the app and connects (what every export starts from)."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    child = context.Process(target=_baseline, args=(out,))
    child.start()
    value = out.get(timeout=120)
    child.join()
    return value


def _baseline(out) -> None:  # noqa: ANN001
    import bilten.services.exports  # noqa: F401 - the same imports as an export

    out.put(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=20_000)
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    url = fresh_database()
    export_dir = tempfile.mkdtemp(prefix="bilten-exports-")
    try:
        started = time.perf_counter()
        event_id, owner_id = seed(url, args.tickets)
        print(f"seeded {args.tickets:,} tickets in {time.perf_counter() - started:.1f} s")
        print(f"baseline process (imports + nothing else): ru_maxrss {baseline_rss() / 1024:.0f} MiB")
        print("| export | rows | time | rows/s | file | peak RSS (ru_maxrss) | tracemalloc peak |")
        print("|---|---|---|---|---|---|---|")
        for kind in ("attendees", "orders"):
            for fmt in ("csv", "xlsx"):
                status, seconds, rss_kib, _, size, rows = measure(url, export_dir, event_id, owner_id, kind, fmt, False)
                _, _, _, peak, _, _ = measure(url, export_dir, event_id, owner_id, kind, fmt, True)
                assert status == "done", status
                print(
                    f"| {kind} {fmt.upper()} | {rows:,} | {seconds:.2f} s | {rows / seconds:,.0f} | "
                    f"{size / 1024 / 1024:.1f} MiB | {rss_kib / 1024:.0f} MiB | {peak / 1024 / 1024:.1f} MiB |"
                )
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
