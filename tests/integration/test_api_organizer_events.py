"""Organizers' `/api/v1/events` on PostgreSQL: create, edit, ticket types, publish, duplicate,
cancel with refunds and emails, pictures; and every refusal leaves the data as it was."""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import text, update
from sqlmodel import Session, func, select

from bilten.db import get_engine
from bilten.models import (
    AuditEntry,
    Event,
    EventStatus,
    Membership,
    Notification,
    Order,
    OrderStatus,
    Role,
    TeamRole,
    TicketType,
)
from bilten.notifications.outbox import dispatch_outbox
from bilten.payments import provider_registry
from bilten.services import event_admin
from bilten.services.errors import TryAgain, ValidationFailed
from bilten.services.event_admin import TicketTypeFields
from bilten.settings import get_settings
from tests.factories import DEFAULT_PASSWORD, make_event, make_organization, make_user
from tests.stripe_fake import FakeStripe

STRIPE_WEBHOOK_SECRET = "whsec_test_secret"


def bearer(client, user) -> dict[str, str]:
    tokens = client.post("/api/v1/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD}).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


@pytest.fixture
def world(pg_session, clock):
    now = clock.now
    owner = make_user(pg_session, role=Role.ORGANIZER, now=now)
    viewer = make_user(pg_session, role=Role.ORGANIZER, now=now)
    stranger = make_user(pg_session, role=Role.ORGANIZER, now=now)
    org = make_organization(pg_session, members=(owner,), now=now)
    other_org = make_organization(pg_session, members=(stranger,), now=now)
    pg_session.add(Membership(organization_id=org.id, user_id=viewer.id, team_role=TeamRole.VIEWER, created_at=now))
    pg_session.commit()
    return {"owner": owner, "viewer": viewer, "stranger": stranger, "org": org, "other_org": other_org, "now": now}


def event_body(world, **changes):
    now = world["now"]
    body = {
        "organization_id": str(world["org"].id),
        "title": "Harbour Lights",
        "description": "Boats, **music** and <script>alert(1)</script>",
        "venue": "Pier 3",
        "city": "Lisbon",
        "timezone": "Europe/Lisbon",
        "starts_at": (now + timedelta(days=20)).isoformat(),
        "ends_at": (now + timedelta(days=20, hours=5)).isoformat(),
    }
    body.update(changes)
    return body


def type_body(**changes):
    body = {"name": "Deck", "price": 3500, "currency": "EUR", "quantity": 50, "min_per_order": 1, "max_per_order": 6}
    body.update(changes)
    return body


def snapshot(session: Session) -> tuple:
    session.rollback()
    return (
        session.exec(select(func.count(Event.id))).one(),
        session.exec(select(func.count(TicketType.id))).one(),
        session.exec(select(func.count(AuditEntry.id))).one(),
        tuple(session.exec(select(Event.title, Event.status).order_by(Event.title)).all()),
    )


def create_published(client, world, headers) -> dict:
    event = client.post("/api/v1/events", json=event_body(world), headers=headers).json()
    for name, price in (("Deck", 3500), ("Cabin", 9000)):
        created = client.post(
            f"/api/v1/events/{event['id']}/ticket-types", json=type_body(name=name, price=price), headers=headers
        )
        assert created.status_code == 201, created.text
    published = client.post(f"/api/v1/events/{event['id']}/publish", headers=headers)
    assert published.status_code == 200 and published.json()["status"] == "published"
    return published.json()


def test_organizer_creates_types_publishes_and_the_event_is_public(client, world):
    headers = bearer(client, world["owner"])
    created = client.post("/api/v1/events", json=event_body(world), headers=headers)
    assert created.status_code == 201, created.text
    event = created.json()
    assert event["status"] == "draft" and event["venue"] == "Pier 3" and event["ticket_types"] == []
    assert client.get(f"/api/v1/events/{event['id']}").status_code == 404  # drafts are not public

    nope = client.post(f"/api/v1/events/{event['id']}/publish", headers=headers)
    assert nope.status_code == 422 and nope.json()["error"]["code"] == "validation_error"
    assert "ticket type" in nope.json()["error"]["message"]

    published = create_published(client, world, headers)
    assert [(t["name"], t["price"]) for t in published["ticket_types"]] == [("Deck", 3500), ("Cabin", 9000)]
    public = client.get(f"/api/v1/events/{published['id']}").json()
    assert public["status"] == "published" and [t["name"] for t in public["ticket_types"]] == ["Deck", "Cabin"]
    assert public["description"].startswith("Boats")  # the API keeps the source; pages render it safely

    renamed = client.patch(
        f"/api/v1/events/{event['id']}", json={"title": "Harbour Lights 2", "city": "Porto"}, headers=headers
    )
    assert renamed.status_code == 200 and renamed.json()["title"] == "Harbour Lights 2"
    assert renamed.json()["venue"] == "Pier 3"
    unpublished = client.patch(f"/api/v1/events/{event['id']}", json={"status": "draft"}, headers=headers)
    assert unpublished.json()["status"] == "draft"


def test_ticket_type_patch_and_the_quantity_floor(client, world, pg_session):
    headers = bearer(client, world["owner"])
    event = create_published(client, world, headers)
    deck = event["ticket_types"][0]
    order = client.post(
        "/api/v1/orders",
        json={
            "items": [{"ticket_type_id": deck["id"], "quantity": 4}],
            "email": "a@example.org",
            "phone": "+351 21 1234567",
        },
    )
    assert order.status_code == 201
    before = snapshot(pg_session)
    too_low = client.patch(
        f"/api/v1/events/{event['id']}/ticket-types/{deck['id']}", json={"quantity": 3, "price": 1}, headers=headers
    )
    assert too_low.status_code == 422 and "4" in too_low.json()["error"]["message"]
    assert snapshot(pg_session) == before
    assert pg_session.get(TicketType, deck["id"]).price_minor == 3500
    ok = client.patch(
        f"/api/v1/events/{event['id']}/ticket-types/{deck['id']}",
        json={"quantity": 4, "hidden": True, "sales_end": None},
        headers=headers,
    )
    assert (
        ok.status_code == 200 and ok.json()["quantity"] == 4 and ok.json()["sold_or_held"] == 4 and ok.json()["hidden"]
    )
    public = client.get(f"/api/v1/events/{event['id']}").json()
    assert [t["name"] for t in public["ticket_types"]] == ["Cabin"]  # hidden now


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("", {"ends_at": "2026-11-01T10:00:00+00:00"}, "validation_error"),  # ends before it starts
        ("", {"timezone": "Narnia/Cair_Paravel"}, "validation_error"),
        ("", {"title": ""}, "validation_error"),
        ("", {"status": "archived"}, "validation_error"),
        ("/ticket-types", type_body(price=-1), "validation_error"),
        ("/ticket-types", type_body(currency="BTC"), "validation_error"),
        ("/ticket-types", type_body(price="12.50"), "validation_error"),  # minor units, an integer
        ("/ticket-types", type_body(min_per_order=5, max_per_order=2), "validation_error"),
        ("/ticket-types", type_body(sales_end="2027-01-01T00:00:00+00:00"), "validation_error"),  # after the event
    ],
)
def test_bad_input_answers_a_clear_error_and_changes_nothing(client, world, pg_session, path, body, code):
    headers = bearer(client, world["owner"])
    event = client.post("/api/v1/events", json=event_body(world), headers=headers).json()
    before = snapshot(pg_session)
    method = client.patch if path == "" else client.post
    response = method(f"/api/v1/events/{event['id']}{path}", json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]
    assert snapshot(pg_session) == before


