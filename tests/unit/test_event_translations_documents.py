"""Where a buyer meets the event after buying: the ticket email, its PDF and calendar file, the
order page's view and the door's verdict name the event and the ticket type in the reader's
language when the organizer gave one, else in the event's main language."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
from icalendar import Calendar
from pypdf import PdfReader
from sqlmodel import select

from bilten.models import Notification, OrderLine, TicketType
from bilten.notifications import rendering
from bilten.notifications.outbox import dispatch_outbox
from bilten.notifications.rendering import build_message, render_notification
from bilten.services import checkins, orders, tickets
from bilten.services.errors import SalesNotOpen, SoldOut
from bilten.services.orders.payments import payment_request
from bilten.services.translations import localized
from tests.conftest import TEST_NOW
from tests.factories import make_event, make_organization
from tests.notifications_support import make_paid_order, parts
from tests.scanning_helpers import door_with_tickets, link


@pytest.fixture
def event(session, now):
    event = make_event(session, organization=make_organization(session, now=now), now=now, title="Spring Gala")
    event.description = "An evening of music."
    event.translations = {"title": {"de": "Frühlingsgala"}, "description": {"de": "Ein Abend voller Musik."}}
    ticket_type = session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    ticket_type.translations = {"name": {"de": "Parkett"}}
    session.add_all([event, ticket_type])
    session.commit()
    return event


def _paid_email(session, now, event, locale):
    order = make_paid_order(session, event=event, now=now, tickets=1, locale=locale)
    dispatch_outbox(session, now=now)
    notification = session.exec(select(Notification).where(Notification.topic == "order.paid")).one()
    rendered = render_notification(session, notification, public_url="https://tickets.example.org")
    message = build_message(
        rendered,
        mail_from="Bilten <tickets@bilten.test>",
        recipient=notification.recipient,
        idempotency_key=notification.idempotency_key,
        locale=notification.locale,
        now=TEST_NOW + timedelta(minutes=5),
    )
    return order, parts(message), message


def test_a_german_buyers_email_pdf_and_calendar_are_german(session, now, event):
    order, found, message = _paid_email(session, now, event, "de")
    assert "Frühlingsgala" in message["Subject"]
    text = found["text/plain"][0].get_content()
    assert "Frühlingsgala" in text and "Parkett" in text and "Spring Gala" not in text
    pdf_text = PdfReader(io.BytesIO(found["application/pdf"][0].get_content())).pages[0].extract_text()
    assert "Frühlingsgala" in pdf_text and "Parkett" in pdf_text
    entry = Calendar.from_ical(found["text/calendar"][0].get_content()).walk("VEVENT")[0]
    assert (str(entry["SUMMARY"]), str(entry["DESCRIPTION"])) == ("Frühlingsgala", "Ein Abend voller Musik.")
    # The PDF downloaded later, in another language: that language, with the main one as fallback.
    later = PdfReader(io.BytesIO(rendering.order_tickets_pdf(session, order, locale="it"))).pages[0].extract_text()
    assert "Spring Gala" in later and "Type 0" in later


def test_an_italian_buyer_without_italian_texts_gets_the_main_language(session, now, event):
    _, found, message = _paid_email(session, now, event, "it")
    assert "Spring Gala" in message["Subject"]
    text = found["text/plain"][0].get_content()
    assert "Type 0" in text and "Frühlingsgala" not in text


def test_the_order_view_carries_the_texts_the_pages_pick_from(session, now, event):
    order = make_paid_order(session, event=event, now=now, tickets=2, locale="de")
    view = tickets.order_view(session, order_id=order.id, user=None, access_token=link(order.id))
    assert (view.event_title, view.event_main_language) == ("Spring Gala", "en")
    assert localized(view.event_title, view.event_title_texts, "de", view.event_main_language) == "Frühlingsgala"
    assert localized(view.event_title, view.event_title_texts, "fr", view.event_main_language) == "Spring Gala"
    assert {localized(t.ticket_type, t.ticket_type_texts, "de", view.event_main_language) for t in view.tickets} == {
        "Parkett"
    }
    assert [localized(line.ticket_type, line.ticket_type_texts, "ar", "en") for line in view.lines] == ["Type 0"]


def test_the_door_verdict_carries_the_ticket_types_names(session, now):
    door = door_with_tickets(session, now=now, count=1)
    ticket_type = session.exec(select(TicketType).where(TicketType.event_id == door.event.id)).one()
    ticket_type.translations = {"name": {"fr": "Fosse"}}
    session.add(ticket_type)
    session.commit()
    scan = {"actor": door.staff, "event_id": door.event.id, "code": door.tickets[0].code, "now": now}
    first = checkins.scan_ticket(session, nonce="n-1", scanned_at=now, **scan)
    again = checkins.scan_ticket(session, nonce="n-2", scanned_at=now, **scan)  # "already in", from the cache
    for verdict in (first, again):
        summary = verdict.ticket
        assert (summary.ticket_type, summary.ticket_type_texts, summary.main_language) == (
            "Type 0",
            {"fr": "Fosse"},
            "en",
        )


def test_checkout_refusals_and_the_payment_page_name_things_in_the_buyers_language(session, now, event):
    ticket_type = session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    buyer = {"email": "kim@example.org", "phone": "+49 30 1234567", "now": now}

    ticket_type.quantity = 1
    session.add(ticket_type)
    session.commit()
    with pytest.raises(SoldOut) as sold_out:
        orders.place_order(session, items=[(ticket_type.id, 2)], locale="de", **buyer)
    assert sold_out.value.params["name"] == "Parkett"
    with pytest.raises(SoldOut) as in_italian:
        orders.place_order(session, items=[(ticket_type.id, 2)], locale="it", **buyer)
    assert in_italian.value.params["name"] == "Type 0"

    ticket_type.sales_start = now + timedelta(days=1)
    session.add(ticket_type)
    session.commit()
    with pytest.raises(SalesNotOpen) as not_open:
        orders.place_order(session, items=[(ticket_type.id, 1)], locale="de", **buyer)
    assert not_open.value.params["name"] == "Parkett"

    ticket_type.sales_start, ticket_type.quantity = None, 10
    session.add(ticket_type)
    session.commit()
    placed = orders.place_order(session, items=[(ticket_type.id, 1)], locale="de", **buyer)
    lines = session.exec(select(OrderLine).where(OrderLine.order_id == placed.order.id)).all()
    request = payment_request(placed.order, event, list(lines), {ticket_type.id: "Parkett"}, uuid.uuid4())
    assert request.description == "Frühlingsgala"
    assert request.line_items == [("Frühlingsgala: Parkett", 2500, 1)]
