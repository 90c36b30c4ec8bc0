"""The ticket emails: a paid order's tickets (QR codes, PDF, calendar file) and a transferred ticket.

They are most of what the worker sends during a sale, so what they read is loaded set-wise: the
worker hands a whole batch's orders to `load_order_bundles` (four queries for the batch instead of
five per email) and renders each email from its `OrderBundle`, sharing what every email of one
event and language has in common (`EventParts`: the calendar file).
A single email (a resend, a preview, a test) goes through the same code with a batch of one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from icalendar.prop import vDatetime
from sqlmodel import Session, col, select

from bilten.i18n import format_datetime, format_money
from bilten.models import (
    Event,
    Invoice,
    InvoiceKind,
    Order,
    OrderLine,
    OrderStatus,
    Ticket,
    TicketStatus,
    TicketType,
)
from bilten.notifications.attachments import CalendarEntry, TicketPage, event_ics, qr_png, tickets_pdf
from bilten.notifications.email_layout import Attachment, Body, EmailTexts, InlineImage, MissingData, RenderedEmail
from bilten.notifications.invoice_pdf import invoice_pdf
from bilten.routes import event_url
from bilten.services.ticket_references import format_reference
from bilten.services.translations import field_text

ORDER_TICKET_TOPICS = frozenset({"order.paid", "order.tickets_resent"})  # the same tickets email


def payload_uuid(payload: dict[str, Any], name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(payload[name]))
    except (KeyError, ValueError) as exc:
        raise MissingData(f"payload has no valid {name}") from exc


def order_reference(order: Order) -> str:
    return order.id.hex[:8].upper()


def venue_lines(event: Event) -> tuple[str, ...]:
    return tuple(part for part in (event.venue_name, event.venue_address, event.city) if part.strip())


def event_title(event: Event, locale: str) -> str:
    """The event's title in the reader's language, else its main language (services/translations.py)."""
    return field_text(event, "title", locale, event.main_language)


def type_name(ticket_type: TicketType, event: Event, locale: str) -> str:
    return field_text(ticket_type, "name", locale, event.main_language)


# ---------------------------------------------------------------------------------------------
# Loading, set-wise


@dataclass
class EventParts:
    """What every ticket email of one event shares within a batch, made once per language."""

    calendars: dict[tuple[str, str], CalendarTemplate] = field(default_factory=dict)


@dataclass
class OrderBundle:
    """Everything a paid order's tickets email shows."""

    order: Order
    event: Event
    lines: list[tuple[OrderLine, TicketType]]
    tickets: list[tuple[Ticket, TicketType]]  # valid and not transferred, in the email's order
    invoice: Invoice | None
    shared: EventParts = field(default_factory=EventParts)


def load_order_bundles(session: Session, order_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, OrderBundle]:
    """The orders (those that exist) with their event, lines, valid tickets and invoice: four
    queries whatever their number. Bundles of one event share one EventParts."""
    ids = list(dict.fromkeys(order_ids))
    if not ids:
        return {}
    pairs = session.exec(
        select(Order, Event).join(Event, Order.event_id == Event.id).where(col(Order.id).in_(ids))
    ).all()
    lines: dict[uuid.UUID, list[tuple[OrderLine, TicketType]]] = {order_id: [] for order_id in ids}
    for line, ticket_type in session.exec(
        select(OrderLine, TicketType)
        .join(TicketType, OrderLine.ticket_type_id == TicketType.id)
        .where(col(OrderLine.order_id).in_(ids))
        .order_by(TicketType.position, TicketType.name)
    ):
        lines[line.order_id].append((line, ticket_type))
    tickets: dict[uuid.UUID, list[tuple[Ticket, TicketType]]] = {order_id: [] for order_id in ids}
    for ticket, ticket_type in session.exec(
        select(Ticket, TicketType)
        .join(TicketType, Ticket.ticket_type_id == TicketType.id)
        .where(col(Ticket.order_id).in_(ids), Ticket.status == TicketStatus.VALID, col(Ticket.transfer_id).is_(None))
        .order_by(TicketType.position, Ticket.issued_at, Ticket.id)
    ):
        tickets[ticket.order_id].append((ticket, ticket_type))
    invoices = {
        invoice.order_id: invoice
        for invoice in session.exec(
            select(Invoice).where(col(Invoice.order_id).in_(ids), Invoice.kind == InvoiceKind.INVOICE)
        )
    }
    shared: dict[uuid.UUID, EventParts] = {}
    return {
        order.id: OrderBundle(
            order=order,
            event=event,
            lines=lines[order.id],
            tickets=tickets[order.id],
            invoice=invoices.get(order.id),
            shared=shared.setdefault(event.id, EventParts()),
        )
        for order, event in pairs
    }


# ---------------------------------------------------------------------------------------------
# A paid order's tickets


def not_paid_error(status: OrderStatus) -> str:
    """Why a tickets email is not sent: its order is no longer paid (when rendered, or when about to go out)."""
    return f"order is {status.value}, no longer paid: tickets not sent"


