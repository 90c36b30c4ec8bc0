"""One event's orders and attendees for its back office: searchable pages, an order's details with
its history, and resending an order's tickets.

Reading is for everyone who may see the event's reports (`EVENT_VIEW`: owners, managers,
viewers, admins); resending is an action (`EVENT_MANAGE`). Cancelling and refunding live in
`services.orders.cancel_order`, which checks `EVENT_MANAGE` itself. Staff scanning at the door
see none of this.

Lists are paginated in the database (LIMIT/OFFSET with a COUNT for the page numbers) and searched
by buyer name or email, ticket holder, the order's or ticket's id (its first characters, as the
back office shows them), a ticket's full code (what a scanner reads) or its reference (K7QM-4XHT-2P,
what a person reads out).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, computed_field
from sqlalchemy import and_, exists, func, or_
from sqlmodel import Session, col, select

from bilten.models import (
    AuditEntry,
    CheckIn,
    CheckInResult,
    Event,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    Ticket,
    TicketStatus,
    TicketType,
    User,
)
from bilten.services import tickets as ticket_service
from bilten.services.access import Permission, authorize
from bilten.services.attendees import AttendeeRow as AttendeeRow  # re-exported: the state layer imports it here
from bilten.services.attendees import (
    count_attendees,
    find_attendees,
    id_prefix,
    search_needle,
    uuid_text,
)
from bilten.services.errors import NotFound, ValidationFailed
from bilten.services.ticket_references import normalize_reference

Row = TypeVar("Row")

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 200


class EventOrderRow(BaseModel):
    """One order in the event's list (the back office's table, `/api/v1/events/{id}/orders`)."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    created_at: datetime
    status: OrderStatus
    buyer_email: str
    buyer_name: str
    ticket_count: int = Field(serialization_alias="tickets")
    total_minor: int = Field(serialization_alias="total")
    currency: str

    @property
    def cancellable(self) -> bool:
        """What `orders.cancel_order` accepts from an organizer."""
        return self.status in (OrderStatus.PENDING, OrderStatus.PAID)

    @property
    def refund_on_cancel(self) -> bool:
        """Cancelling gives money back (a paid order that cost something)."""
        return self.status == OrderStatus.PAID and self.total_minor > 0


class Page(BaseModel, Generic[Row]):
    """One page of a list, with what the pager needs."""

    model_config = ConfigDict(frozen=True)

    rows: list[Row] = Field(serialization_alias="items")
    total: int
    page: int
    page_size: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


class OrderLineDetail(BaseModel):
    model_config = ConfigDict(frozen=True)

    ticket_type: str
    quantity: int
    unit_price_minor: int
    line_total_minor: int