def test_errors_come_in_the_callers_language(client, world):
    headers = {**bearer(client, world["owner"]), "Accept-Language": "ar"}
    response = client.post("/api/v1/events", json=event_body(world, timezone="Mars/Base"), headers=headers)
    assert response.status_code == 422 and "ليست منطقة زمنية" in response.json()["error"]["message"]


def test_another_organizations_event_is_out_of_reach(client, world, pg_session):
    owner_headers = bearer(client, world["owner"])
    event = create_published(client, world, owner_headers)
    type_id = event["ticket_types"][0]["id"]
    logged_in = {who: bearer(client, world[who]) for who in ("stranger", "viewer")}  # (logins are audited)
    before = snapshot(pg_session)
    for headers in logged_in.values():
        attempts = [
            client.patch(f"/api/v1/events/{event['id']}", json={"title": "Mine now"}, headers=headers),
            client.get(f"/api/v1/events/{event['id']}/manage", headers=headers),
            client.post(f"/api/v1/events/{event['id']}/ticket-types", json=type_body(), headers=headers),
            client.patch(f"/api/v1/events/{event['id']}/ticket-types/{type_id}", json={"quantity": 1}, headers=headers),
            client.post(f"/api/v1/events/{event['id']}/unpublish", headers=headers),
            client.post(f"/api/v1/events/{event['id']}/duplicate", headers=headers),
            client.post(f"/api/v1/events/{event['id']}/cancel", headers=headers),
            client.post(
                f"/api/v1/events/{event['id']}/image",
                files={"file": ("x.png", b"\x89PNG", "image/png")},
                headers=headers,
            ),
        ]
        assert [r.status_code for r in attempts] == [403] * len(attempts), [r.text for r in attempts]
        assert all(r.json()["error"]["code"] == "forbidden" for r in attempts)
    # Creating in someone else's organization, or moving an event there, is refused too.
    assert client.post("/api/v1/events", json=event_body(world), headers=logged_in["stranger"]).status_code == 403
    moved = client.patch(
        f"/api/v1/events/{event['id']}", json={"organization_id": str(world["other_org"].id)}, headers=owner_headers
    )
    assert moved.status_code == 422
    assert snapshot(pg_session) == before
    # Unknown ids and no token.
    assert (
        client.patch(f"/api/v1/events/{'0' * 8}-0000-0000-0000-{'0' * 12}", json={}, headers=owner_headers).status_code
        == 404
    )
    assert client.post("/api/v1/events", json=event_body(world)).status_code == 401


