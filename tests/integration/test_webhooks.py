"""Outgoing webhooks on PostgreSQL, end to end: registered over the API, fed by real payments (the
Stripe fake), refunds and scans, delivered by the worker's own functions to a local receiver that
times out, fails and heals, on the test clock."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from bilten.models import (
    Membership,
    Notification,
    OutboxEvent,
    Role,
    TeamRole,
    Ticket,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from bilten.notifications.config import DeliveryConfig
from bilten.notifications.rendering import render_notification
from bilten.notifications.worker import Delivery, run_in_process_worker
from bilten.services import checkins
from bilten.services.event_admin import publish_event
from bilten.webhook_settings import WebhookSettings, get_webhook_settings
from tests.factories import DEFAULT_PASSWORD, make_event, make_organization, make_user
from tests.integration import test_stripe_payments
from tests.integration.test_stripe_payments import buy, deliver
from tests.notifications_support import emit, eml_files, make_paid_order, wait_until
from tests.webhook_support import Receiver, readme_verifier

# The Stripe fake and an event on sale, as the payment tests have them.
stripe_fake = test_stripe_payments.stripe_fake
event_on_sale = test_stripe_payments.event_on_sale

CONFIG = WebhookSettings(
    WEBHOOK_ALLOW_PRIVATE_TARGETS=True,
    WEBHOOK_RETRY_DELAYS="60,300,1800",
    WEBHOOK_CONNECT_TIMEOUT_SECONDS=0.5,
    WEBHOOK_TIMEOUT_SECONDS=0.5,
    WEBHOOK_DISABLE_AFTER_FAILURES=10,
)


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def private_targets(monkeypatch):
    """The API accepts local receivers (as in demo mode)."""
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_TARGETS", "1")
    get_webhook_settings.cache_clear()
    yield
    get_webhook_settings.cache_clear()


@pytest.fixture
def strict_targets(monkeypatch):
    monkeypatch.delenv("WEBHOOK_ALLOW_PRIVATE_TARGETS", raising=False)
    monkeypatch.setenv("BILTEN_DEMO", "0")
    get_webhook_settings.cache_clear()
    yield
    get_webhook_settings.cache_clear()


def bearer(client, user) -> dict[str, str]:
    tokens = client.post("/api/v1/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD}).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def add_owner(session, organization_id, now, email=None):
    owner = make_user(session, role=Role.ORGANIZER, now=now, email=email)
    session.add(Membership(organization_id=organization_id, user_id=owner.id, team_role=TeamRole.OWNER, created_at=now))
    session.commit()
    return owner


def register(client, headers, organization_id, url, events):
    answer = client.post(
        f"/api/v1/organizations/{organization_id}/webhooks", json={"url": url, "events": events}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def worker(pg_engine, clock, config=CONFIG) -> Delivery:
    return Delivery(engine=pg_engine, clock=clock, webhook_config=config)


def cycle(delivery: Delivery) -> int:
    """One turn of the worker loop for webhooks: dispatch the outbox, POST what is due."""
    delivery.dispatch()
    return delivery.deliver_webhooks()


def deliveries(session, endpoint_id) -> list[WebhookDelivery]:
    session.expire_all()
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == uuid.UUID(str(endpoint_id)))
    return list(session.exec(query.order_by(WebhookDelivery.created_at, WebhookDelivery.position)).all())


def pay_with_stripe(client, fake, ticket_type) -> dict:
    body = buy(client, ticket_type).json()
    paid = deliver(client, fake, fake.event("checkout.session.completed", fake.pay(body["payment"]["reference"])))
    assert paid.json()["result"] == "paid"
    return body


def test_a_paid_order_reaches_the_endpoint_once_signed_as_the_readme_says(
    client, stripe_fake, event_on_sale, pg_session, pg_engine, clock, receiver, private_targets, tmp_path
):
    event, ticket_type = event_on_sale
    owner = add_owner(pg_session, event.organization_id, clock.now)
    endpoint = register(client, bearer(client, owner), event.organization_id, receiver.url, ["order.paid"])
    assert endpoint["secret"].startswith("whsec_") and endpoint["active"] is True

    order = pay_with_stripe(client, stripe_fake, ticket_type)

    # The real in-process worker loop (emails go to a folder here), until the receiver has it.
    stop = threading.Event()
    delivery = Delivery(
        engine=pg_engine,
        clock=clock,
        webhook_config=CONFIG,
        config=DeliveryConfig(NOTIFY_POLL_SECONDS=0.05, MAIL_OUTBOX_DIR=tmp_path),
    )
    loop = threading.Thread(target=run_in_process_worker, args=(stop,), kwargs={"delivery": delivery})
    loop.start()
    try:
        wait_until(lambda: receiver.requests, what="the webhook")
        wait_until(lambda: deliveries(pg_session, endpoint["id"])[0].status == "succeeded", what="success recorded")
        for _ in range(3):  # more cycles send nothing more
            cycle(delivery)
    finally:
        stop.set()
        loop.join(timeout=30)

    assert len(receiver.requests) == 1
    received = receiver.requests[0]
    body = json.loads(received.body)
    assert received.headers["x-bilten-event"] == "order.paid" and body["type"] == "order.paid"
    assert body["data"]["order_id"] == order["id"] and body["data"]["total_minor"] == 5000
    assert received.headers["x-bilten-delivery"] == body["id"]
    assert received.headers["content-type"] == "application/json"

    verify = readme_verifier()
    signature = received.headers["x-bilten-signature"]
    timestamp = int(signature.split(",")[0].removeprefix("t="))
    assert timestamp == int(clock.now.timestamp())
    assert verify(endpoint["secret"], signature, received.body, now=timestamp + 10)
    # A replay later than the tolerance, a changed body or another secret are refused.
    assert not verify(endpoint["secret"], signature, received.body, now=timestamp + 301)
    assert not verify(endpoint["secret"], signature, received.body.replace(b"5000", b"1"), now=timestamp)
    assert not verify("whsec_other", signature, received.body, now=timestamp)
    assert not verify(endpoint["secret"], "garbage", received.body, now=timestamp)

    log = client.get(
        f"/api/v1/organizations/{event.organization_id}/webhooks/{endpoint['id']}/deliveries",
        headers=bearer(client, owner),
    ).json()
    assert [(d["event_type"], d["status"], d["attempts"]) for d in log] == [("order.paid", "succeeded", 1)]
    assert log[0]["log"][0]["status_code"] == 200 and len(log[0]["log"][0]["response_excerpt"]) == 1024


def test_a_receiver_that_times_out_then_fails_then_heals_gets_it_on_the_third_attempt(
    client, pg_session, pg_engine, clock, receiver, private_targets
):
    owner = make_user(pg_session, role=Role.ORGANIZER, now=clock.now)
    org = make_organization(pg_session, members=(owner,), now=clock.now)
    event = make_event(pg_session, organization=org, now=clock.now)
    endpoint = register(client, bearer(client, owner), org.id, receiver.url, ["order.paid", "order.refunded"])
    receiver.script = ["timeout", "500"]
    make_paid_order(pg_session, event=event, now=clock.now)
    delivery = worker(pg_engine, clock)

    assert cycle(delivery) == 1  # times out
    assert cycle(delivery) == 0  # not due before its backoff
    clock.now += timedelta(seconds=59)
    assert cycle(delivery) == 0
    clock.now += timedelta(seconds=1)
    assert cycle(delivery) == 1  # 500
    clock.now += timedelta(seconds=299)
    assert cycle(delivery) == 0
    clock.now += timedelta(seconds=1)
    assert cycle(delivery) == 1  # healed
    clock.now += timedelta(hours=3)
    assert cycle(delivery) == 0

    [sent] = deliveries(pg_session, endpoint["id"])
    assert sent.status == "succeeded" and sent.attempts == 3
    log = pg_session.exec(
        select(WebhookAttempt).where(WebhookAttempt.delivery_id == sent.id).order_by(WebhookAttempt.attempted_at)
    ).all()
    assert [a.status_code for a in log] == [None, 500, 200]
    assert "timed out" in log[0].error and log[1].error == "HTTP 500" and log[2].succeeded
    assert "receiver broke" in log[1].response_excerpt
    assert len(receiver.requests) == 3
    assert len({r.headers["x-bilten-delivery"] for r in receiver.requests}) == 1  # one delivery, three tries
    assert pg_session.get(WebhookEndpoint, uuid.UUID(endpoint["id"])).consecutive_failures == 0


def test_a_refund_waits_for_the_payment_webhook_that_is_being_retried(
    client, stripe_fake, event_on_sale, pg_session, pg_engine, clock, receiver, private_targets
):
    event, ticket_type = event_on_sale
    owner = add_owner(pg_session, event.organization_id, clock.now)
    headers = bearer(client, owner)
    endpoint = register(client, headers, event.organization_id, receiver.url, ["order.paid", "order.refunded"])
    receiver.script = ["500"]
    delivery = worker(pg_engine, clock)

    order = pay_with_stripe(client, stripe_fake, ticket_type)
    assert cycle(delivery) == 1  # order.paid fails
    refunded = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=headers)
    assert refunded.status_code == 200 and refunded.json()["status"] == "refunded"
    assert cycle(delivery) == 0  # order.refunded is queued, but waits for order.paid
    assert [d.event_type for d in deliveries(pg_session, endpoint["id"])] == ["order.paid", "order.refunded"]

    clock.now += timedelta(seconds=60)
    cycle(delivery)
    cycle(delivery)
    types = [json.loads(r.body)["type"] for r in receiver.requests]
    assert types == ["order.paid", "order.paid", "order.refunded"]
    assert [d.status for d in deliveries(pg_session, endpoint["id"])] == ["succeeded", "succeeded"]


def test_an_endpoint_failing_again_and_again_is_switched_off_and_its_owners_told(
    client, pg_session, pg_engine, clock, receiver, private_targets
):
    owner = make_user(pg_session, role=Role.ORGANIZER, now=clock.now, email="owner@example.org")
    org = make_organization(pg_session, members=(owner,), now=clock.now)
    event = make_event(pg_session, organization=org, now=clock.now)
    headers = bearer(client, owner)
    endpoint = register(client, headers, org.id, receiver.url, ["order.paid"])
    receiver.script = ["500"] * 50
    config = CONFIG.model_copy(update={"disable_after_failures": 3, "retry_delays": (60.0,) * 9})
    delivery = worker(pg_engine, clock, config)
    for _ in range(2):
        make_paid_order(pg_session, event=event, now=clock.now)

    cycle(delivery)  # two orders: two failures
    clock.now += timedelta(seconds=60)
    cycle(delivery)  # the third failure switches it off (the fourth is not tried)
    assert len(receiver.requests) == 3
    stored = pg_session.get(WebhookEndpoint, uuid.UUID(endpoint["id"]))
    pg_session.refresh(stored)
    assert stored.active is False and stored.disabled_at == clock.now and stored.consecutive_failures == 3
    for _ in range(3):
        clock.now += timedelta(seconds=60)
        cycle(delivery)
    assert len(receiver.requests) == 3  # off means off

    told = pg_session.exec(select(Notification).where(Notification.topic == "webhook.disabled")).all()
    assert [n.recipient for n in told] == ["owner@example.org"]
    email = render_notification(pg_session, told[0], public_url="https://tickets.example.org")
    assert receiver.url in email.text and f"/organizer/organizations/{org.id}/webhooks" in email.text
    listed = client.get(f"/api/v1/organizations/{org.id}/webhooks", headers=headers).json()
    assert listed[0]["active"] is False and "secret" not in listed[0]
    # "Send again" is refused while it is off...
    first = deliveries(pg_session, endpoint["id"])[0]
    refused = client.post(
        f"/api/v1/organizations/{org.id}/webhooks/{endpoint['id']}/deliveries/{first.id}/redeliver", headers=headers
    )
    assert refused.status_code == 422 and refused.json()["error"]["message"]

    # ...switched on again, the waiting deliveries go out.
    receiver.script = []
    on = client.patch(
        f"/api/v1/organizations/{org.id}/webhooks/{endpoint['id']}", json={"active": True}, headers=headers
    )
    assert on.status_code == 200 and on.json()["active"] is True and on.json()["consecutive_failures"] == 0
    clock.now += timedelta(seconds=60)
    cycle(delivery)
    assert [d.status for d in deliveries(pg_session, endpoint["id"])] == ["succeeded", "succeeded"]


def test_send_again_posts_the_same_delivery_once_more(client, pg_session, pg_engine, clock, receiver, private_targets):
    owner = make_user(pg_session, role=Role.ORGANIZER, now=clock.now)
    org = make_organization(pg_session, members=(owner,), now=clock.now)
    event = make_event(pg_session, organization=org, now=clock.now)
    headers = bearer(client, owner)
    endpoint = register(client, headers, org.id, receiver.url, ["order.paid"])
    make_paid_order(pg_session, event=event, now=clock.now)
    delivery = worker(pg_engine, clock)
    cycle(delivery)
    [sent] = deliveries(pg_session, endpoint["id"])

    again = client.post(
        f"/api/v1/organizations/{org.id}/webhooks/{endpoint['id']}/deliveries/{sent.id}/redeliver", headers=headers
    )
    assert again.status_code == 202 and again.json()["status"] == "pending"
    cycle(delivery)
    assert [r.headers["x-bilten-delivery"] for r in receiver.requests] == [str(sent.id), str(sent.id)]
    assert deliveries(pg_session, endpoint["id"])[0].attempts == 2


def test_scans_and_publishing_reach_subscribed_endpoints_only(
    client, pg_session, pg_engine, clock, receiver, private_targets
):
    owner = make_user(pg_session, role=Role.ORGANIZER, now=clock.now)
    org = make_organization(pg_session, members=(owner,), now=clock.now)
    event = make_event(pg_session, organization=org, now=clock.now)
    draft = make_event(pg_session, organization=org, now=clock.now, title="Later", status="draft")
    headers = bearer(client, owner)
    register(client, headers, org.id, receiver.url, ["ticket.checked_in", "event.published"])
    order = make_paid_order(pg_session, event=event, now=clock.now, tickets=1)
    ticket = pg_session.exec(select(Ticket).where(Ticket.order_id == order.id)).one()

    verdict = checkins.scan_ticket(
        pg_session,
        actor=owner,
        event_id=event.id,
        code=ticket.code,
        nonce=str(uuid.uuid4()),
        scanned_at=clock.now,
        now=clock.now,
    )
    assert verdict.result == "valid"
    publish_event(pg_session, actor=owner, event_id=draft.id, now=clock.now)
    delivery = worker(pg_engine, clock)
    cycle(delivery)
    cycle(delivery)

    bodies = sorted((json.loads(r.body) for r in receiver.requests), key=lambda b: b["type"])
    assert [b["type"] for b in bodies] == ["event.published", "ticket.checked_in"]  # no order.paid: not asked
    assert bodies[0]["data"]["event_id"] == str(draft.id)
    assert bodies[1]["data"]["ticket_id"] == str(ticket.id) and bodies[1]["data"]["order_id"] == str(order.id)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:8080/hook", "private"),
        ("http://10.1.2.3/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "private"),
        ("http://[::1]/hook", "private"),
        ("http://localhost:9000/hook", "private"),
        ("http://0.0.0.0/hook", "private"),
        ("http://192.168.1.10/hook", "private"),
        ("http://[::ffff:127.0.0.1]/hook", "private"),  # IPv4-mapped IPv6
        ("http://2130706433/hook", "private"),  # 127.0.0.1 written as one number
        ("http://100.64.0.1/hook", "private"),  # carrier-grade NAT: not public either
        ("http://[fe80::1]/hook", "private"),
        ("ftp://example.org/hook", "http"),
        ("https://user:pw@example.org/hook", "password"),
        ("http://no-such-host.invalid/hook", "resolve"),
        ("not a url", "http"),
        ("http://example.org:99999/hook", "http"),
    ],
)
def test_internal_and_malformed_targets_are_refused(client, pg_session, clock, strict_targets, url, message):
    owner = make_user(pg_session, role=Role.ORGANIZER, now=clock.now)
    org = make_organization(pg_session, members=(owner,), now=clock.now)
    answer = client.post(
        f"/api/v1/organizations/{org.id}/webhooks",
        json={"url": url, "events": ["order.paid"]},
        headers=bearer(client, owner),
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "validation_error"
    assert message in answer.json()["error"]["message"].lower()
    assert pg_session.exec(select(WebhookEndpoint)).all() == []


def test_a_target_that_turned_internal_is_not_called_at_delivery(
    client, pg_session, pg_engine, clock, receiver, private_targets
):
    owner = make_user(pg_session, role=Role.ORGANIZER, now=clock.now)
    org = make_organization(pg_session, members=(owner,), now=clock.now)
    event = make_event(pg_session, organization=org, now=clock.now)
    endpoint = register(client, bearer(client, owner), org.id, receiver.url, ["order.paid"])
    make_paid_order(pg_session, event=event, now=clock.now)
    # Off in this worker whatever the environment says (demo mode, which other tests turn on, allows them too).
    strict = CONFIG.model_copy(update={"allow_private_targets": False, "demo": False})
    cycle(worker(pg_engine, clock, strict))
    assert receiver.requests == []
    [refused] = deliveries(pg_session, endpoint["id"])
    assert refused.status == "pending" and refused.last_error == "refused: error.webhook_url_private"


def test_a_redirect_is_not_followed(client, pg_session, pg_engine, clock, receiver, private_targets):
    owner = make_user(pg_session, role=Role.ORGANIZER, now=clock.now)
    org = make_organization(pg_session, members=(owner,), now=clock.now)
    event = make_event(pg_session, organization=org, now=clock.now)
    endpoint = register(client, bearer(client, owner), org.id, receiver.url, ["order.paid"])
    receiver.script = ["redirect"]
    make_paid_order(pg_session, event=event, now=clock.now)
    cycle(worker(pg_engine, clock))
    assert len(receiver.requests) == 1
    [pending] = deliveries(pg_session, endpoint["id"])
    assert pending.status == "pending" and pending.last_status_code == 302 and "not followed" in pending.last_error


def test_only_the_organizations_owners_manage_its_webhooks(client, pg_session, clock, private_targets, receiver):
    now = clock.now
    owner = make_user(pg_session, role=Role.ORGANIZER, now=now)
    rival = make_user(pg_session, role=Role.ORGANIZER, now=now)
    manager = make_user(pg_session, role=Role.ORGANIZER, now=now)
    org = make_organization(pg_session, members=(owner,), now=now)
    rival_org = make_organization(pg_session, members=(rival,), now=now)
    pg_session.add(Membership(organization_id=org.id, user_id=manager.id, team_role=TeamRole.MANAGER, created_at=now))
    pg_session.commit()
    endpoint = register(client, bearer(client, owner), org.id, receiver.url, ["order.paid"])
    base = f"/api/v1/organizations/{org.id}/webhooks"

    for intruder in (rival, manager):
        headers = bearer(client, intruder)
        assert client.get(base, headers=headers).status_code == 403
        assert (
            client.post(base, json={"url": receiver.url, "events": ["order.paid"]}, headers=headers).status_code == 403
        )
        assert client.patch(f"{base}/{endpoint['id']}", json={"active": False}, headers=headers).status_code == 403
        assert client.delete(f"{base}/{endpoint['id']}", headers=headers).status_code == 403
        assert client.post(f"{base}/{endpoint['id']}/rotate-secret", headers=headers).status_code == 403
        assert client.get(f"{base}/{endpoint['id']}/deliveries", headers=headers).status_code == 403
    # The rival, owner of their own organization, cannot reach it through it either.
    rival_path = f"/api/v1/organizations/{rival_org.id}/webhooks/{endpoint['id']}"
    assert client.get(rival_path, headers=bearer(client, rival)).status_code == 404
    assert client.delete(rival_path, headers=bearer(client, rival)).status_code == 404
    assert client.get(base).status_code == 401
    pg_session.expire_all()
    stored = pg_session.get(WebhookEndpoint, uuid.UUID(endpoint["id"]))
    assert stored.active is True


def test_owners_change_rotate_and_delete_with_clear_errors(client, pg_session, clock, private_targets, receiver):
    owner = make_user(pg_session, role=Role.ORGANIZER, now=clock.now)
    org = make_organization(pg_session, members=(owner,), now=clock.now)
    headers = bearer(client, owner)
    base = f"/api/v1/organizations/{org.id}/webhooks"
    for body, expected in (
        ({"url": receiver.url, "events": []}, "at least one event"),
        ({"url": receiver.url, "events": ["order.paid", "order.exploded"]}, "order.exploded"),
        ({"url": "", "events": ["order.paid"]}, "http"),
    ):
        answer = client.post(base, json=body, headers=headers)
        assert answer.status_code == 422 and expected in answer.json()["error"]["message"].lower(), answer.text
    assert client.post(base, json={"events": ["order.paid"]}, headers=headers).status_code == 422

    endpoint = register(client, headers, org.id, receiver.url, ["order.paid"])
    changed = client.patch(
        f"{base}/{endpoint['id']}", json={"events": ["order.refunded", "order.paid"]}, headers=headers
    )
    assert changed.status_code == 200 and changed.json()["events"] == ["order.paid", "order.refunded"]
    rotated = client.post(f"{base}/{endpoint['id']}/rotate-secret", headers=headers).json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != endpoint["secret"]
    stored = pg_session.get(WebhookEndpoint, uuid.UUID(endpoint["id"]))
    pg_session.refresh(stored)
    assert stored.secret == rotated["secret"]
    assert client.get(f"{base}/{uuid.uuid4()}", headers=headers).status_code == 404
    assert client.delete(f"{base}/{endpoint['id']}", headers=headers).status_code == 204
    assert client.get(base, headers=headers).json() == []
    assert pg_session.exec(select(OutboxEvent).where(OutboxEvent.topic == "webhook.disabled")).all() == []


def test_a_slow_endpoint_does_not_hold_up_emails(client, pg_session, pg_engine, clock, private_targets, tmp_path):
    owner = make_user(pg_session, role=Role.ORGANIZER, now=clock.now)
    org = make_organization(pg_session, members=(owner,), now=clock.now)
    with Receiver(stall_seconds=3) as slow:
        register(client, bearer(client, owner), org.id, slow.url, ["event.published"])
        slow.script = ["timeout"] * 5
        for number in range(5):
            event = make_event(pg_session, organization=org, now=clock.now, title=f"Night {number}")
            emit(pg_session, "event.published", {"event_id": str(event.id)}, clock.now)

        stop = threading.Event()
        delivery = Delivery(
            engine=pg_engine,
            clock=clock,
            webhook_config=CONFIG.model_copy(update={"timeout_seconds": 2.0}),
            config=DeliveryConfig(NOTIFY_POLL_SECONDS=0.05, MAIL_OUTBOX_DIR=tmp_path),
        )
        loop = threading.Thread(target=run_in_process_worker, args=(stop,), kwargs={"delivery": delivery})
        loop.start()
        try:
            wait_until(lambda: slow.requests, what="the first webhook")
            # Someone signs up while the worker waits on the slow endpoint: the email goes out now.
            newcomer = make_user(pg_session, now=clock.now, email="newcomer@example.org")
            emit(pg_session, "user.registered", {"user_id": str(newcomer.id)}, clock.now)
            wait_until(lambda: eml_files(tmp_path), what="the welcome email")
            assert len(slow.requests) < 5  # the webhooks (2 s each) are still being tried
            wait_until(lambda: len(slow.requests) == 5, timeout=30, what="every webhook tried")
        finally:
            stop.set()
            loop.join(timeout=30)