class OrderTicketDetail(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    reference: str  # as stored; format_reference for people
    ticket_type: str
    holder_name: str
    status: TicketStatus
    checked_in_at: datetime | None


class PaymentDetail(BaseModel):
    model_config = ConfigDict(frozen=True)

    provider: str
    status: str
    amount_minor: int
    refunded_minor: int
    currency: str
    created_at: datetime


class HistoryEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    action: str
    actor_email: str
    object_type: str
    data: dict[str, Any]


class OrderDetail(BaseModel):
    model_config = ConfigDict(frozen=True)

    order: EventOrderRow
    event_id: uuid.UUID
    buyer_phone: str
    locale: str
    paid_at: datetime | None
    cancelled_at: datetime | None
    hold_expires_at: datetime | None
    lines: list[OrderLineDetail]
    tickets: list[OrderTicketDetail]
    payments: list[PaymentDetail]
    history: list[HistoryEntry]


# ---------------------------------------------------------------------------------------------
# Orders


def list_event_orders(
    session: Session,
    *,
    actor: User | None,
    event_id: uuid.UUID,
    search: str = "",
    status: OrderStatus | str | None = None,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Page[EventOrderRow]:
    """One page of the event's orders, newest first, narrowed by a search and a status."""
    _viewable_event(session, actor, event_id)
    page, page_size = _page_args(page, page_size)
    conditions = [Order.event_id == event_id]
    wanted_status = _order_status(status)
    if wanted_status is not None:
        conditions.append(Order.status == wanted_status)
    needle = search_needle(search)
    if needle:
        conditions.append(_order_matches(needle, code=search.strip()))
    total = session.exec(select(func.count()).select_from(Order).where(*conditions)).one()
    seats = (
        select(OrderLine.order_id, func.sum(OrderLine.quantity).label("seats"))
        .join(Order, col(Order.id) == OrderLine.order_id)
        .where(Order.event_id == event_id)
        .group_by(col(OrderLine.order_id))
        .subquery()
    )
    query = (
        select(Order, seats.c.seats)
        .outerjoin(seats, seats.c.order_id == Order.id)
        .where(*conditions)
        .order_by(col(Order.created_at).desc(), col(Order.id))
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    rows = [_order_row(order, count) for order, count in session.exec(query).all()]
    return Page[EventOrderRow](rows=rows, total=int(total or 0), page=page, page_size=page_size)


def _order_row(order: Order, ticket_count: int | None) -> EventOrderRow:
    return EventOrderRow(
        id=order.id,
        created_at=order.created_at,
        buyer_email=order.buyer_email,
        buyer_name=order.buyer_name,
        status=OrderStatus(order.status),
        total_minor=order.total_minor,
        currency=order.currency,
        ticket_count=int(ticket_count or 0),
    )


def _order_matches(needle: str, *, code: str):  # noqa: ANN202 - an SQL condition
    """Buyer email or name, the order id's first characters, or one of its tickets' full code or reference."""
    ticket_code = exists().where(col(Ticket.order_id) == Order.id, col(Ticket.code) == code)
    clauses = [
        func.lower(Order.buyer_email).contains(needle, autoescape=True),
        func.lower(Order.buyer_name).contains(needle, autoescape=True),
        ticket_code,
    ]
    reference = normalize_reference(code)
    if reference:
        clauses.append(exists().where(col(Ticket.order_id) == Order.id, col(Ticket.reference) == reference))
    prefix = id_prefix(needle)
    if prefix:
        clauses.append(uuid_text(Order.id).startswith(prefix, autoescape=True))
    return or_(*clauses)


def order_detail(session: Session, *, actor: User | None, order_id: uuid.UUID) -> OrderDetail:
    """An order with its lines, tickets, payments and history (its audit entries and its tickets')."""
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound()
    _viewable_event(session, actor, order.event_id)
    lines = session.exec(
        select(OrderLine, TicketType.name)
        .join(TicketType, col(TicketType.id) == OrderLine.ticket_type_id)
        .where(OrderLine.order_id == order.id)
        .order_by(col(TicketType.position), col(OrderLine.id))
    ).all()
    live_checkin = and_(
        col(CheckIn.ticket_id) == Ticket.id,
        col(CheckIn.result) == CheckInResult.VALID,
        col(CheckIn.undone_at).is_(None),
    )
    tickets = session.exec(
        select(Ticket, TicketType.name, CheckIn.scanned_at)
        .join(TicketType, col(TicketType.id) == Ticket.ticket_type_id)
        .outerjoin(CheckIn, live_checkin)
        .where(Ticket.order_id == order.id)
        .order_by(col(Ticket.issued_at), col(Ticket.id))
    ).all()
    payments = session.exec(select(Payment).where(Payment.order_id == order.id).order_by(col(Payment.created_at))).all()
    ticket_ids = [str(ticket.id) for ticket, _, _ in tickets]
    about_order = and_(col(AuditEntry.object_type) == "order", col(AuditEntry.object_id) == str(order.id))
    about_tickets = and_(col(AuditEntry.object_type) == "ticket", col(AuditEntry.object_id).in_(ticket_ids))
    history = session.exec(
        select(AuditEntry, User.email)
        .outerjoin(User, col(User.id) == AuditEntry.actor_user_id)
        .where(or_(about_order, about_tickets) if ticket_ids else about_order)
        .order_by(col(AuditEntry.created_at), col(AuditEntry.id))
    ).all()
    return OrderDetail(
        order=_order_row(order, sum(line.quantity for line, _ in lines)),
        event_id=order.event_id,
        buyer_phone=order.buyer_phone,
        locale=order.locale,
        paid_at=order.paid_at,
        cancelled_at=order.cancelled_at,
        hold_expires_at=order.hold_expires_at,
        lines=[
            OrderLineDetail(
                ticket_type=name,
                quantity=line.quantity,
                unit_price_minor=line.unit_price_minor,
                line_total_minor=line.line_total_minor,
            )
            for line, name in lines
        ],
        tickets=[
            OrderTicketDetail(
                id=ticket.id,
                reference=ticket.reference,
                ticket_type=name,
                holder_name=ticket.holder_name,
                status=TicketStatus(ticket.status),
                checked_in_at=scanned_at,
            )
            for ticket, name, scanned_at in tickets
        ],
        payments=[
            PaymentDetail(
                provider=p.provider,
                status=str(p.status),
                amount_minor=p.amount_minor,
                refunded_minor=p.refunded_minor,
                currency=p.currency,
                created_at=p.created_at,
            )
            for p in payments
        ],
        history=[
            HistoryEntry(
                at=entry.created_at,
                action=entry.action,
                actor_email=email or "",
                object_type=entry.object_type,
                data=dict(entry.data or {}),
            )
            for entry, email in history
        ],
    )


def resend_order_tickets(session: Session, *, actor: User | None, order_id: uuid.UUID, now: datetime) -> Order:
    """Send the buyer their tickets email again (same limit as the buyer's own resend)."""
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound()
    user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=order.event_id)
    ticket_service.resend_tickets_email(session, order_id=order.id, now=now, user=user)
    return order


# ---------------------------------------------------------------------------------------------
# Attendees (one row per ticket)


def list_event_attendees(
    session: Session,
    *,
    actor: User | None,
    event_id: uuid.UUID,
    search: str = "",
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Page[AttendeeRow]:
    """One page of the event's tickets with holder, buyer, type and whether (where, when) it is in."""
    _viewable_event(session, actor, event_id)
    page, page_size = _page_args(page, page_size)
    total = count_attendees(session, event_id=event_id, search=search)
    rows = find_attendees(session, event_id=event_id, search=search, offset=(page - 1) * page_size, limit=page_size)
    return Page[AttendeeRow](rows=rows, total=total, page=page, page_size=page_size)


# ---------------------------------------------------------------------------------------------
# Helpers


def _viewable_event(session: Session, actor: User | None, event_id: uuid.UUID) -> Event:
    """The event, once the actor may see its reports."""
    authorize(session, actor, Permission.EVENT_VIEW, event_id=event_id)
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound()
    return event


def _page_args(page: int, page_size: int) -> tuple[int, int]:
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValidationFailed("error.page_invalid", max=MAX_PAGE_SIZE)
    return page, page_size


def _order_status(status: OrderStatus | str | None) -> OrderStatus | None:
    if status is None or status == "":
        return None
    try:
        return OrderStatus(status)
    except ValueError as exc:
        raise ValidationFailed("error.validation") from exc
