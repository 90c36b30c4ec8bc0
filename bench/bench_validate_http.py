"""Door validations through `POST /api/v1/orders/validate`, on PostgreSQL + Redis.

    .venv/bin/python -m bench.bench_validate_http [--tickets 20000] [--seconds 10] [--scanners 20 100]

Two measurements against the real backend (`reflex run --env prod --backend-only`):
1. capacity: wrk keeps N scanners busy back to back -> validations per second, p50/p95/p99;
2. the door's promise: N scanners together send 100 scans per second at a steady pace (open loop:
   latency counts from when the scan was due, so a slow answer cannot hide the ones queued behind it)
   -> p50/p95/p99 at 100 scans/s. Target: p99 under 50 ms.
Codes are real signed tickets; about a third of the scans repeat a ticket (already used).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlmodel import Session

from bench.common import ROOT, drop_database, free_port, freeze_gc, fresh_database, percentile, settle_database
from bench.server import start_backend, stop

STAFF_EMAIL = "door@bench.example.org"
STAFF_PASSWORD = "Door-staff-2026"


def make_tickets(url: str, count: int) -> tuple[uuid.UUID, list[str]]:
    """An event with `count` paid tickets and a staff member assigned to it; returns the codes."""
    from bilten.db import make_engine
    from bilten.models import (
        Event,
        EventStatus,
        Order,
        OrderLine,
        OrderStatus,
        Organization,
        Role,
        StaffAssignment,
        Ticket,
        TicketType,
        User,
    )
    from bilten.services.security import hash_password
    from bilten.services.ticket_codes import generate_event_keys, load_private_key, sign_ticket_code
    from bilten.services.ticket_references import generate_reference

    now = datetime.now(UTC)
    engine = make_engine(url)
    with Session(engine) as session:
        org = Organization(name="Bench", slug="bench")
        keys = generate_event_keys()
        session.add(org)
        session.flush()
        event = Event(
            organization_id=org.id,
            title="Door bench",
            slug="door-bench",
            status=EventStatus.PUBLISHED,
            timezone="UTC",
            starts_at=now,
            ends_at=now + timedelta(hours=6),
            signing_public_key=keys.public_key,
            signing_private_key_sealed=keys.encrypted_private_key,
        )
        session.add(event)
        session.flush()
        ticket_type = TicketType(event_id=event.id, name="Entry", quantity=count, reserved=count, max_per_order=count)
        staff = User(email=STAFF_EMAIL, password_hash=hash_password(STAFF_PASSWORD), role=Role.STAFF)
        session.add_all([ticket_type, staff])
        session.flush()
        session.add(StaffAssignment(event_id=event.id, user_id=staff.id, gate="Main"))
        order = Order(
            event_id=event.id,
            status=OrderStatus.PAID,
            buyer_email="fans@bench.example.org",
            currency="EUR",
            total_minor=0,
            paid_at=now,
        )
        session.add(order)
        session.flush()
        line = OrderLine(
            order_id=order.id, ticket_type_id=ticket_type.id, quantity=count, unit_price_minor=0, line_total_minor=0
        )
        session.add(line)
        session.flush()
        signer = load_private_key(keys.encrypted_private_key)
        codes = []
        for n in range(count):
            ticket_id = uuid.uuid4()
            code = sign_ticket_code(signer, event_id=event.id, ticket_id=ticket_id)
            codes.append(code)
            session.add(
                Ticket(
                    id=ticket_id,
                    order_id=order.id,
                    order_line_id=line.id,
                    event_id=event.id,
                    ticket_type_id=ticket_type.id,
                    code=code,
                    reference=generate_reference(),
                    holder_name=f"Guest {n}",
                )
            )
        session.commit()
        event_id = event.id
    engine.dispose()
    return event_id, codes


def device_token(port: int) -> str:
    response = httpx.post(
        f"http://127.0.0.1:{port}/api/v1/devices",
        json={"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "name": "bench"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["device_token"]


def capacity(port: int, scanners: int, seconds: int, event_id: uuid.UUID, token: str, codes_file: str) -> dict:
    output = subprocess.run(
        [
            "wrk",
            "-t",
            "2",
            "-c",
            str(scanners),
            "-d",
            f"{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(ROOT / "bench/validate.lua"),
            f"http://127.0.0.1:{port}",
        ],
        env={**os.environ, "BENCH_EVENT_ID": str(event_id), "BENCH_DEVICE_TOKEN": token, "BENCH_CODES": codes_file},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(next(line for line in output.splitlines() if line.startswith("BENCH ")).removeprefix("BENCH "))


async def steady(
    port: int, scanners: int, rate: float, seconds: float, event_id: uuid.UUID, token: str, codes: list[str]
) -> dict:
    """`scanners` devices together sending `rate` scans per second, each on its own connection.

    The devices are connected and have each made a scan before the measured run starts, as at a door
    where the phones have been syncing their scan data for a while before the doors open (a cold
    worker's first requests open its database connections, which is not what this measures)."""
    latencies: list[float] = []
    results: dict[str, int] = {}
    interval = scanners / rate
    clients = [
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10, headers={"Authorization": f"Bearer {token}"})
        for _ in range(scanners)
    ]
    warm_up = {"code": "NOT-A-TICKET", "event_id": str(event_id), "gate": "Main", "device_id": "warm-up"}
    for _ in range(3):
        await asyncio.gather(
            *(client.post("/api/v1/orders/validate", json={**warm_up, "nonce": uuid.uuid4().hex}) for client in clients)
        )
    start = time.perf_counter() + 0.5

    async def scanner(n: int) -> None:
        client = clients[n]
        try:
            due = start + interval * n / scanners
            while due < start + seconds:
                await asyncio.sleep(max(due - time.perf_counter(), 0))
                body = {
                    "code": random.choice(codes),
                    "event_id": str(event_id),
                    "gate": "Main",
                    "nonce": uuid.uuid4().hex,
                    "device_id": f"scanner-{n}",
                }
                response = await client.post("/api/v1/orders/validate", json=body)
                latencies.append((time.perf_counter() - due) * 1000)
                key = response.json().get("result", str(response.status_code))
                results[key] = results.get(key, 0) + 1
                due += interval
        finally:
            await client.aclose()

    await asyncio.gather(*(scanner(n) for n in range(scanners)))
    return {
        "sent": len(latencies),
        "p50": percentile(latencies, 0.5),
        "p95": percentile(latencies, 0.95),
        "p99": percentile(latencies, 0.99),
        "results": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--scanners", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--rate", type=float, default=100, help="scans per second for the steady run")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    workers = args.workers or min(2 * (os.cpu_count() or 1) + 1, 8)
    url = fresh_database()
    port = free_port()
    process = None
    try:
        event_id, codes = make_tickets(url, args.tickets)
        settle_database(url)
        process = start_backend(url, port, workers)
        token = device_token(port)
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            # Two thirds of the pool scanned once or more: the mix a door sees when people retry.
            f.write("\n".join(codes[: args.tickets // 3 * 2]))
            codes_file = f.name
        print(
            f"POST /api/v1/orders/validate, PostgreSQL + Redis, {os.cpu_count()} cores, {workers} granian "
            f"workers, {args.tickets} tickets, {args.seconds} s per run"
        )
        for scanners in args.scanners:
            result = capacity(port, scanners, args.seconds, event_id, token, codes_file)
            print(
                f"capacity {scanners:>4} scanners: {result['requests'] / result['seconds']:7.1f} validations/s  "
                f"p50 {result['p50']:.1f} ms  p95 {result['p95']:.1f} ms  p99 {result['p99']:.1f} ms  "
                f"statuses {result['statuses']}  socket errors {result['errors']}"
            )
        freeze_gc()
        for scanners in args.scanners:
            result = asyncio.run(steady(port, scanners, args.rate, args.seconds, event_id, token, codes))
            print(
                f"steady {args.rate:.0f}/s from {scanners:>4} scanners: p50 {result['p50']:.1f} ms  "
                f"p95 {result['p95']:.1f} ms  p99 {result['p99']:.1f} ms  ({result['sent']} scans: {result['results']})"
            )
        os.unlink(codes_file)
    finally:
        if process:
            stop(process)
        drop_database(url)


if __name__ == "__main__":
    main()