def test_duplicate_makes_a_draft_copy(client, world):
    headers = bearer(client, world["owner"])
    event = create_published(client, world, headers)
    copy = client.post(f"/api/v1/events/{event['id']}/duplicate", headers=headers)
    assert copy.status_code == 201
    body = copy.json()
    assert body["status"] == "draft" and body["title"] == "Harbour Lights (copy)" and body["id"] != event["id"]
    assert [(t["name"], t["sold_or_held"]) for t in body["ticket_types"]] == [("Deck", 0), ("Cabin", 0)]


def test_cancel_refunds_paid_orders_and_queues_one_email_per_buyer(client, world, pg_session, clock):
    headers = bearer(client, world["owner"])
    event = create_published(client, world, headers)
    deck = event["ticket_types"][0]["id"]
    paid_ids = []
    for n in range(2):
        placed = client.post(
            "/api/v1/orders",
            json={
                "items": [{"ticket_type_id": deck, "quantity": 2}],
                "email": f"buyer{n}@example.org",
                "phone": "+351 21 1234567",
            },
        ).json()
        paid = client.post(
            f"/api/v1/orders/{placed['id']}/test-payment",
            json={"outcome": "succeeded"},
            headers={"X-Order-Token": placed["access_token"]},
        )
        assert paid.json()["status"] == "paid"
        paid_ids.append(placed["id"])

    cancelled = client.post(f"/api/v1/events/{event['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["event"]["status"] == "cancelled" and body["refunded_orders"] == 2 and body["failed_orders"] == []
    pg_session.rollback()
    assert {pg_session.get(Order, i).status for i in paid_ids} == {OrderStatus.REFUNDED}
    assert pg_session.get(TicketType, deck).reserved == 0

    again = client.post(f"/api/v1/events/{event['id']}/cancel", headers=headers)  # a re-run is harmless
    assert again.status_code == 200 and again.json()["refunded_orders"] == 0

    dispatch_outbox(pg_session, now=clock.now)
    recipients = pg_session.exec(
        select(Notification.recipient).where(Notification.topic.in_(["event.cancelled", "order.cancelled"]))
    ).all()
    assert sorted(recipients) == ["buyer0@example.org", "buyer1@example.org"]

    sold_out = client.post(
        "/api/v1/orders",
        json={
            "items": [{"ticket_type_id": deck, "quantity": 1}],
            "email": "late@example.org",
            "phone": "+351 21 1234567",
        },
    )
    assert sold_out.status_code == 409 and sold_out.json()["error"]["code"] == "event_not_on_sale"
    edit = client.patch(f"/api/v1/events/{event['id']}", json={"title": "Back on"}, headers=headers)
    assert edit.status_code == 409 and edit.json()["error"]["code"] == "event_cancelled"


def _png(size=(1200, 900)) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, (0, 90, 160)).save(output, "PNG")
    return output.getvalue()


