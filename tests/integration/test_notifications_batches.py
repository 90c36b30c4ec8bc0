"""Batched delivery on PostgreSQL: workers that claim at the same moment, leases that run out, and
the render pool. Every email reaches the (real) SMTP server exactly once."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bilten.models import Notification, NotificationStatus, Order, OrderStatus
from bilten.notifications.config import DeliveryConfig
from bilten.notifications.delivery import InProcessPreparer, claim_due, send_claimed
from bilten.notifications.outbox import dispatch_outbox
from bilten.notifications.render_pool import RenderPool
from bilten.notifications.senders import SmtpSender
from bilten.notifications.worker import Delivery, run_in_process_worker
from bilten.settings import Settings
from tests.factories import make_event, make_organization, make_user
from tests.integration.conftest import Clock
from tests.notifications_support import SmtpSink, emit, make_paid_order, wait_until

MAIL_FROM = "Bilten <tickets@bilten.test>"
CONFIG = DeliveryConfig(
    retry_delays=(0.1, 0.1, 0.1),
    lease_seconds=60,
    poll_seconds=0.05,
    smtp_timeout_seconds=2,
    batch_size=7,
    worker_threads=2,
)


@pytest.fixture
def sink():
    with SmtpSink() as server:
        yield server


def _settings(sink: SmtpSink) -> Settings:
    return Settings(SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port, SMTP_TLS=False, MAIL_FROM=MAIL_FROM)


def _welcome_emails(session, now, count: int, prefix: str = "member") -> list[str]:
    recipients = []
    for n in range(count):
        user = make_user(session, now=now, email=f"{prefix}{n}@example.org")
        emit(session, "user.registered", {"user_id": str(user.id)}, now)
        recipients.append(user.email)
    return recipients


def _statuses(engine) -> Counter:
    with Session(engine) as session:
        return Counter(session.exec(select(Notification.status)).all())


def test_claims_taken_at_the_same_moment_never_overlap(pg_engine, pg_session, now):
    _welcome_emails(pg_session, now, 30)
    dispatch_outbox(pg_session, now=now)
    start = threading.Barrier(2)
    taken: list[list] = []

    def claim() -> None:
        with Session(pg_engine) as session:
            start.wait()
            taken.append(claim_due(session, now=now, config=CONFIG, limit=20))

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    first, second = ({claim.notification.id for claim in claims} for claims in taken)
    assert not first & second  # SKIP LOCKED: each row went to one worker only
    # None was left behind and neither took more than its limit. (How the 30 split depends on the
    # moment: two picks that run side by side each skip what the other has locked, e.g. 14 + 16.)
    assert len(first) + len(second) == 30
    assert max(len(first), len(second)) <= 20
    assert {claim.token for claim in taken[0]} != {claim.token for claim in taken[1]}  # one token per batch
    assert _statuses(pg_engine) == Counter({NotificationStatus.SENDING: 30})


def test_two_workers_sending_batches_at_once_deliver_every_email_exactly_once(pg_engine, pg_session, now, sink):
    expected = _welcome_emails(pg_session, now, 30)
    event = make_event(pg_session, organization=make_organization(pg_session, now=now), now=now)
    expected += [
        make_paid_order(pg_session, event=event, now=now, email=f"buyer{n}@example.org").buyer_email for n in range(6)
    ]
    stop = threading.Event()
    # Two workers as two processes would be: their own Delivery, batches of 7, two lanes each.
    workers = [
        threading.Thread(
            target=run_in_process_worker,
            args=(stop,),
            kwargs={"delivery": Delivery(engine=pg_engine, settings=_settings(sink), config=CONFIG)},
        )
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    try:
        wait_until(
            lambda: _statuses(pg_engine)[NotificationStatus.SENT] == len(expected), timeout=60, what="every email"
        )
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=20)
    assert Counter(sink.recipients()) == Counter(expected)  # each exactly once
    assert len(sink.messages) == len(expected)


def test_a_crashed_workers_batch_is_taken_over_once_its_lease_runs_out(pg_engine, pg_session, now, sink):
    expected = _welcome_emails(pg_session, now, 5)
    dispatch_outbox(pg_session, now=now)
    # A worker claims the whole batch and dies before sending anything.
    with Session(pg_engine) as session:
        assert len(claim_due(session, now=now, config=CONFIG, limit=10)) == 5
    clock = Clock(now + CONFIG.lease / 2)
    survivor = Delivery(engine=pg_engine, settings=_settings(sink), config=CONFIG, clock=clock)
    assert survivor.send_due().attempted == 0  # still the dead worker's: nobody else touches it
    clock.now = now + CONFIG.lease + timedelta(seconds=1)
    assert survivor.send_due().sent == 5
    assert Counter(sink.recipients()) == Counter(expected)
    with Session(pg_engine) as session:
        assert {n.attempts for n in session.exec(select(Notification)).all()} == {2}  # the dead one counted


def test_a_batch_that_outlives_its_lease_sends_only_what_it_still_holds(pg_engine, pg_session, now, sink):
    expected = _welcome_emails(pg_session, now, 4)
    dispatch_outbox(pg_session, now=now)
    with Session(pg_engine) as session:
        slow = claim_due(session, now=now, config=CONFIG, limit=10)
    assert len(slow) == 4
    # The slow worker is stuck past its lease; another worker takes the batch over and sends it.
    later = now + CONFIG.lease + timedelta(seconds=1)
    other = Delivery(engine=pg_engine, settings=_settings(sink), config=CONFIG, clock=Clock(later))
    assert other.send_due().sent == 4
    # The slow worker wakes up: renewing its lease shows it holds nothing any more, so it sends nothing.
    sender = SmtpSender(host="127.0.0.1", port=sink.port, starttls=False, timeout=2)
    with Session(pg_engine, expire_on_commit=False) as session:
        report = send_claimed(
            session,
            sender,
            slow,
            claimed_at=now,
            clock=Clock(later + timedelta(seconds=1)),
            config=CONFIG,
            mail_from=MAIL_FROM,
            public_url="https://bilten.test",
        )
    sender.close()
    assert report.attempted == 0
    assert Counter(sink.recipients()) == Counter(expected)  # once each, by the worker that held them


def test_the_render_pool_gives_the_same_emails_as_rendering_in_process(pg_engine, pg_session, now):
    event = make_event(pg_session, organization=make_organization(pg_session, now=now), now=now, title="Gala")
    make_paid_order(pg_session, event=event, now=now, tickets=2, email="en@example.org")
    make_paid_order(pg_session, event=event, now=now, tickets=1, locale="ar", name="ليلى", email="ar@example.org")
    _welcome_emails(pg_session, now, 1)
    dispatch_outbox(pg_session, now=now)
    with Session(pg_engine) as session:
        claims = claim_due(session, now=now, config=CONFIG, limit=10)
    assert len(claims) == 3
    pool = RenderPool(1, database_url=pg_engine.url.render_as_string(hide_password=False))
    try:
        with Session(pg_engine) as session:
            pooled = list(pool.prepare(session, claims, mail_from=MAIL_FROM, public_url="https://bilten.test", now=now))
            here = list(
                InProcessPreparer().prepare(
                    session, claims, mail_from=MAIL_FROM, public_url="https://bilten.test", now=now
                )
            )
    finally:
        pool.close()
    assert all(hasattr(outcome, "message") for outcome in here)  # all rendered, none failed
    assert pooled == here  # the same subjects, stored texts and bytes: QR images, PDF and calendar file


class _BuyerCancelsWhileRendered:
    """Renders a lane's whole share first (as the render pool may, well ahead of its sends); then,
    before the first of it is sent, the buyer of `order_id` cancels, in another transaction."""

    def __init__(self, engine, order_id) -> None:  # noqa: ANN001
        self.engine = engine
        self.order_id = str(order_id)

    def prepare(self, session, claims, **kwargs):  # noqa: ANN001, ANN003, ANN201
        outcomes = list(InProcessPreparer().prepare(session, claims, **kwargs))
        assert all(hasattr(outcome, "message") for outcome in outcomes)  # rendered while still paid
        if any(claim.notification.payload.get("order_id") == self.order_id for claim in claims):
            with Session(self.engine) as other:
                order = other.get(Order, uuid.UUID(self.order_id))
                order.status = OrderStatus.CANCELLED
                other.add(order)
                other.commit()
        yield from outcomes


def test_an_order_cancelled_after_its_batch_was_claimed_and_rendered_gets_no_tickets_email(
    pg_engine, pg_session, now, sink
):
    event = make_event(pg_session, organization=make_organization(pg_session, now=now), now=now)
    kept = make_paid_order(pg_session, event=event, now=now, email="kept@example.org")
    cancelled = make_paid_order(pg_session, event=event, now=now, email="cancelled@example.org")
    welcome = _welcome_emails(pg_session, now, 1)
    dispatch_outbox(pg_session, now=now)
    delivery = Delivery(engine=pg_engine, settings=_settings(sink), config=CONFIG, clock=Clock(now))
    delivery.preparer = _BuyerCancelsWhileRendered(pg_engine, cancelled.id)  # two lanes: each renders, then sends

    report = delivery.send_due()

    assert (report.sent, report.failed, report.retrying) == (2, 1, 0)
    assert Counter(sink.recipients()) == Counter(["kept@example.org", *welcome])  # none to the cancelled order
    with Session(pg_engine) as session:
        skipped = session.exec(select(Notification).where(Notification.recipient == "cancelled@example.org")).one()
        assert session.get(Order, kept.id).status == OrderStatus.PAID
    assert skipped.status == NotificationStatus.FAILED  # for good: an admin's retry would be refused at rendering
    assert skipped.last_error == "order is cancelled, no longer paid: tickets not sent"
    assert skipped.sent_at is None
