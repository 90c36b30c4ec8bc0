"""Stripe end to end: the real `stripe` library against a local fake of Stripe's API, and webhooks
signed with Stripe's real scheme, on PostgreSQL."""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from bilten import tasks
from bilten.db import get_engine
from bilten.models import Order, OrderStatus, OutboxEvent, Payment, PaymentStatus, Ticket, TicketType
from bilten.payments import provider_registry
from bilten.services import orders
from bilten.settings import get_settings
from tests.conftest import TEST_NOW
from tests.factories import make_event, make_organization
from tests.stripe_fake import FakeStripe

WEBHOOK_SECRET = "whsec_test_secret"


@pytest.fixture
def stripe_fake(monkeypatch, pg_url):
    with FakeStripe() as fake:
        monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_bilten")
        monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
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


@pytest.fixture
def event_on_sale(pg_session, clock):
    org = make_organization(pg_session, now=clock.now)
    event = make_event(pg_session, organization=org, now=clock.now, prices=(2500,), quantity=2)
    return event, pg_session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()


def buy(client, ticket_type, quantity=2):
    return client.post(
        "/api/v1/orders",
        json={
            "items": [{"ticket_type_id": str(ticket_type.id), "quantity": quantity}],
            "email": "buyer@example.org",
            "phone": "+49 30 1234567",
        },
    )


def deliver(client, fake, event, *, secret=WEBHOOK_SECRET, timestamp=None):
    body = json.dumps(event).encode()
    return client.post(
        "/api/v1/webhooks/stripe",
        content=body,
        headers={"Stripe-Signature": fake.sign(body, secret, timestamp), "Content-Type": "application/json"},
    )


def test_checkout_session_then_webhook_issues_tickets(client, stripe_fake, event_on_sale, pg_session, app_clock):
    _, ticket_type = event_on_sale
    placed = buy(client, ticket_type)
    assert placed.status_code == 201, placed.text
    body = placed.json()
    assert body["status"] == "pending" and body["total"] == 5000 and body["currency"] == "EUR"
    assert body["payment"]["provider"] == "stripe" and body["payment"]["checkout_url"].startswith(stripe_fake.url)
    session_id = body["payment"]["reference"]
    created = stripe_fake.sessions[session_id]
    assert created["amount_total"] == 5000 and created["metadata"]["order_id"] == body["id"]
    # Stripe's minimum, on the app's clock; our sweeper expires it sooner.
    assert created["expires_at"] >= int(app_clock().timestamp()) + 30 * 60

    paid = deliver(client, stripe_fake, stripe_fake.event("checkout.session.completed", stripe_fake.pay(session_id)))
    assert paid.status_code == 200 and paid.json()["result"] == "paid"
    order = client.get(f"/api/v1/orders/{body['id']}", params={"token": body["access_token"]}).json()
    assert order["status"] == "paid" and len(order["tickets"]) == 2
    assert pg_session.exec(select(OutboxEvent).where(OutboxEvent.topic == "order.paid")).one()


def test_duplicate_and_concurrent_webhooks_issue_tickets_once(client, stripe_fake, event_on_sale, pg_url):
    _, ticket_type = event_on_sale
    body = buy(client, ticket_type).json()
    event = stripe_fake.event("checkout.session.completed", stripe_fake.pay(body["payment"]["reference"]))
    update = provider_registry()["stripe"].parse_webhook(
        {"stripe-signature": stripe_fake.sign(json.dumps(event).encode(), WEBHOOK_SECRET)}, json.dumps(event).encode()
    )
    engine = get_engine()
    gate = threading.Barrier(8)

    def apply(_):
        gate.wait()
        with Session(engine, expire_on_commit=False) as session:
            return orders.apply_payment_update(session, provider="stripe", update=update, now=orders_now()).result

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(apply, range(8)))
    assert sorted(results) == ["duplicate"] * 7 + ["paid"]
    # Later redeliveries over HTTP are acknowledged and change nothing.
    for _ in range(3):
        assert deliver(client, stripe_fake, event).json()["result"] == "duplicate"
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Ticket)).one() == 2


def orders_now():
    return TEST_NOW + timedelta(minutes=1)


def test_out_of_order_expired_event_after_completion_is_ignored(client, stripe_fake, event_on_sale):
    _, ticket_type = event_on_sale
    body = buy(client, ticket_type).json()
    session_id = body["payment"]["reference"]
    completed = stripe_fake.event("checkout.session.completed", stripe_fake.pay(session_id))
    expired = stripe_fake.event("checkout.session.expired", {**stripe_fake.sessions[session_id], "status": "expired"})
    assert deliver(client, stripe_fake, completed).json()["result"] == "paid"
    assert deliver(client, stripe_fake, expired).json()["result"] == "ignored"
    order = client.get(f"/api/v1/orders/{body['id']}", params={"token": body["access_token"]}).json()
    assert order["status"] == "paid" and order["payment"]["status"] == "confirmed"