def test_picture_upload_is_checked_stored_and_served(client, world, pg_session):
    headers = bearer(client, world["owner"])
    event = client.post("/api/v1/events", json=event_body(world), headers=headers).json()
    uploaded = client.post(
        f"/api/v1/events/{event['id']}/image", files={"file": ("poster.png", _png(), "image/png")}, headers=headers
    )
    assert uploaded.status_code == 200, uploaded.text
    url = uploaded.json()["image_url"]
    assert url.startswith("/api/media/") and url.endswith(".png")
    served = client.get(url)
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert Image.open(io.BytesIO(served.content)).size == (1200, 900)

    before = snapshot(pg_session)
    script = client.post(
        f"/api/v1/events/{event['id']}/image",
        files={"file": ("evil.png", b"<script>alert(1)</script>", "image/png")},
        headers=headers,
    )
    assert script.status_code == 415 and script.json()["error"]["code"] == "unsupported_image"
    huge = client.post(
        f"/api/v1/events/{event['id']}/image",
        files={"file": ("big.png", b"\x89PNG" + b"\0" * (50 * 1024 * 1024), "image/png")},
        headers=headers,
    )
    # Refused by its declared length before a byte of it is read (bilten/api/body_limit.py)...
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "payload_too_large"
    just_over = client.post(
        f"/api/v1/events/{event['id']}/image",
        files={"file": ("big.png", b"\x89PNG" + b"\0" * (5 * 1024 * 1024), "image/png")},
        headers=headers,
    )
    # ...and a body within the cap whose file is one byte over MAX_UPLOAD_MB, by the endpoint.
    assert just_over.status_code == 413 and just_over.json()["error"]["code"] == "image_too_large"
    assert snapshot(pg_session) == before
    pg_session.rollback()
    assert pg_session.get(Event, event["id"]).image_url == url  # still the good picture

    assert client.get("/api/media/..%2F..%2Fpyproject.toml").status_code == 404
    assert client.get("/api/media/not-ours.png").status_code == 404


def test_lowering_a_quantity_waits_for_a_concurrent_reservation_and_then_refuses(pg_engine, world, pg_session):
    """A buyer's transaction holds the ticket type row with 6 seats just taken; the organizer lowers
    the quantity to 5 meanwhile. The guarded UPDATE waits for the row, re-reads it after the
    buyer's commit and refuses: the quantity never drops below what is sold."""
    now = world["now"]
    event = make_event(pg_session, organization=world["org"], now=now, quantity=10)
    type_id = pg_session.exec(select(TicketType.id).where(TicketType.event_id == event.id)).one()
    owner = world["owner"]
    outcome: dict[str, object] = {}

    with pg_engine.connect() as buyer:
        transaction = buyer.begin()
        buyer.execute(update(TicketType).where(TicketType.id == type_id).values(reserved=TicketType.reserved + 6))

        def lower() -> None:
            with Session(pg_engine, expire_on_commit=False) as session:
                try:
                    event_admin.update_ticket_type(
                        session,
                        actor=session.get(type(owner), owner.id),
                        event_id=event.id,
                        ticket_type_id=type_id,
                        fields=TicketTypeFields(quantity=5),
                        now=now,
                    )
                    outcome["result"] = "lowered"
                except ValidationFailed as exc:
                    outcome["result"] = exc.key

        worker = threading.Thread(target=lower)
        worker.start()
        time.sleep(0.5)  # the organizer's UPDATE is now waiting on the row lock
        assert worker.is_alive()
        transaction.commit()
        worker.join(timeout=10)

    assert outcome["result"] == "error.ticket_quantity_below_sold"
    with pg_engine.connect() as check:
        assert check.execute(
            text("SELECT quantity, reserved FROM ticket_type WHERE id = :id"), {"id": type_id}
        ).one() == (10, 6)
    pg_session.rollback()
    assert pg_session.get(Event, event.id).status == EventStatus.PUBLISHED


