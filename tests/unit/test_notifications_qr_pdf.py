"""The fast ticket drawing gives what the slow one gave: QR modules identical to segno's, PNGs
that decode, and a hand-written PDF that reads exactly like reportlab's drawing of the same pages."""

from __future__ import annotations

import base64
import io
import random
import re
import uuid

import pytest
import segno
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image
from pypdf import PdfReader

from bilten.notifications import attachments
from bilten.notifications.attachments import TicketPage, qr_png, tickets_pdf
from bilten.notifications.qr import ALPHANUMERIC, qr_modules
from bilten.services.ticket_codes import sign_ticket_code


def _segno(code: str) -> tuple[bytes, ...]:
    symbol = segno.make_qr(code, error="m", boost_error=False, mask=0)
    return tuple(bytes(row) for row in symbol.matrix)


def _ticket_code() -> str:
    return sign_ticket_code(Ed25519PrivateKey.generate(), event_id=uuid.uuid4(), ticket_id=uuid.uuid4())


def test_fast_qr_codes_are_module_for_module_segnos():
    rng = random.Random(13)
    lengths = [*range(1, 420), 700, 1000, 1500, 1852]  # every version up to 16, and the largest ones
    for length in lengths:
        code = "".join(rng.choice(ALPHANUMERIC) for _ in range(length))
        assert qr_modules(code) == _segno(code), length
    for _ in range(20):
        code = _ticket_code()
        assert qr_modules(code) == _segno(code)


@pytest.mark.parametrize("code", ["12345678901234", "lower-case code", "Ünïcode", "A", "x" * 3000])
def test_codes_off_the_fast_path_are_drawn_by_segno(code):
    if len(code) > 2000:  # too long for any QR version: segno says so
        with pytest.raises(segno.DataOverflowError):
            qr_modules(code)
    else:
        assert qr_modules(code) == _segno(code)


def test_the_png_of_a_ticket_code_decodes_to_the_code():
    for _ in range(5):
        code = _ticket_code()
        png = qr_png(code)
        image = Image.open(io.BytesIO(png))
        assert image.mode == "1" and image.size == ((41 + 8) * 6,) * 2
        (result,) = zxingcpp.read_barcodes(image)
        assert result.text == code


LABELS = {
    "when": "When",
    "where": "Where",
    "holder": "Holder",
    "ticket_type": "Ticket type",
    "reference": "Reference",
    "footer": "Show this page (or the QR code) at the entrance \\ thanks",
}


def _pages(count: int) -> list[TicketPage]:
    return [
        TicketPage(
            heading=f"Ticket {number} of {count}",
            event_title="Frühlingsgala — Élan €",
            when="Sat, 5 Jun 2027, 8:00\u202fPM",
            venue_lines=("Grand Hall", "Street 1", "Zürich") if number % 2 else (),
            holder="Omar (VIP)",
            ticket_type="Standard",
            code=_ticket_code(),
            reference="K7QM-4XHT-2P",
            labels=LABELS,
        )
        for number in range(1, count + 1)
    ]


def _rectangles(page) -> list[str]:
    return re.findall(r"^\d+ \d+ \d+ 1 re$", page.get_contents().get_data().decode("latin-1"), re.MULTILINE)


@pytest.mark.parametrize("rtl", [False, True])
def test_the_written_pdf_reads_like_reportlabs(rtl):
    pages = _pages(3)
    title = "Your tickets for Frühlingsgala — €"
    written = PdfReader(io.BytesIO(tickets_pdf(pages, rtl=rtl, title=title)))
    drawn = PdfReader(
        io.BytesIO(
            attachments.reportlab_tickets_pdf(
                pages, rtl=rtl, title=title, fonts=attachments.STANDARD_FONTS, shown=attachments._winansi
            )
        )
    )
    assert written.metadata.title == drawn.metadata.title == title
    assert len(written.pages) == len(drawn.pages) == 3
    for ours, theirs in zip(written.pages, drawn.pages, strict=True):
        assert ours.extract_text() == theirs.extract_text()
        assert ours.extract_text(extraction_mode="layout") == theirs.extract_text(extraction_mode="layout")
        assert _rectangles(ours) == _rectangles(theirs) and _rectangles(ours)
        assert ours.mediabox == theirs.mediabox


