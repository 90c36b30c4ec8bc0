"""Delivery rules on SQLite: claims and leases, back-off, giving up, the admin retry, .eml files."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from bilten.models import AuditEntry, Notification, NotificationStatus, Role
from bilten.notifications import NotificationNotFailed, list_failed_notifications, retry_notification
from bilten.notifications.config import DeliveryConfig
from bilten.notifications.delivery import claim_next, fail_abandoned, send_due_notifications
from bilten.notifications.mime import EncodedEmail
from bilten.notifications.outbox import dispatch_outbox
from bilten.notifications.senders import FileSender, SmtpSender
from bilten.notifications.worker import Delivery, notification_loop, run_in_process_worker
from bilten.services.errors import Forbidden, NotFound
from bilten.settings import Settings
from tests.factories import make_event, make_organization, make_user
from tests.notifications_support import SmtpSink, emit, eml_files, make_paid_order, wait_until

CONFIG = DeliveryConfig(retry_delays=(30, 120, 600), lease_seconds=60, smtp_timeout_seconds=2)


class Clock:
    def __init__(self, start):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)


def _welcome(session, now, email="new@example.org"):
    user = make_user(session, now=now, email=email)
    emit(session, "user.registered", {"user_id": str(user.id)}, now)
    dispatch_outbox(session, now=now)
    return session.exec(select(Notification).where(Notification.recipient == email)).one()


def _reload(session, notification):
    return session.get(Notification, notification.id, populate_existing=True)


def _send(session, sender, clock, config=CONFIG):
    return send_due_notifications(
        session, sender, clock=clock, config=config, mail_from="Bilten <t@bilten.test>", public_url="http://bilten.test"
    )


def test_the_retry_schedule_has_one_more_attempt_than_delays():
    assert CONFIG.max_attempts == 4
    assert [CONFIG.delay_after(n) for n in (1, 2, 3, 4)] == [
        timedelta(seconds=30),
        timedelta(minutes=2),
        timedelta(minutes=10),
        None,
    ]
    assert DeliveryConfig(NOTIFY_RETRY_DELAYS="1, 2.5").retry_delays == (1.0, 2.5)


def test_without_smtp_emails_become_eml_files_and_a_repeat_overwrites_the_same_file(session, now, tmp_path, caplog):
    notification = _welcome(session, now)
    caplog.set_level(logging.INFO)
    assert _send(session, FileSender(tmp_path), Clock(now)).sent == 1
    files = eml_files(tmp_path)
    assert [f.name for f in files] == [f"user.registered_{notification.payload['user_id']}_email.eml"]
    assert str(files[0]) in caplog.text  # the path is logged
    stored = _reload(session, notification)
    assert stored.status == NotificationStatus.SENT and stored.sent_at == now and stored.attempts == 1
    assert stored.subject and "new@example.org" in stored.content

    FileSender(tmp_path).send(_message_like(files[0]), idempotency_key=notification.idempotency_key)
    assert len(eml_files(tmp_path)) == 1


def _message_like(path):
    return EncodedEmail(envelope_from="tickets@bilten.test", recipient="new@example.org", data=path.read_bytes())


def test_a_claimed_notification_is_nobody_elses_until_its_lease_runs_out(session, now):
    notification = _welcome(session, now)
    claim = claim_next(session, now=now, config=CONFIG)
    assert claim.notification.id == notification.id and claim.notification.attempts == 1
    assert claim_next(session, now=now + timedelta(seconds=59), config=CONFIG) is None
    # The worker died without a word; after the lease another one takes over, counting a new attempt.
    second = claim_next(session, now=now + timedelta(seconds=60), config=CONFIG)
    assert second.notification.id == notification.id and second.notification.attempts == 2
    assert second.token != claim.token


def test_a_worker_dying_in_the_last_attempt_leaves_a_failed_notification(session, now):
    notification = _welcome(session, now)
    for attempt in range(CONFIG.max_attempts):
        assert claim_next(session, now=now + attempt * CONFIG.lease, config=CONFIG) is not None
    later = now + CONFIG.max_attempts * CONFIG.lease
    assert claim_next(session, now=later, config=CONFIG) is None
    assert fail_abandoned(session, now=later, config=CONFIG) == 1
    assert _reload(session, notification).status == NotificationStatus.FAILED


def test_refusals_back_off_then_give_up_and_an_admin_retry_delivers(session, now):
    notification = _welcome(session, now)
    clock = Clock(now)
    with SmtpSink() as sink:
        sender = SmtpSender(host="127.0.0.1", port=sink.port, starttls=False, timeout=2)
        sink.faults = ["451"] * 4
        for delay in CONFIG.retry_delays:
            assert _send(session, sender, clock).retrying == 1
            stored = _reload(session, notification)
            assert stored.status == NotificationStatus.PENDING and "451" in stored.last_error
            assert stored.next_attempt_at == clock.now + timedelta(seconds=delay)
            clock.advance(seconds=delay - 1)
            assert _send(session, sender, clock).attempted == 0  # not due yet
            clock.advance(seconds=1)
        assert _send(session, sender, clock).failed == 1
        failed = _reload(session, notification)
        assert failed.status == NotificationStatus.FAILED and failed.attempts == 4 and failed.failed_at == clock.now

        admin = make_user(session, now=now, role=Role.ADMIN)
        listed = list_failed_notifications(session, actor=admin)
        assert [item.id for item in listed] == [notification.id] and listed[0].attempts == 4
        assert not hasattr(listed[0], "payload")
        retried = retry_notification(session, actor=admin, notification_id=notification.id, now=clock.now)
        assert retried.status == NotificationStatus.PENDING and retried.attempts == 0
        audit = session.exec(select(AuditEntry).where(AuditEntry.action == "notification.retried")).one()
        assert audit.data["attempts"] == 4 and audit.actor_user_id == admin.id

        assert _send(session, sender, clock).sent == 1
        sender.close()
    assert sink.recipients() == ["new@example.org"] and sink.data_commands == 5
    assert list_failed_notifications(session, actor=admin) == []


def test_a_permanent_refusal_fails_at_once(session, now):
    notification = _welcome(session, now)
    with SmtpSink() as sink:
        sink.faults = ["550"]
        sender = SmtpSender(host="127.0.0.1", port=sink.port, starttls=False, timeout=2)
        assert _send(session, sender, Clock(now)).failed == 1
    stored = _reload(session, notification)
    assert stored.status == NotificationStatus.FAILED and stored.attempts == 1 and "550" in stored.last_error


def test_only_admins_see_and_retry_failed_notifications(session, now):
    notification = _welcome(session, now)
    attendee = make_user(session, now=now)
    admin = make_user(session, now=now, role=Role.ADMIN)
    with pytest.raises(Forbidden):
        list_failed_notifications(session, actor=attendee)
    with pytest.raises(Forbidden):
        retry_notification(session, actor=attendee, notification_id=notification.id, now=now)
    with pytest.raises(NotificationNotFailed):
        retry_notification(session, actor=admin, notification_id=notification.id, now=now)
    with pytest.raises(NotFound):
        retry_notification(session, actor=admin, notification_id=admin.id, now=now)


def test_tickets_are_not_sent_for_an_order_cancelled_before_delivery(session, now, tmp_path):
    from bilten.models import Order, OrderStatus

    event = make_event(session, organization=make_organization(session, now=now), now=now)
    order = make_paid_order(session, event=event, now=now)
    dispatch_outbox(session, now=now)
    order = session.get(Order, order.id)
    order.status = OrderStatus.CANCELLED
    session.add(order)
    session.commit()
    assert _send(session, FileSender(tmp_path), Clock(now)).failed == 1
    assert "cancelled" in session.exec(select(Notification)).one().last_error
    assert eml_files(tmp_path) == []


def test_the_reset_link_is_not_kept_once_the_email_is_out(session, now, tmp_path):
    user = make_user(session, now=now)
    emit(
        session, "password.reset_requested", {"user_id": str(user.id), "reset_url": "http://b.test/reset?t=s3cret"}, now
    )
    dispatch_outbox(session, now=now)
    assert _send(session, FileSender(tmp_path), Clock(now)).sent == 1
    assert "s3cret" in eml_files(tmp_path)[0].read_text()
    stored = session.exec(select(Notification)).one()
    assert "s3cret" not in stored.content and "reset_url" not in stored.payload


def test_the_in_process_worker_dispatches_and_sends_until_stopped(sqlite_engine, session, now, tmp_path):
    make_user(session, now=now, email="loop@example.org")  # no event yet: nothing to send
    user = make_user(session, now=now, email="welcome@example.org")
    emit(session, "user.registered", {"user_id": str(user.id)}, now)
    delivery = Delivery(
        engine=sqlite_engine,
        config=CONFIG.model_copy(update={"poll_seconds": 0.05}),
        sender_factory=lambda: FileSender(tmp_path),
    )
    stop = threading.Event()
    thread = threading.Thread(target=run_in_process_worker, args=(stop,), kwargs={"delivery": delivery})
    thread.start()
    try:
        wait_until(lambda: len(eml_files(tmp_path)) == 1, what="the welcome email")
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_the_web_app_loop_runs_as_an_asyncio_task_and_stops_when_cancelled(sqlite_engine, session, now, tmp_path):
    user = make_user(session, now=now, email="async@example.org")
    emit(session, "user.registered", {"user_id": str(user.id)}, now)
    delivery = Delivery(
        engine=sqlite_engine,
        config=CONFIG.model_copy(update={"poll_seconds": 0.05}),
        sender_factory=lambda: FileSender(tmp_path),
    )

    async def scenario():
        task = asyncio.create_task(notification_loop(delivery=delivery))
        for _ in range(600):  # up to 30 s: a busy machine (the whole suite beside it) can be slow
            if eml_files(tmp_path):
                break
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(asyncio.wait_for(scenario(), timeout=40))
    assert len(eml_files(tmp_path)) == 1


def test_the_web_app_loop_stays_out_of_the_way_when_redis_delivers():
    settings = Settings(REDIS_URL="redis://127.0.0.1:1/0", SECRET_KEY="x" * 40)
    delivery = Delivery(settings=settings, engine=object(), config=CONFIG)  # the engine is never touched
    asyncio.run(asyncio.wait_for(notification_loop(delivery=delivery), timeout=5))