@pytest.fixture
def stripe_fake(monkeypatch, pg_url):
    """Stripe's API replaced by the local fake; the real `stripe` library talks to it."""
    with FakeStripe() as fake:
        monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_bilten")
        monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET)
        monkeypatch.setenv("STRIPE_API_BASE", fake.url)
        monkeypatch.setenv("PAYMENT_PROVIDER", "stripe")
        monkeypatch.setenv("DATABASE_URL", pg_url)
        _reset_caches()
        yield fake
    _reset_caches()


def _reset_caches():
    get_settings.cache_clear()
    provider_registry.cache_clear()
    get_engine.cache_clear()


def _stripe_paid_order(client, fake, type_id: str, email: str) -> str:
    placed = client.post(
        "/api/v1/orders",
        json={"items": [{"ticket_type_id": type_id, "quantity": 1}], "email": email, "phone": "+351 21 1234567"},
    ).json()
    body = json.dumps(fake.event("checkout.session.completed", fake.pay(placed["payment"]["reference"]))).encode()
    delivered = client.post(
        "/api/v1/webhooks/stripe",
        content=body,
        headers={"Stripe-Signature": fake.sign(body, STRIPE_WEBHOOK_SECRET), "Content-Type": "application/json"},
    )
    assert delivered.status_code == 200, delivered.text
    return placed["id"]


def test_cancelling_refunds_through_stripe_and_a_rerun_resumes_after_stripe_failed(
    client, stripe_fake, world, pg_session
):
    headers = bearer(client, world["owner"])
    event = create_published(client, world, headers)
    deck = event["ticket_types"][0]["id"]
    order_ids = [_stripe_paid_order(client, stripe_fake, deck, f"fan{n}@example.org") for n in range(2)]
    pg_session.rollback()
    assert {pg_session.get(Order, i).status for i in order_ids} == {OrderStatus.PAID}

    stripe_fake.fail_next = 1000  # Stripe is down
    first = client.post(f"/api/v1/events/{event['id']}/cancel", headers=headers).json()
    assert first["event"]["status"] == "cancelled" and sorted(first["failed_orders"]) == sorted(order_ids)
    pg_session.rollback()
    assert {pg_session.get(Order, i).status for i in order_ids} == {OrderStatus.PAID}  # nothing half-done

    stripe_fake.fail_next = 0  # Stripe is back: the re-run refunds what is left
    second = client.post(f"/api/v1/events/{event['id']}/cancel", headers=headers).json()
    assert second["refunded_orders"] == 2 and second["failed_orders"] == []
    assert sorted(r["amount"] for r in stripe_fake.refunds.values()) == [3500, 3500]
    pg_session.rollback()
    assert {pg_session.get(Order, i).status for i in order_ids} == {OrderStatus.REFUNDED}


def test_a_ticket_type_locked_too_long_by_a_sale_answers_try_again(pg_engine, world, pg_session):
    now = world["now"]
    event = make_event(pg_session, organization=world["org"], now=now, quantity=10)
    type_id = pg_session.exec(select(TicketType.id).where(TicketType.event_id == event.id)).one()
    with pg_engine.connect() as seller:
        transaction = seller.begin()
        seller.execute(text("SELECT id FROM ticket_type WHERE id = :id FOR UPDATE"), {"id": type_id})
        with Session(pg_engine, expire_on_commit=False) as session, pytest.raises(TryAgain):
            event_admin.update_ticket_type(
                session,
                actor=session.get(type(world["owner"]), world["owner"].id),
                event_id=event.id,
                ticket_type_id=type_id,
                fields=TicketTypeFields(quantity=8),
                now=now,
            )
        transaction.rollback()
    pg_session.rollback()
    assert pg_session.get(TicketType, type_id).quantity == 10
