"""The outbox dispatcher: one notification per fact, in the recipient's language, nothing twice."""

from __future__ import annotations

import uuid

from sqlmodel import select

from bilten.models import Notification, NotificationStatus, OutboxEvent
from bilten.notifications.outbox import dispatch_outbox
from tests.factories import make_event, make_organization, make_user
from tests.notifications_support import emit, make_paid_order


def _notifications(session) -> list[Notification]:
    return list(session.exec(select(Notification).order_by(Notification.idempotency_key)).all())


def test_each_topic_becomes_one_email_notification_and_the_event_is_marked_dispatched(session, now):
    user = make_user(session, now=now, email="amira@example.org")
    user.locale = "ar"
    session.add(user)
    session.commit()
    event = make_event(session, organization=make_organization(session, now=now), now=now)
    order = make_paid_order(session, event=event, now=now, locale="ar", email="buyer@example.org")
    emit(session, "order.cancelled", {"order_id": str(order.id), "refunded": True}, now)
    emit(session, "user.registered", {"user_id": str(user.id)}, now)
    emit(session, "password.reset_requested", {"user_id": str(user.id), "reset_url": "http://x/reset?t=s3cret"}, now)

    created = dispatch_outbox(session, now=now)

    notifications = _notifications(session)
    assert len(created) == 4 == len(notifications)
    by_topic = {n.topic: n for n in notifications}
    assert by_topic["order.paid"].idempotency_key == f"order.paid:{order.id}:email"
    assert by_topic["order.paid"].recipient == "buyer@example.org" and by_topic["order.paid"].locale == "ar"
    assert by_topic["order.cancelled"].payload == {"order_id": str(order.id), "refunded": True}
    assert by_topic["user.registered"].recipient == "amira@example.org"
    assert by_topic["password.reset_requested"].payload["reset_url"] == "http://x/reset?t=s3cret"
    assert all(
        n.status == NotificationStatus.PENDING and n.next_attempt_at == now and n.channel == "email"
        for n in notifications
    )
    outbox = session.exec(select(OutboxEvent)).all()
    assert all(event.dispatched_at == now for event in outbox)
    # The reset link lives on in the notification only, not in the outbox.
    assert all("reset_url" not in event.payload for event in outbox)


def test_the_same_fact_twice_gives_one_notification(session, now):
    event = make_event(session, organization=make_organization(session, now=now), now=now)
    order = make_paid_order(session, event=event, now=now)
    dispatch_outbox(session, now=now)
    emit(session, "order.paid", {"order_id": str(order.id)}, now)  # emitted again (a replayed webhook, ...)

    assert dispatch_outbox(session, now=now) == []
    assert len(_notifications(session)) == 1
    assert session.exec(select(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))).all() == []


def test_every_password_reset_request_gets_its_own_email(session, now):
    user = make_user(session, now=now)
    for token in ("one", "two"):
        emit(session, "password.reset_requested", {"user_id": str(user.id), "reset_url": f"http://x/r?t={token}"}, now)
    dispatch_outbox(session, now=now)
    assert sorted(n.payload["reset_url"] for n in _notifications(session)) == ["http://x/r?t=one", "http://x/r?t=two"]


def test_every_resend_request_sends_the_tickets_email_again(session, now, tmp_path):
    event = make_event(session, organization=make_organization(session, now=now), now=now)
    order = make_paid_order(session, event=event, now=now)
    for _ in range(2):
        emit(session, "order.tickets_resent", {"order_id": str(order.id), "request_id": str(uuid.uuid4())}, now)
    dispatch_outbox(session, now=now)
    resent = [n for n in _notifications(session) if n.topic == "order.tickets_resent"]
    assert len(resent) == 2 and {n.recipient for n in resent} == {order.buyer_email}

    from bilten.notifications.rendering import render_notification

    rendered = render_notification(session, resent[0], public_url="http://b.test")
    assert (
        rendered.subject == render_notification(session, _notifications(session)[0], public_url="http://b.test").subject
    )
    assert [a.filename for a in rendered.attachments] == ["tickets.pdf", "event.ics"]


def test_topics_without_email_and_vanished_subjects_are_dispatched_without_notification(session, now):
    emit(session, "order.placed", {"order_id": str(uuid.uuid4())}, now)
    emit(session, "order.paid", {"order_id": str(uuid.uuid4())}, now)
    emit(session, "user.registered", {"user_id": "not-a-uuid"}, now)
    assert dispatch_outbox(session, now=now) == []
    assert _notifications(session) == []
    assert session.exec(select(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))).all() == []


def test_dispatch_works_in_batches(session, now):
    user = make_user(session, now=now)
    for _ in range(5):
        emit(session, "password.reset_requested", {"user_id": str(user.id), "reset_url": "http://x"}, now)
    assert len(dispatch_outbox(session, now=now, limit=3)) == 3
    assert len(dispatch_outbox(session, now=now, limit=3)) == 2
    assert dispatch_outbox(session, now=now, limit=3) == []
