"""Ticket transfer on PostgreSQL, over HTTP: the old code answers "cancelled" at the door (online at
once, offline after the next sync), the new holder's email carries a new signed code, the old link
loses the ticket, the organizer's switch, and two transfers of one ticket at once."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader
from sqlmodel import Session, select

from bilten import cache
from bilten.models import AuditEntry, Event, Ticket, TicketStatus
from bilten.notifications.worker import Delivery
from bilten.services import event_orders, ticket_transfer
from bilten.services.errors import TicketHandedOver
from bilten.services.ticket_codes import load_public_key, verify_ticket_code
from tests.integration.test_notifications_smtp import FAST, RunningWorkers, smtp_settings
from tests.integration.test_scanning import device_headers
from tests.notifications_support import SmtpSink, parts, wait_until
from tests.ratelimit_support import rate_limits_on
from tests.scanning_helpers import door_with_tickets, link


@pytest.fixture
def door(pg_session, clock):
    cache.clear_local()
    return door_with_tickets(pg_session, now=clock.now, count=2, price=2500)


def transfer(client, ticket_id, token, email="kim@example.net", name="Kim Friend", **headers):
    return client.post(
        f"/api/v1/tickets/{ticket_id}/transfer",
        json={"email": email, "name": name},
        params={"token": token} if token else None,
        headers=headers,
    )


def scan(client, headers, event_id, code, nonce):
    body = {"code": code, "event_id": str(event_id), "nonce": nonce, "scanned_at": "2020-01-01T00:00:00+00:00"}
    response = client.post("/api/v1/orders/validate", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["result"]


def received(pg_session, old_id) -> Ticket:
    pg_session.rollback()
    return pg_session.exec(select(Ticket).where(Ticket.replaces_ticket_id == old_id)).one()


def test_transfer_revokes_the_old_code_at_the_door_and_the_new_code_opens_it(client, door, pg_session):
    old = door.tickets[0]
    token = link(old.order_id)
    response = transfer(client, old.id, token)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "transferred" and body["to_name"] == "Kim Friend" and body["to_email"] == "kim@example.net"
    assert "code" not in body and old.code not in response.text  # the new code goes by email only
    new = received(pg_session, old.id)
    assert new.code not in response.text and new.holder_email == "kim@example.net" and new.transfer_id is not None

    headers, _ = device_headers(client, door.staff)
    assert scan(client, headers, door.event.id, old.code, "n-1") == "cancelled"
    assert scan(client, headers, door.event.id, new.code, "n-2") == "valid"
    # The old reference typed at the door is as dead as the old code.
    assert scan(client, headers, door.event.id, old.reference, "n-3") == "cancelled"

    # Offline doors: the next sync lists the old ticket as revoked, not the new one.
    data = client.get(f"/api/v1/events/{door.event.id}/scan-data", headers=headers).json()
    assert str(old.id) in data["revoked"] and str(new.id) not in data["revoked"]

    # The buyer's order no longer shows the new holder's code; the old ticket reads "transferred".
    order = client.get(f"/api/v1/orders/{old.order_id}", params={"token": token}).json()
    shown = {t["id"]: t for t in order["tickets"]}
    assert str(new.id) not in shown and new.code not in str(order)
    assert shown[str(old.id)]["status"] == "transferred"


def test_the_old_link_cannot_transfer_again_and_the_new_holder_can(client, door, pg_session, clock):
    old = door.tickets[0]
    order_token = link(old.order_id)
    assert transfer(client, old.id, order_token).status_code == 200
    new = received(pg_session, old.id)

    again = transfer(client, old.id, order_token, email="back@example.net")
    assert again.status_code == 403 and again.json()["error"]["code"] == "ticket_handed_over"
    assert "handed to someone else" in again.json()["error"]["message"]
    # Nor the new ticket, with the order's link: it is the new holder's now.
    stolen = transfer(client, new.id, order_token, email="back@example.net")
    assert stolen.status_code == 403 and stolen.json()["error"]["code"] == "ticket_handed_over"
    # Nor renaming or reissuing it through the order's link.
    rename = client.put(f"/api/v1/tickets/{new.id}/holder", json={"holder_name": "Mine"}, params={"token": order_token})
    assert rename.status_code == 403
    assert client.post(f"/api/v1/tickets/{new.id}/reissue", params={"token": order_token}).status_code == 403

    # The new holder's own link shows the ticket and hands it on (a chain).
    holder = ticket_transfer.holder_token(new.transfer_id)
    shown = client.get(f"/api/v1/held-tickets/{new.transfer_id}", params={"token": holder})
    assert shown.status_code == 200 and shown.json()["code"] == new.code and shown.json()["transferable"] is True
    assert client.get(f"/api/v1/held-tickets/{new.transfer_id}", params={"token": order_token}).status_code == 404
    clock.now += timedelta(minutes=5)
    onward = transfer(client, new.id, holder, email="lee@example.net", name="Lee Third")
    assert onward.status_code == 200, onward.text
    third = received(pg_session, new.id)
    after = client.get(f"/api/v1/held-tickets/{new.transfer_id}", params={"token": holder}).json()
    assert after["status"] == "transferred" and after["code"] == "" and after["transferable"] is False
    # B's link does not reach C's ticket, and B cannot take it back through the old ticket.
    assert transfer(client, third.id, holder, email="kim@example.net").status_code == 404
    assert transfer(client, new.id, holder, email="kim2@example.net").status_code == 403

    # The organizer sees the chain in the order's history: A -> B -> C.
    detail = event_orders.order_detail(pg_session, actor=door.organizer, order_id=old.order_id)
    chain = [(e.data["from_email"], e.data["to_email"]) for e in detail.history if e.action == "ticket.transferred"]
    assert chain == [("fan@example.org", "kim@example.net"), ("kim@example.net", "lee@example.net")]
    statuses = {t.id: t.status for t in detail.tickets}
    assert statuses[old.id] == statuses[new.id] == TicketStatus.TRANSFERRED and statuses[third.id] == TicketStatus.VALID


def test_strangers_and_other_buyers_are_refused(client, door, pg_session, clock):
    other = door_with_tickets(pg_session, now=clock.now, count=1)
    old = door.tickets[0]
    foreign = transfer(client, old.id, link(other.tickets[0].order_id))
    assert foreign.status_code == 404
    assert transfer(client, old.id, "").status_code == 404
    assert transfer(client, old.id, "made-up-token").status_code == 404
    pg_session.rollback()
    assert pg_session.get(Ticket, old.id).status == TicketStatus.VALID


def test_the_organizer_can_forbid_transfers(client, door, pg_session):
    event = pg_session.get(Event, door.event.id)
    event.allow_ticket_transfer = False
    pg_session.add(event)
    pg_session.commit()
    response = transfer(client, door.tickets[0].id, link(door.tickets[0].order_id), **{"Accept-Language": "de"})
    assert response.status_code == 409 and response.json()["error"]["code"] == "transfer_not_allowed"
    assert "erlaubt" in response.json()["error"]["message"]


def test_a_checked_in_ticket_and_a_started_event_are_refused(client, door, clock):
    headers, _ = device_headers(client, door.staff)
    first, second = door.tickets
    assert scan(client, headers, door.event.id, first.code, "in-1") == "valid"
    used = transfer(client, first.id, link(first.order_id))
    assert used.status_code == 409 and "used at the entrance" in used.json()["error"]["message"]
    clock.now = door.event.starts_at + timedelta(minutes=1)
    late = transfer(client, second.id, link(second.order_id))
    assert late.status_code == 409 and "before the event starts" in late.json()["error"]["message"]


@pytest.mark.parametrize(
    ("email", "name", "message"),
    [
        ("not-an-address", "Kim", "email"),
        ("kim@example.net", "", "name"),
        ("kim@example.net", "K" * 201, "too long"),
        ("FAN@example.org", "Dana Again", "already belongs"),  # to oneself
    ],
)
def test_bad_input_gets_a_clear_error(client, door, email, name, message):
    response = transfer(client, door.tickets[0].id, link(door.tickets[0].order_id), email=email, name=name)
    assert response.status_code == 422, response.text
    assert message in response.json()["error"]["message"].lower()


def test_transfers_per_recipient_are_rate_limited(client, door):
    token = link(door.tickets[0].order_id)
    with rate_limits_on(RATE_LIMIT_TRANSFER_ACCOUNT="1/hour"):
        assert transfer(client, door.tickets[0].id, token, email="x@example.net").status_code == 200
        limited = transfer(client, door.tickets[1].id, token, email="x@example.net")
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"


def test_two_transfers_of_one_ticket_at_once_exactly_one_succeeds(pg_engine, door, clock):
    ticket, token = door.tickets[0], link(door.tickets[0].order_id)
    start = threading.Barrier(6)

    def attempt(n):
        start.wait()
        with Session(pg_engine, expire_on_commit=False) as session:
            try:
                ticket_transfer.transfer_ticket(
                    session,
                    ticket_id=ticket.id,
                    email=f"racer{n}@example.net",
                    name=f"Racer {n}",
                    now=clock.now,
                    access_token=token,
                )
            except TicketHandedOver:
                return "handed_over"
            return "ok"

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(attempt, range(6)))
    assert results.count("ok") == 1 and results.count("handed_over") == 5
    with Session(pg_engine) as session:
        assert len(session.exec(select(Ticket).where(Ticket.replaces_ticket_id == ticket.id)).all()) == 1
        assert len(session.exec(select(AuditEntry).where(AuditEntry.action == "ticket.transferred")).all()) == 1


def test_the_new_holder_gets_an_email_with_a_new_signed_code(client, door, pg_engine, pg_session):
    old = door.tickets[0]
    response = transfer(client, old.id, link(old.order_id), email="kim@example.net", **{"Accept-Language": "fr"})
    assert response.status_code == 200
    new = received(pg_session, old.id)
    with SmtpSink() as sink, RunningWorkers(Delivery(engine=pg_engine, settings=smtp_settings(sink), config=FAST)):
        wait_until(lambda: "kim@example.net" in sink.recipients(), what="the new holder's email")
    message = next(m for m in sink.messages if m["To"] == "kim@example.net")
    assert message["Subject"] == "Votre billet pour Concert"
    found = parts(message)
    text = found["text/plain"][0].get_content()
    assert "Dana Fan" in text and "Kim Friend" in text
    holder_link = f"/held-tickets/{new.transfer_id}?token={ticket_transfer.holder_token(new.transfer_id)}"
    assert holder_link in text
    (image,) = found["image/png"]
    (result,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.get_content())))
    assert result.text == new.code != old.code
    assert verify_ticket_code(result.text, load_public_key(door.event.signing_public_key)).ticket_id == new.id
    assert len(PdfReader(io.BytesIO(found["application/pdf"][0].get_content())).pages) == 1
    # The buyer's tickets email (order.paid) does not carry the new holder's code.
    for buyer_mail in (m for m in sink.messages if m["To"] == "fan@example.org"):
        for png in parts(buyer_mail).get("image/png", []):
            (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.get_content())))
            assert decoded.text != new.code
