"""One event's back office: its orders, its sales figures and the attendee export.

Read-only use cases for the organizer's event page (cancelling lives in `services.orders`).
Every function asks `authorize(..., EVENT_MANAGE)` first: organizers of the event's organization
and admins only; staff scanning at the door see none of this.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_
from sqlmodel import Session, select

from bilten.models import (
    CheckIn,
    CheckInResult,
    Event,
    EventStatus,
    Order,
    OrderLine,
    OrderStatus,
    Ticket,
    TicketType,
    User,
)
from bilten.services.access import Permission, authorize
from bilten.services.errors import NotFound, ValidationFailed

MAX_ORDERS = 500
MAX_SEARCH_LENGTH = 200
# Spreadsheet programs run a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = (
    "ticket_id",
    "order_id",
    "holder_name",
    "ticket_type",
    "buyer_email",
    "buyer_name",
    "ticket_status",
    "checked_in_at",
    "gate",
)


@dataclass(frozen=True)
class EventOrderRow:
    id: uuid.UUID
    created_at: datetime
    buyer_email: str
    buyer_name: str
    status: OrderStatus
    total_minor: int
    currency: str
    ticket_count: int

    @property
    def cancellable(self) -> bool:
        """What `orders.cancel_order` accepts from an organizer."""
        return self.status in (OrderStatus.PENDING, OrderStatus.PAID)

    @property
    def refund_on_cancel(self) -> bool:
        """Cancelling gives money back (a paid order that cost something)."""
        return self.status == OrderStatus.PAID and self.total_minor > 0


@dataclass(frozen=True)
class TicketTypeSales:
    ticket_type_id: uuid.UUID
    name: str
    price_minor: int
    currency: str
    capacity: int
    sold: int  # seats of paid orders
    held: int  # seats of pending orders (holds not released yet)
    available: int  # capacity minus every seat taken, as the public page shows it
    revenue_minor: int  # what paid orders paid for this type


@dataclass(frozen=True)
class SalesSummary:
    event_id: uuid.UUID
    title: str
    status: EventStatus
    starts_at: datetime
    timezone: str
    venue_name: str
    city: str
    ticket_types: list[TicketTypeSales]
    capacity: int
    sold: int
    held: int
    available: int
    revenue: dict[str, int]  # currency -> minor units (one entry unless types differ in currency)


def list_event_orders(
    session: Session,
    *,
    actor: User | None,
    event_id: uuid.UUID,
    search: str = "",
    status: OrderStatus | str | None = None,
    limit: int = 200,
) -> list[EventOrderRow]:
    """The event's orders, newest first, optionally narrowed by buyer email or name and by status."""
    _managed_event(session, actor, event_id)
    wanted_status = _order_status(status)
    seats = (
        select(OrderLine.order_id, func.sum(OrderLine.quantity).label("seats")).group_by(OrderLine.order_id).subquery()
    )
    query = (
        select(Order, seats.c.seats)
        .outerjoin(seats, seats.c.order_id == Order.id)
        .where(Order.event_id == event_id)
        .order_by(Order.created_at.desc(), Order.id)
        .limit(max(1, min(limit, MAX_ORDERS)))
    )
    needle = (search or "").strip().lower()[:MAX_SEARCH_LENGTH]
    if needle:
        query = query.where(
            or_(
                func.lower(Order.buyer_email).contains(needle, autoescape=True),
                func.lower(Order.buyer_name).contains(needle, autoescape=True),
            )
        )
    if wanted_status is not None:
        query = query.where(Order.status == wanted_status)
    return [
        EventOrderRow(
            id=order.id,
            created_at=order.created_at,
            buyer_email=order.buyer_email,
            buyer_name=order.buyer_name,
            status=OrderStatus(order.status),
            total_minor=order.total_minor,
            currency=order.currency,
            ticket_count=int(count or 0),
        )
        for order, count in session.exec(query).all()
    ]


def _managed_event(session: Session, actor: User | None, event_id: uuid.UUID) -> Event:
    """The event, once the actor may manage it (admins pass `authorize` for any id: check it exists)."""
    authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound()
    return event


