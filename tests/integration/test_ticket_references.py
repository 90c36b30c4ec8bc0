"""Typed ticket references at the door, on PostgreSQL and over HTTP: the same exactly-once rules as
the QR (two doors typing one reference at once: one gets in), and only for this event."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import Session, select

from bilten import cache
from bilten.db import make_engine
from bilten.models import CheckIn, CheckInResult, Ticket
from bilten.services import checkins
from bilten.services.ticket_references import format_reference
from tests.factories import DEFAULT_PASSWORD
from tests.scanning_helpers import door_with_tickets, link

DOORS = 10
SHOWN = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{2}$")


@pytest.fixture
def door(pg_session, clock):
    cache.clear_local()
    return door_with_tickets(pg_session, now=clock.now, count=2)


def device_headers(client, user):
    response = client.post("/api/v1/devices", json={"email": user.email, "password": DEFAULT_PASSWORD, "name": "Door"})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['device_token']}"}


def validate(client, headers, event_id, code, nonce, clock):
    response = client.post(
        "/api/v1/orders/validate",
        json={"code": code, "event_id": str(event_id), "nonce": nonce, "scanned_at": clock.now.isoformat()},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_typed_reference_validates_once_over_http(client, door, clock):
    headers = device_headers(client, door.staff)
    ticket = door.tickets[0]
    typed = format_reference(ticket.reference).lower().replace("-", " ")

    first = validate(client, headers, door.event.id, typed, "typed-1", clock)
    assert first["result"] == "valid" and first["ticket"]["id"] == str(ticket.id)
    assert first["ticket"]["holder_name"] == "Dana Fan"
    again = validate(client, headers, door.event.id, format_reference(ticket.reference), "typed-2", clock)
    assert again["result"] == "already_used" and again["first_scan"] is not None
    by_qr = validate(client, headers, door.event.id, ticket.code, "qr-1", clock)
    assert by_qr["result"] == "already_used"
    replay = validate(client, headers, door.event.id, typed, "typed-1", clock)
    assert replay["result"] == "valid" and replay["replayed"] is True


def test_another_events_reference_is_invalid_over_http(client, door, pg_session, clock):
    other = door_with_tickets(pg_session, now=clock.now, count=1)
    headers = device_headers(client, door.staff)
    foreign = other.tickets[0]

    verdict = validate(client, headers, door.event.id, foreign.reference, "foreign-1", clock)
    assert verdict["result"] == "invalid" and verdict["ticket"] is None  # never "wrong event" nor its holder
    live = pg_session.exec(
        select(CheckIn).where(CheckIn.ticket_id == foreign.id, CheckIn.result == CheckInResult.VALID)
    ).all()
    assert live == []
    # Staff of this event cannot ask about the other event at all.
    refused = client.post(
        "/api/v1/orders/validate",
        json={"code": foreign.reference, "event_id": str(other.event.id), "nonce": "foreign-2"},
        headers=headers,
    )
    assert refused.status_code == 403


def test_ten_doors_typing_one_reference_at_once_let_one_in(pg_url, door, clock, pg_session):
    engine = make_engine(pg_url)
    start = threading.Barrier(DOORS)
    reference = door.tickets[1].reference
    spellings = [reference, format_reference(reference).lower(), " ".join(format_reference(reference).split("-"))]

    def type_it(n):
        start.wait()
        with Session(engine, expire_on_commit=False) as session:
            staff = session.get(type(door.staff), door.staff.id)
            return checkins.scan_ticket(
                session,
                actor=staff,
                event_id=door.event.id,
                code=spellings[n % len(spellings)],
                nonce=f"door-{n}",
                scanned_at=clock.now,
                now=clock.now,
                device_id=f"phone-{n}",
            ).result

    with ThreadPoolExecutor(max_workers=DOORS) as pool:
        results = list(pool.map(type_it, range(DOORS)))
    engine.dispose()
    assert results.count(CheckInResult.VALID) == 1
    assert results.count(CheckInResult.ALREADY_USED) == DOORS - 1
    live = pg_session.exec(
        select(CheckIn).where(CheckIn.ticket_id == door.tickets[1].id, CheckIn.result == CheckInResult.VALID)
    ).all()
    assert len(live) == 1


def test_the_buyer_gets_each_tickets_reference_from_the_api(client, door, pg_session):
    order_id = door.tickets[0].order_id
    shown = client.get(f"/api/v1/orders/{order_id}", headers={"X-Order-Token": link(order_id)})
    assert shown.status_code == 200, shown.text
    stored = {str(t.id): t.reference for t in pg_session.exec(select(Ticket).where(Ticket.order_id == order_id))}
    tickets = shown.json()["tickets"]
    assert {t["id"]: t["reference"] for t in tickets} == {key: format_reference(r) for key, r in stored.items()}
    assert all(SHOWN.match(t["reference"]) for t in tickets)