def test_forged_old_unknown_and_wrong_amount_webhooks_change_nothing(client, stripe_fake, event_on_sale, pg_session):
    _, ticket_type = event_on_sale
    body = buy(client, ticket_type).json()
    session = stripe_fake.pay(body["payment"]["reference"])
    event = stripe_fake.event("checkout.session.completed", session)

    bad_signature = deliver(client, stripe_fake, event, secret="whsec_attacker")
    too_old = deliver(client, stripe_fake, event, timestamp=int(time.time()) - 301)
    unknown = deliver(
        client,
        stripe_fake,
        stripe_fake.event(
            "checkout.session.completed",
            {**session, "metadata": {"order_id": "7d1f0c3e-0000-4000-8000-000000000000"}, "client_reference_id": None},
        ),
    )
    wrong_amount = deliver(
        client, stripe_fake, stripe_fake.event("checkout.session.completed", {**session, "amount_total": 1})
    )
    unsigned = client.post("/api/v1/webhooks/stripe", content=json.dumps(event).encode())
    for response, code in (
        (bad_signature, "invalid_signature"),
        (too_old, "invalid_signature"),
        (unknown, "unknown_order"),
        (wrong_amount, "amount_mismatch"),
        (unsigned, "invalid_signature"),
    ):
        assert response.status_code == 400 and response.json()["error"]["code"] == code
    pg_session.expire_all()
    assert pg_session.get(Order, body["id"]).status == OrderStatus.PENDING
    assert pg_session.exec(select(func.count()).select_from(Ticket)).one() == 0
    # The genuine event still works afterwards: refusals were not recorded as processed.
    assert deliver(client, stripe_fake, event).json()["result"] == "paid"


def test_hold_expiry_expires_the_stripe_session_and_a_late_payment_for_sold_seats_is_refunded(
    client, clock, stripe_fake, event_on_sale, pg_session
):
    _, ticket_type = event_on_sale
    late = buy(client, ticket_type).json()
    session_id = late["payment"]["reference"]

    result = tasks.sweep(clock.now + timedelta(minutes=16))
    assert result["expired"] == 1
    assert stripe_fake.sessions[session_id]["status"] == "expired"  # unpayable at Stripe now

    clock.now += timedelta(minutes=17)
    rival = buy(client, ticket_type).json()  # the two seats go to someone else
    deliver(
        client,
        stripe_fake,
        stripe_fake.event("checkout.session.completed", stripe_fake.pay(rival["payment"]["reference"])),
    )

    # The first buyer's payment slipped through anyway.
    outcome = deliver(client, stripe_fake, stripe_fake.event("checkout.session.completed", stripe_fake.pay(session_id)))
    assert outcome.json()["result"] == "refund_needed"
    refunds = list(stripe_fake.refunds.values())
    assert len(refunds) == 1 and refunds[0]["amount"] == 5000
    pg_session.expire_all()
    payment = pg_session.exec(select(Payment).where(Payment.provider_reference == session_id)).one()
    assert payment.status == PaymentStatus.REFUNDED
    assert pg_session.get(Order, late["id"]).status == OrderStatus.EXPIRED
    assert pg_session.get(TicketType, ticket_type.id).reserved == 2
    cancelled = pg_session.exec(select(OutboxEvent).where(OutboxEvent.topic == "order.cancelled")).one()
    assert cancelled.payload == {"order_id": late["id"], "refunded": True, "reason": "late_payment"}


def test_stripe_down_at_checkout_leaves_no_order_or_hold(client, stripe_fake, event_on_sale, pg_session):
    _, ticket_type = event_on_sale
    stripe_fake.fail_next = 10
    response = buy(client, ticket_type)
    assert response.status_code == 502 and response.json()["error"]["code"] == "payment_unavailable"
    pg_session.expire_all()
    assert pg_session.get(TicketType, ticket_type.id).reserved == 0
    assert set(pg_session.exec(select(Order.status)).all()) == {OrderStatus.CANCELLED}


def test_test_payment_endpoint_is_gone_when_stripe_is_active(client, stripe_fake, event_on_sale):
    _, ticket_type = event_on_sale
    body = buy(client, ticket_type).json()
    response = client.post(
        f"/api/v1/orders/{body['id']}/test-payment",
        json={"outcome": "succeeded"},
        params={"token": body["access_token"]},
    )
    assert response.status_code == 404


def test_organizer_refund_goes_through_stripe(client, stripe_fake, event_on_sale, pg_session, clock):
    from bilten.models import Membership, Role, TeamRole
    from tests.factories import DEFAULT_PASSWORD, make_user

    event, ticket_type = event_on_sale
    organizer = make_user(pg_session, role=Role.ORGANIZER, now=clock.now)
    pg_session.add(Membership(organization_id=event.organization_id, user_id=organizer.id, team_role=TeamRole.OWNER))
    pg_session.commit()
    body = buy(client, ticket_type).json()
    deliver(
        client,
        stripe_fake,
        stripe_fake.event("checkout.session.completed", stripe_fake.pay(body["payment"]["reference"])),
    )
    tokens = client.post("/api/v1/auth/login", json={"email": organizer.email, "password": DEFAULT_PASSWORD}).json()
    cancelled = client.post(
        f"/api/v1/orders/{body['id']}/cancel", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "refunded"
    assert {t["status"] for t in cancelled.json()["tickets"]} == {"refunded"}
    assert [r["amount"] for r in stripe_fake.refunds.values()] == [5000]
    pg_session.expire_all()
    assert pg_session.get(TicketType, ticket_type.id).reserved == 0
