"""Email content: every topic in English and Arabic, HTML plus text, QR codes, PDF and calendar file."""

from __future__ import annotations

import io
import logging
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import zxingcpp
from icalendar import Calendar
from PIL import Image, ImageDraw
from pypdf import PdfReader
from sqlmodel import select

from bilten.models import Notification, Order, Ticket
from bilten.notifications import email_layout, rendering
from bilten.notifications.outbox import dispatch_outbox
from bilten.notifications.rendering import build_message, render_notification
from bilten.services.ticket_codes import load_public_key, verify_ticket_code
from bilten.services.ticket_references import format_reference
from tests.conftest import TEST_NOW
from tests.factories import make_event, make_organization, make_user
from tests.notifications_support import emit, make_paid_order, parts

PUBLIC_URL = "https://tickets.example.org"


@pytest.fixture
def event(session, now):
    return make_event(
        session, organization=make_organization(session, now=now), now=now, title="Spring Gala", timezone="Asia/Dubai"
    )


def _render(session, topic):
    notification = session.exec(select(Notification).where(Notification.topic == topic)).one()
    rendered = render_notification(session, notification, public_url=PUBLIC_URL)
    message = build_message(
        rendered,
        mail_from="Bilten <tickets@bilten.test>",
        recipient=notification.recipient,
        idempotency_key=notification.idempotency_key,
        locale=notification.locale,
        now=TEST_NOW + timedelta(minutes=5),
    )
    return rendered, message


