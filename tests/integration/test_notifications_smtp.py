"""Emails through a real SMTP server (aiosmtpd) on PostgreSQL: what arrives, and SMTP faults."""

from __future__ import annotations

import io
import threading
from collections import Counter

import pytest
import zxingcpp
from icalendar import Calendar
from PIL import Image
from pypdf import PdfReader
from sqlmodel import select

from bilten.models import Notification, NotificationStatus, Ticket
from bilten.notifications.config import DeliveryConfig
from bilten.notifications.worker import Delivery, run_in_process_worker
from bilten.services.ticket_codes import load_public_key, verify_ticket_code
from bilten.settings import Settings
from tests.factories import make_event, make_organization, make_user
from tests.notifications_support import SmtpSink, emit, make_paid_order, parts, wait_until

FAST = DeliveryConfig(
    retry_delays=(0.1, 0.1, 0.1, 0.1), lease_seconds=5, poll_seconds=0.05, smtp_timeout_seconds=1.5
)  # "stall" waits for this; real replies come far sooner


@pytest.fixture
def sink():
    with SmtpSink() as server:
        yield server


def smtp_settings(sink: SmtpSink) -> Settings:
    return Settings(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=sink.port,
        SMTP_TLS=False,
        MAIL_FROM="Bilten <tickets@bilten.test>",
        PUBLIC_URL="https://bilten.test",
    )


class RunningWorkers:
    """In-process workers on threads, stopped at the end of the test."""

    def __init__(self, delivery: Delivery, count: int = 1) -> None:
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=run_in_process_worker, args=(self.stop,), kwargs={"delivery": delivery})
            for _ in range(count)
        ]

    def __enter__(self) -> RunningWorkers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)


def _notification(pg_session, recipient) -> Notification:
    """The recipient's notification as the database has it now (an empty one until dispatched)."""
    found = pg_session.exec(
        select(Notification).where(Notification.recipient == recipient).execution_options(populate_existing=True)
    ).first()
    pg_session.rollback()  # the next look sees newer commits
    return found or Notification(recipient=recipient, idempotency_key="")


def test_a_paid_order_arrives_with_readable_qr_codes_a_pdf_and_a_calendar_file(pg_engine, pg_session, now, sink):
    event = make_event(pg_session, organization=make_organization(pg_session, now=now), now=now, title="Night Run")
    order = make_paid_order(pg_session, event=event, now=now, tickets=2, email="runner@example.org", locale="ar")

    with RunningWorkers(Delivery(engine=pg_engine, settings=smtp_settings(sink), config=FAST)):
        wait_until(lambda: len(sink.messages) == 1, what="the tickets email")

    message = sink.messages[0]
    assert message["To"] == "runner@example.org" and message["Subject"] == "تذاكرك لفعالية Night Run"
    found = parts(message)
    assert "Night Run" in found["text/plain"][0].get_content()
    html = found["text/html"][0].get_content()
    assert 'dir="rtl"' in html
    public_key = load_public_key(event.signing_public_key)
    decoded = set()
    for image in found["image/png"]:
        assert f"cid:{image['Content-ID'].strip('<>')}" in html
        (result,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.get_content())))
        decoded.add(verify_ticket_code(result.text, public_key).ticket_id)
    assert decoded == set(pg_session.exec(select(Ticket.id).where(Ticket.order_id == order.id)).all())
    assert len(PdfReader(io.BytesIO(found["application/pdf"][0].get_content())).pages) == 2
    entry = Calendar.from_ical(found["text/calendar"][0].get_content()).walk("VEVENT")[0]
    assert entry.decoded("DTSTART") == event.starts_at and entry.decoded("DTEND") == event.ends_at

    stored = _notification(pg_session, "runner@example.org")
    assert stored.status == NotificationStatus.SENT and stored.attempts == 1 and stored.sent_at is not None
    assert stored.channel == "email" and "Night Run" in stored.content


def test_a_server_refusing_three_times_gets_the_email_once_on_the_fourth_attempt(pg_engine, pg_session, now, sink):
    user = make_user(pg_session, now=now, email="patient@example.org")
    emit(pg_session, "user.registered", {"user_id": str(user.id)}, now)
    sink.faults = ["451", "451", "451"]

    with RunningWorkers(Delivery(engine=pg_engine, settings=smtp_settings(sink), config=FAST)):
        wait_until(lambda: len(sink.messages) == 1, what="the welcome email")
        wait_until(lambda: _notification(pg_session, "patient@example.org").status == NotificationStatus.SENT)

    assert sink.recipients() == ["patient@example.org"] and sink.data_commands == 4
    assert _notification(pg_session, "patient@example.org").attempts == 4


def test_time_outs_and_dropped_connections_are_retried(pg_engine, pg_session, now, sink):
    user = make_user(pg_session, now=now, email="unlucky@example.org")
    emit(pg_session, "user.registered", {"user_id": str(user.id)}, now)
    sink.faults = ["stall", "drop"]

    with RunningWorkers(Delivery(engine=pg_engine, settings=smtp_settings(sink), config=FAST)):
        wait_until(
            lambda: _notification(pg_session, "unlucky@example.org").status == NotificationStatus.SENT,
            what="delivery after the faults",
        )

    stored = _notification(pg_session, "unlucky@example.org")
    assert sink.recipients() == ["unlucky@example.org"] and stored.attempts == 3
    assert stored.last_error == ""


def test_a_server_that_is_down_is_retried_until_it_is_up(pg_engine, pg_session, now):
    user = make_user(pg_session, now=now, email="early@example.org")
    emit(pg_session, "user.registered", {"user_id": str(user.id)}, now)
    sink = SmtpSink()  # its port is reserved but nothing listens yet: connections are refused
    settings = smtp_settings(sink)
    with RunningWorkers(
        Delivery(engine=pg_engine, settings=settings, config=FAST.model_copy(update={"retry_delays": (0.3,) * 10}))
    ):
        wait_until(lambda: _notification(pg_session, "early@example.org").attempts >= 2, what="failed attempts")
        assert "Connection refused" in _notification(pg_session, "early@example.org").last_error
        with sink:
            wait_until(lambda: len(sink.messages) == 1, what="delivery once the server is up")
    assert sink.recipients() == ["early@example.org"]


def test_concurrent_workers_split_the_work_and_send_each_email_once(pg_engine, pg_session, now, sink):
    recipients = [f"fan{n}@example.org" for n in range(15)]
    for address in recipients:
        user = make_user(pg_session, now=now, email=address)
        emit(pg_session, "user.registered", {"user_id": str(user.id)}, now)

    with RunningWorkers(Delivery(engine=pg_engine, settings=smtp_settings(sink), config=FAST), count=3):
        wait_until(lambda: len(sink.messages) >= 15, what="15 emails")
        wait_until(
            lambda: all(
                n.status == NotificationStatus.SENT
                for n in pg_session.exec(select(Notification).execution_options(populate_existing=True)).all()
            )
        )

    assert Counter(sink.recipients()) == Counter(recipients)
    assert sink.data_commands == 15