def _order_status(status: OrderStatus | str | None) -> OrderStatus | None:
    if status is None or status == "":
        return None
    try:
        return OrderStatus(status)
    except ValueError as exc:
        raise ValidationFailed("error.validation") from exc


def event_sales_summary(session: Session, *, actor: User | None, event_id: uuid.UUID) -> SalesSummary:
    """Per ticket type: capacity, seats sold (paid orders), seats held (pending orders), revenue."""
    event = _managed_event(session, actor, event_id)
    types = session.exec(
        select(TicketType).where(TicketType.event_id == event_id).order_by(TicketType.position, TicketType.name)
    ).all()
    figures = session.exec(
        select(
            OrderLine.ticket_type_id,
            Order.status,
            func.sum(OrderLine.quantity),
            func.sum(OrderLine.line_total_minor),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.event_id == event_id, Order.status.in_((OrderStatus.PAID, OrderStatus.PENDING)))
        .group_by(OrderLine.ticket_type_id, Order.status)
    ).all()
    seats: dict[tuple[uuid.UUID, OrderStatus], int] = defaultdict(int)
    revenue: dict[uuid.UUID, int] = defaultdict(int)
    for type_id, status, quantity, amount in figures:
        seats[type_id, OrderStatus(status)] += int(quantity or 0)
        if status == OrderStatus.PAID:
            revenue[type_id] += int(amount or 0)

    rows = [
        TicketTypeSales(
            ticket_type_id=t.id,
            name=t.name,
            price_minor=t.price_minor,
            currency=t.currency,
            capacity=t.quantity,
            sold=seats[t.id, OrderStatus.PAID],
            held=seats[t.id, OrderStatus.PENDING],
            available=max(t.quantity - t.reserved, 0),
            revenue_minor=revenue[t.id],
        )
        for t in types
    ]
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        totals[row.currency] += row.revenue_minor
    return SalesSummary(
        event_id=event.id,
        title=event.title,
        status=EventStatus(event.status),
        starts_at=event.starts_at,
        timezone=event.timezone,
        venue_name=event.venue_name,
        city=event.city,
        ticket_types=rows,
        capacity=sum(r.capacity for r in rows),
        sold=sum(r.sold for r in rows),
        held=sum(r.held for r in rows),
        available=sum(r.available for r in rows),
        revenue=dict(sorted(totals.items())),
    )


def export_attendees_csv(session: Session, *, actor: User | None, event_id: uuid.UUID) -> str:
    """Every ticket of the event, one line each: holder, type, buyer, status and when (event's
    time zone, ISO 8601 with offset) and where it was checked in. Cells a spreadsheet would run
    as a formula are defused with a leading quote."""
    event = _managed_event(session, actor, event_id)
    zone = ZoneInfo(event.timezone)
    # At most one live valid check-in per ticket (a unique index): a plain outer join.
    live_checkin = (
        (CheckIn.ticket_id == Ticket.id) & (CheckIn.result == CheckInResult.VALID) & (CheckIn.undone_at.is_(None))
    )
    query = (
        select(Ticket, TicketType.name, Order.buyer_email, Order.buyer_name, CheckIn.scanned_at, CheckIn.gate)
        .join(Order, Order.id == Ticket.order_id)
        .join(TicketType, TicketType.id == Ticket.ticket_type_id)
        .outerjoin(CheckIn, live_checkin)
        .where(Ticket.event_id == event_id)
        .order_by(TicketType.position, Ticket.holder_name, Order.buyer_email, Ticket.id)
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for ticket, type_name, email, buyer_name, checked_in_at, gate in session.exec(query).all():
        writer.writerow(
            [
                safe_cell(value)
                for value in (
                    ticket.id,
                    ticket.order_id,
                    ticket.holder_name,
                    type_name,
                    email,
                    buyer_name,
                    ticket.status,
                    checked_in_at.astimezone(zone).isoformat(timespec="seconds") if checked_in_at else "",
                    gate or "",
                )
            ]
        )
    return out.getvalue()


def safe_cell(value: object) -> str:
    """A CSV cell that spreadsheets show as text, never evaluate (OWASP "CSV injection")."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text