def render_order_paid(session: Session, payload: dict[str, Any], texts: EmailTexts, public_url: str) -> RenderedEmail:
    order_id = payload_uuid(payload, "order_id")
    bundle = load_order_bundles(session, [order_id]).get(order_id)
    if bundle is None:
        raise MissingData("order not found")
    return compose_order_paid(bundle, texts, public_url)


def compose_order_paid(bundle: OrderBundle, texts: EmailTexts, public_url: str) -> RenderedEmail:
    order, event, tickets = bundle.order, bundle.event, bundle.tickets
    if order.status != OrderStatus.PAID:
        raise MissingData(not_paid_error(order.status))
    if not tickets:
        raise MissingData("order has no valid tickets")
    locale, tr = texts.locale, texts.tr
    title = event_title(event, locale)
    when = format_datetime(event.starts_at, event.timezone, locale)
    venue = ", ".join(venue_lines(event))
    subject = tr("email.order_paid.subject", event=title)

    body = Body(texts)
    body.paragraph(texts.greeting(order.buyer_name))
    body.paragraph(tr("email.order_paid.intro", event=title))
    body.heading(tr("email.order_paid.summary"))
    rows = [
        (tr("email.label.order"), order_reference(order)),
        (tr("email.label.event"), title),
        (tr("email.label.when"), when),
    ]
    if venue:
        rows.append((tr("email.label.where"), venue))
    rows += [
        (
            tr("email.order_paid.line", quantity=line.quantity, ticket_type=type_name(ticket_type, event, locale)),
            format_money(line.line_total_minor, order.currency, locale),
        )
        for line, ticket_type in bundle.lines
    ]
    rows.append((tr("email.label.total"), format_money(order.total_minor, order.currency, locale)))
    body.details(rows)

    images = []
    pages = _ticket_pages(order, event, tickets, texts)
    for number, ((ticket, _ticket_type), page) in enumerate(zip(tickets, pages, strict=True), start=1):
        cid = f"ticket-{ticket.id}@bilten"
        body.heading(page.heading)
        body.details(
            [
                (tr("email.label.ticket_type"), page.ticket_type),
                (tr("email.label.holder"), page.holder),
                (tr("ticket.reference"), page.reference),
            ]
        )
        body.image(cid, tr("email.ticket.qr_alt", number=number))
        images.append(InlineImage(cid=cid, png=qr_png(ticket.code)))
    body.paragraph(tr("email.order_paid.show_code") + " " + tr("ticket.reference_hint"))
    body.paragraph(tr("email.order_paid.calendar"))
    body.button(public_url.rstrip("/") + event_url(event.id), tr("email.order_paid.view_event"))
    html, text = body.document(subject)

    stamp = order.paid_at or order.created_at
    attachments = [
        Attachment("tickets.pdf", "application/pdf", tickets_pdf(pages, rtl=texts.rtl, title=subject)),
        Attachment(
            "event.ics",
            "text/calendar",
            _shared_calendar(bundle.shared, event, public_url=public_url, stamp=stamp, locale=locale),
        ),
    ]
    if bundle.invoice is not None:  # paid orders with money to pay (services/invoices.py)
        attachments.append(
            Attachment(
                f"{bundle.invoice.number}.pdf", "application/pdf", invoice_pdf(bundle.invoice, timezone=event.timezone)
            )
        )
    return RenderedEmail(subject=subject, text=text, html=html, inline_images=images, attachments=attachments)


def _ticket_pages(order: Order, event: Event, tickets: list, texts: EmailTexts) -> list[TicketPage]:
    """One PDF page per (ticket, ticket type), every text in the reader's language."""
    tr = texts.tr
    when = format_datetime(event.starts_at, event.timezone, texts.locale)
    labels = {
        "when": tr("email.label.when"),
        "where": tr("email.label.where"),
        "holder": tr("email.label.holder"),
        "ticket_type": tr("email.label.ticket_type"),
        "reference": tr("ticket.reference"),
        "footer": tr("email.ticket.pdf_footer"),
    }
    return [
        TicketPage(
            heading=tr("email.ticket.heading", number=number, count=len(tickets)),
            event_title=event_title(event, texts.locale),
            when=when,
            venue_lines=venue_lines(event),
            holder=ticket.holder_name or order.buyer_name or order.buyer_email,
            ticket_type=type_name(ticket_type, event, texts.locale),
            code=ticket.code,
            reference=format_reference(ticket.reference),
            labels=labels,
        )
        for number, (ticket, ticket_type) in enumerate(tickets, start=1)
    ]


def event_calendar(event: Event, *, public_url: str, stamp: datetime, locale: str | None = None) -> bytes:
    """The event as a calendar entry, its title and description in `locale` (else the main language)."""
    return event_ics(_calendar_entry(event, public_url=public_url, stamp=stamp, locale=locale or event.main_language))


def _calendar_entry(event: Event, *, public_url: str, stamp: datetime, locale: str) -> CalendarEntry:
    return CalendarEntry(
        uid=f"{event.id}@bilten",
        title=event_title(event, locale),
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        location=", ".join(venue_lines(event)),
        description=field_text(event, "description", locale, event.main_language)[:1000],
        url=public_url.rstrip("/") + event_url(event.id),
        stamp=stamp,
    )