def decode_qr(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    return results[0].text


def drawn_qr_png(page) -> bytes:
    """The QR code a PDF page draws (filled rectangles in module units), painted onto a picture."""
    content = page.get_contents().get_data().decode("latin-1")
    rectangles = [tuple(map(int, found)) for found in re.findall(r"^(\d+) (\d+) (\d+) 1 re$", content, re.MULTILINE)]
    assert rectangles, "no QR code drawn on the page"
    modules = max(x + width for x, _y, width in rectangles)
    scale, border = 4, 4
    picture = Image.new("1", ((modules + 2 * border) * scale,) * 2, 1)
    draw = ImageDraw.Draw(picture)
    for x, y, width in rectangles:
        left, top = (x + border) * scale, (y + border) * scale
        draw.rectangle([left, top, left + width * scale - 1, top + scale - 1], fill=0)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def test_paid_order_email_has_summary_inline_qr_codes_pdf_and_calendar(session, now, event):
    order = make_paid_order(session, event=event, now=now, tickets=3, holders=("Omar", "Sara", "Ali"))
    dispatch_outbox(session, now=now)
    rendered, message = _render(session, "order.paid")

    assert message["Subject"] == "Your tickets for Spring Gala"
    assert message["Message-ID"].endswith("@bilten.test>")
    found = parts(message)
    text = found["text/plain"][0].get_content()
    html = found["text/html"][0].get_content()
    assert order.id.hex[:8].upper() in text and "€75.00" in text and "Omar" in text
    assert '<html lang="en" dir="ltr">' in html and "Spring Gala" in html
    # Shown at the venue's time (Dubai, UTC+4), not in UTC.
    venue = event.starts_at.astimezone(ZoneInfo("Asia/Dubai"))
    assert f"{venue.hour % 12 or 12}:{venue:%M}" in text or f"{venue:%H:%M}" in text

    images = found["image/png"]
    assert len(images) == 3
    public_key = load_public_key(event.signing_public_key)
    ticket_ids = set(session.exec(select(Ticket.id).where(Ticket.order_id == order.id)).all())
    decoded = set()
    for image in images:
        cid = image["Content-ID"].strip("<>")
        assert f'src="cid:{cid}"' in html
        decoded.add(verify_ticket_code(decode_qr(image.get_content()), public_key).ticket_id)
    assert decoded == ticket_ids

    pdf = PdfReader(io.BytesIO(found["application/pdf"][0].get_content()))
    assert len(pdf.pages) == 3
    pages_text = [page.extract_text() for page in pdf.pages]
    assert all("Spring Gala" in text for text in pages_text)
    holders = sorted(name for name in ("Omar", "Sara", "Ali") for text in pages_text if name in text)
    assert holders == ["Ali", "Omar", "Sara"]  # one page each
    printed = {verify_ticket_code(decode_qr(drawn_qr_png(page)), public_key).ticket_id for page in pdf.pages}
    assert printed == ticket_ids

    calendar = Calendar.from_ical(found["text/calendar"][0].get_content())
    entry = calendar.walk("VEVENT")[0]
    assert str(entry["SUMMARY"]) == "Spring Gala" and entry.decoded("DTSTART") == event.starts_at
    assert str(entry["UID"]) == f"{event.id}@bilten"


def test_arabic_email_reads_right_to_left(session, now, event):
    make_paid_order(session, event=event, now=now, tickets=1, locale="ar", name="ليلى")
    dispatch_outbox(session, now=now)
    rendered, message = _render(session, "order.paid")
    html = parts(message)["text/html"][0].get_content()
    assert '<html lang="ar" dir="rtl">' in html and 'dir="rtl"' in html.split("<body", 1)[1]
    assert message["Subject"] == "تذاكرك لفعالية Spring Gala"
    assert "مرحبًا ليلى" in rendered.text
    assert message["Content-Language"] == "ar"
    assert len(PdfReader(io.BytesIO(parts(message)["application/pdf"][0].get_content())).pages) == 1


@pytest.mark.parametrize("refunded", [True, False])
def test_cancelled_order_email_says_whether_money_was_refunded(session, now, event, refunded):
    order = make_paid_order(session, event=event, now=now, tickets=2)
    session.exec(select(Order)).one()
    emit(session, "order.cancelled", {"order_id": str(order.id), "refunded": refunded}, now)
    dispatch_outbox(session, now=now)
    rendered, message = _render(session, "order.cancelled")
    assert message["Subject"] == "Your order for Spring Gala is cancelled"
    assert ("refunded €50.00" in rendered.text) is refunded
    assert parts(message).keys() == {"text/plain", "text/html"}


def test_welcome_and_password_reset_emails(session, now):
    user = make_user(session, now=now, email="noor@example.org")
    emit(session, "user.registered", {"user_id": str(user.id)}, now)
    emit(session, "password.reset_requested", {"user_id": str(user.id), "reset_url": "https://b.test/reset?t=abc"}, now)
    dispatch_outbox(session, now=now)

    welcome, message = _render(session, "user.registered")
    assert message["Subject"] == "Welcome to Bilten" and "noor@example.org" in welcome.text
    assert f'href="{PUBLIC_URL}/"' in welcome.html

    reset, message = _render(session, "password.reset_requested")
    assert message["Subject"] == "Reset your Bilten password"
    assert 'href="https://b.test/reset?t=abc"' in reset.html and "https://b.test/reset?t=abc" in reset.text
    assert "t=abc" not in reset.text_to_store()


def test_values_are_escaped_in_html(session, now):
    user = make_user(session, now=now)
    user.full_name = "<script>alert(1)</script>"
    session.add(user)
    session.commit()
    emit(session, "user.registered", {"user_id": str(user.id)}, now)
    dispatch_outbox(session, now=now)
    welcome, _message = _render(session, "user.registered")
    assert "<script>" not in welcome.html and "&lt;script&gt;" in welcome.html


def test_a_missing_translation_falls_back_to_english_and_is_logged(session, now, monkeypatch, caplog):
    arabic_without_subject = {k: v for k, v in email_layout._catalog("ar").items() if k != "email.welcome.subject"}
    real_catalog = email_layout._catalog
    monkeypatch.setattr(
        email_layout, "_catalog", lambda locale: arabic_without_subject if locale == "ar" else real_catalog(locale)
    )
    user = make_user(session, now=now)
    user.locale = "ar"
    session.add(user)
    session.commit()
    emit(session, "user.registered", {"user_id": str(user.id)}, now)
    dispatch_outbox(session, now=now)

    with caplog.at_level(logging.WARNING):
        welcome, _message = _render(session, "user.registered")
    assert welcome.subject == "Welcome to Bilten"
    assert 'dir="rtl"' in welcome.html  # the rest stays Arabic
    assert "no ar translation for 'email.welcome.subject'" in caplog.text


@pytest.mark.parametrize("locale", ["en", "ar"])
def test_each_tickets_reference_is_in_the_email_and_on_its_pdf_page(session, now, event, locale):
    order = make_paid_order(session, event=event, now=now, tickets=2, locale=locale, holders=("Omar", "Sara"))
    dispatch_outbox(session, now=now)
    rendered, message = _render(session, "order.paid")
    found = parts(message)
    text = found["text/plain"][0].get_content()
    html = found["text/html"][0].get_content()
    label = rendering.EmailTexts(locale, "order.paid").tr("ticket.reference")

    references = {
        t.holder_name: format_reference(t.reference)
        for t in session.exec(select(Ticket).where(Ticket.order_id == order.id)).all()
    }
    for reference in references.values():
        assert f"{label}: {reference}" in text
        assert f">{reference}</td>" in html
    # One page per ticket, each with its own holder's reference (and no other).
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(found["application/pdf"][0].get_content())).pages]
    for holder, reference in references.items():
        (page,) = [page for page in pages if reference in page]
        other = next(r for h, r in references.items() if h != holder)
        assert other not in page
    assert all(label in page or locale == "ar" for page in pages)


def test_the_downloaded_pdf_carries_the_references(session, now, event):
    order = make_paid_order(session, event=event, now=now, tickets=2)
    text = "\n".join(
        page.extract_text()
        for page in PdfReader(io.BytesIO(rendering.order_tickets_pdf(session, order, locale="en"))).pages
    )
    for ticket in session.exec(select(Ticket).where(Ticket.order_id == order.id)).all():
        assert format_reference(ticket.reference) in text
    assert "Reference" in text