def test_texts_beyond_winansi_still_embed_a_unicode_font():
    page = _pages(1)[0]
    arabic = TicketPage(**{**page.__dict__, "holder": "ليلى حداد"})
    data = tickets_pdf([arabic], rtl=True, title="تذاكرك")
    assert b"FontFile2" in data  # DejaVu embedded by reportlab
    assert "ReportLab" in PdfReader(io.BytesIO(data)).metadata.producer
    plain = tickets_pdf([page], rtl=False, title="x")
    assert b"FontFile" not in plain and PdfReader(io.BytesIO(plain)).metadata.producer == "Bilten"


def test_a_pdf_string_with_delimiters_survives():
    page = TicketPage(**{**_pages(1)[0].__dict__, "holder": "a (b) \\ c)", "event_title": "((("})
    text = PdfReader(io.BytesIO(tickets_pdf([page], rtl=False, title="t"))).pages[0].extract_text()
    assert "a (b) \\ c)" in text and "(((" in text


def test_base64_of_a_ticket_code_is_alphanumeric():
    # Ticket codes are base32 (upper case letters and digits 2-7): always the fast path.
    assert set(base64.b32encode(bytes(range(85))).decode()) <= set(ALPHANUMERIC)


# ---------------------------------------------------------------------------------------------
# A batch's ticket emails, loaded set-wise, are the very bytes of emails rendered one by one.


def test_a_batch_rendered_from_prefetched_rows_gives_the_same_emails_as_one_by_one(session, now):
    from datetime import timedelta

    from sqlmodel import select

    from bilten.models import Notification, Order, OrderStatus
    from bilten.notifications.outbox import dispatch_outbox
    from bilten.notifications.rendering import prefetch, prepare_email
    from tests.factories import make_event, make_organization
    from tests.notifications_support import make_paid_order

    organization = make_organization(session, now=now)
    gala = make_event(session, organization=organization, now=now, title="Gala")
    other = make_event(session, organization=organization, now=now, title="Matinee")
    for number, (event, locale, tickets) in enumerate(
        [(gala, "en", 2), (gala, "de", 1), (gala, "ar", 1), (other, "fr", 3), (gala, "en", 1)]
    ):
        make_paid_order(
            session,
            event=event,
            now=now + timedelta(minutes=number),
            tickets=tickets,
            locale=locale,
            email=f"buyer{number}@example.org",
        )
    cancelled = make_paid_order(session, event=gala, now=now, tickets=1, email="late@example.org")
    dispatch_outbox(session, now=now)
    session.get(Order, cancelled.id).status = OrderStatus.CANCELLED
    session.commit()
    notifications = session.exec(select(Notification).order_by(Notification.recipient)).all()
    assert len(notifications) == 6
    options = {"mail_from": "Bilten <tickets@bilten.test>", "public_url": "https://bilten.test", "now": now}
    one_by_one = [prepare_email(session, notification, **options) for notification in notifications]
    prefetched = prefetch(session, list(notifications))
    session.rollback()  # what the worker does between emails: the prefetched rows stay loaded
    batch = [prepare_email(session, notification, prefetched=prefetched, **options) for notification in notifications]
    assert batch == one_by_one
    failures = [outcome for outcome in batch if not hasattr(outcome, "message")]
    assert [failure.permanent for failure in failures] == [True]  # the cancelled order's tickets are not sent
    assert len(prefetched.orders) == 6 and len({id(bundle.shared) for bundle in prefetched.orders.values()}) == 2


def test_the_shared_calendar_file_is_the_one_made_for_each_order(session, now):
    from datetime import datetime, timedelta

    from bilten.notifications.ticket_emails import EventParts, _shared_calendar, event_calendar
    from tests.factories import make_event, make_organization

    event = make_event(session, organization=make_organization(session, now=now), now=now, title="Gala; a, b\\c")
    parts = EventParts()
    for offset in range(4):
        stamp = now + timedelta(minutes=offset, microseconds=offset)
        for locale in ("en", "de"):
            shared = _shared_calendar(parts, event, public_url="https://x.test", stamp=stamp, locale=locale)
            assert shared == event_calendar(event, public_url="https://x.test", stamp=stamp, locale=locale)
    assert len(parts.calendars) == 2
    naive = datetime(2027, 1, 1, 12, 0)  # not the usual UTC stamp: made whole, not from the template
    assert _shared_calendar(parts, event, public_url="https://x.test", stamp=naive, locale="en") == event_calendar(
        event, public_url="https://x.test", stamp=naive, locale="en"
    )