# A stamp no real order has, to find its line in a calendar file made once per event and language.
_MARKED_STAMP = datetime(1901, 1, 1, 0, 0, 1, tzinfo=UTC)
_MARKED_LINE = b"\r\nDTSTAMP:19010101T000001Z\r\n"


@dataclass(frozen=True)
class CalendarTemplate:
    """A calendar file with a marked DTSTAMP line: each order puts its own stamp there."""

    head: bytes
    tail: bytes


def _shared_calendar(parts: EventParts, event: Event, *, public_url: str, stamp: datetime, locale: str) -> bytes:
    """`event_calendar`, made once per event, language and address within a batch: only the
    DTSTAMP line (when the order was paid) differs from one order to the next."""
    stamp_line = b"DTSTAMP:" + vDatetime(stamp).to_ical()
    if stamp.tzinfo is None or stamp.utcoffset() or not stamp_line.endswith(b"Z"):
        return event_calendar(event, public_url=public_url, stamp=stamp, locale=locale)  # not the usual UTC stamp
    template = parts.calendars.get((locale, public_url))
    if template is None:
        marked = event_calendar(event, public_url=public_url, stamp=_MARKED_STAMP, locale=locale)
        head, found, tail = marked.partition(_MARKED_LINE)
        if not found:  # never expected: fall back to the whole file for this order
            return event_calendar(event, public_url=public_url, stamp=stamp, locale=locale)
        template = parts.calendars[(locale, public_url)] = CalendarTemplate(head + b"\r\n", b"\r\n" + tail)
    return template.head + stamp_line + template.tail


def order_tickets_pdf(session: Session, order: Order, *, locale: str) -> bytes:
    """The PDF of a paid order's valid tickets, for download from the order page."""
    bundle = load_order_bundles(session, [order.id]).get(order.id)
    if order.status != OrderStatus.PAID or bundle is None or not bundle.tickets:
        raise MissingData("no valid tickets")
    texts = EmailTexts(locale, "tickets.pdf")
    return tickets_pdf(
        _ticket_pages(order, bundle.event, bundle.tickets, texts),
        rtl=texts.rtl,
        title=texts.tr("email.order_paid.subject", event=event_title(bundle.event, texts.locale)),
    )


# ---------------------------------------------------------------------------------------------
# A transferred ticket


def render_ticket_transferred(
    session: Session, payload: dict[str, Any], texts: EmailTexts, public_url: str
) -> RenderedEmail:
    """To a ticket's new holder: the new signed code (QR, PDF) and their own link to the ticket."""
    from bilten.services.ticket_transfer import current_held_ticket, holder_token, holder_url

    transfer_id = payload_uuid(payload, "transfer_id")
    ticket = current_held_ticket(session, transfer_id)
    if ticket is None or ticket.status != TicketStatus.VALID:
        raise MissingData("the transferred ticket is no longer valid: not sent")
    order = session.get_one(Order, ticket.order_id)
    event = session.get_one(Event, ticket.event_id)
    ticket_type = session.get_one(TicketType, ticket.ticket_type_id)
    locale, tr = texts.locale, texts.tr
    title = event_title(event, locale)
    subject = tr("email.ticket_transferred.subject", event=title)
    sender = str(payload.get("from_name") or "").strip() or tr("email.ticket_transferred.someone")
    body = Body(texts)
    body.paragraph(texts.greeting(ticket.holder_name))
    body.paragraph(tr("email.ticket_transferred.intro", sender=sender, event=title))
    rows = [
        (tr("email.label.event"), title),
        (tr("email.label.when"), format_datetime(event.starts_at, event.timezone, locale)),
    ]
    venue = ", ".join(venue_lines(event))
    if venue:
        rows.append((tr("email.label.where"), venue))
    body.details(rows)
    page = _ticket_pages(order, event, [(ticket, ticket_type)], texts)[0]
    cid = f"ticket-{ticket.id}@bilten"
    body.details(
        [
            (tr("email.label.ticket_type"), page.ticket_type),
            (tr("email.label.holder"), page.holder),
            (tr("ticket.reference"), page.reference),
        ]
    )
    body.image(cid, tr("email.ticket.qr_alt", number=1))
    body.paragraph(tr("email.order_paid.show_code") + " " + tr("ticket.reference_hint"))
    body.button(
        public_url.rstrip("/") + holder_url(transfer_id, holder_token(transfer_id)),
        tr("email.ticket_transferred.view_ticket"),
    )
    html, text = body.document(subject)
    attachments = [
        Attachment("ticket.pdf", "application/pdf", tickets_pdf([page], rtl=texts.rtl, title=subject)),
        Attachment(
            "event.ics",
            "text/calendar",
            event_calendar(event, public_url=public_url, stamp=ticket.issued_at, locale=locale),
        ),
    ]
    return RenderedEmail(
        subject=subject,
        text=text,
        html=html,
        inline_images=[InlineImage(cid=cid, png=qr_png(ticket.code))],
        attachments=attachments,
    )
