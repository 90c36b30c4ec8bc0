"""Tickets in the buyer's hands: what a buyer sees, naming the holder, reissuing a leaked code.

`OrderView` and `TicketView` are what the buyer's pages read and what `/api/v1/me/orders` and
`/api/v1/tickets/...` return unchanged (the texts in other languages stay out of the JSON)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, field_serializer
from sqlalchemy import func
from sqlmodel import Session, col, select

from bilten.models import (
    AuditEntry,
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
from bilten.services import checkins, vouchers
from bilten.services.audit import emit_event, record_audit
from bilten.services.errors import NotFound, TooManyRequests, ValidationFailed
from bilten.services.orders import may_view_order
from bilten.services.ticket_codes import load_private_key, sign_ticket_code
from bilten.services.ticket_references import format_reference, unused_references
from bilten.services.transaction import transaction
from bilten.services.translations import localized
from bilten.services.validation import clean_name


class TicketView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    code: str
    reference: str  # as stored (K7QM4XHT2P); people, and the JSON, get it as K7QM-4XHT-2P
    ticket_type: str
    holder_name: str
    status: str
    # The ticket type's name in the event's other languages (`ticket_type` is the main language's).
    ticket_type_texts: dict[str, str] = Field(default_factory=dict, exclude=True)

    @field_serializer("reference")
    def _reference_for_people(self, reference: str) -> str:
        return format_reference(reference)


class OrderLineView(BaseModel):
    model_config = ConfigDict(frozen=True)

    ticket_type: str
    quantity: int
    unit_price_minor: int
    line_total_minor: int
    ticket_type_texts: dict[str, str] = Field(default_factory=dict, exclude=True)


class OrderView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    status: str
    event_id: uuid.UUID
    event_title: str
    event_starts_at: datetime
    event_timezone: str
    venue_name: str
    city: str
    buyer_email: str
    buyer_name: str
    total_minor: int
    currency: str
    hold_expires_at: datetime | None
    created_at: datetime
    payment_provider: str
    payment_status: str
    checkout_url: str
    lines: list[OrderLineView]
    tickets: list[TicketView]
    # The event's title in its other languages, and its main language: pages pick the reader's
    # with `services.translations.localized(event_title, event_title_texts, locale, event_main_language)`
    # (`in_language` does it for the whole order).
    event_title_texts: dict[str, str] = Field(default_factory=dict, exclude=True)
    event_main_language: str = Field("", exclude=True)
    voucher_code: str = ""  # the voucher the order used ("" for none) and what it took off
    discount_minor: int = 0


def in_language(view: OrderView, locale: str) -> OrderView:
    """The order with the event's title and ticket type names in `locale` where the organizer gave
    one, else in the event's main language."""
    main = view.event_main_language

    def named(item: TicketView | OrderLineView) -> str:
        return localized(item.ticket_type, item.ticket_type_texts, locale, main)

    return view.model_copy(
        update={
            "event_title": localized(view.event_title, view.event_title_texts, locale, main),
            "lines": [line.model_copy(update={"ticket_type": named(line)}) for line in view.lines],
            "tickets": [ticket.model_copy(update={"ticket_type": named(ticket)}) for ticket in view.tickets],
        }
    )


def order_view(session: Session, *, order_id: uuid.UUID, user: User | None, access_token: str = "") -> OrderView:
    """An order as its buyer (signed link or account) or the event's organizers may see it."""
    order = session.get(Order, order_id)
    if order is None or not may_view_order(session, order, user=user, access_token=access_token):
        raise NotFound()
    return _view(session, order)


def my_orders(session: Session, *, user: User, limit: int = 100) -> list[OrderView]:
    """The signed-in buyer's orders, newest first (paid, pending and past ones)."""
    orders = session.exec(
        select(Order).where(Order.user_id == user.id).order_by(col(Order.created_at).desc()).limit(limit)
    ).all()
    return [_view(session, order) for order in orders]


def _view(session: Session, order: Order) -> OrderView:
    event = session.get_one(Event, order.event_id)
    types = {t.id: t for t in session.exec(select(TicketType).where(TicketType.event_id == event.id))}
    names = {type_id: t.name for type_id, t in types.items()}
    texts = {type_id: dict((t.translations or {}).get("name", {})) for type_id, t in types.items()}
    lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id).order_by(col(OrderLine.id))).all()
    payment = session.exec(
        select(Payment).where(Payment.order_id == order.id).order_by(col(Payment.created_at).desc())
    ).first()
    tickets = session.exec(
        select(Ticket)
        .where(Ticket.order_id == order.id, Ticket.status != TicketStatus.REISSUED)
        .order_by(col(Ticket.issued_at), col(Ticket.id))
    ).all()
    return OrderView(
        id=order.id,
        status=order.status,
        event_id=event.id,
        event_title=event.title,
        event_starts_at=event.starts_at,
        event_timezone=event.timezone,
        venue_name=event.venue_name,
        city=event.city,
        buyer_email=order.buyer_email,
        buyer_name=order.buyer_name,
        total_minor=order.total_minor,
        currency=order.currency,
        voucher_code=vouchers.code_of(session, order),
        discount_minor=order.discount_minor,
        hold_expires_at=order.hold_expires_at if order.status == OrderStatus.PENDING else None,
        created_at=order.created_at,
        payment_provider=payment.provider if payment else "",
        payment_status=payment.status if payment else "",
        checkout_url=payment.checkout_url if payment else "",
        lines=[
            OrderLineView(
                ticket_type=names[line.ticket_type_id],
                quantity=line.quantity,
                unit_price_minor=line.unit_price_minor,
                line_total_minor=line.line_total_minor,
                ticket_type_texts=texts[line.ticket_type_id],
            )
            for line in lines
        ],
        tickets=[
            TicketView(
                id=t.id,
                code=t.code,
                reference=t.reference,
                ticket_type=names[t.ticket_type_id],
                holder_name=t.holder_name,
                status=t.status,
                ticket_type_texts=texts[t.ticket_type_id],
            )
            for t in tickets
        ],
        event_title_texts=dict((event.translations or {}).get("title", {})),
        event_main_language=event.main_language,
    )


def set_ticket_holder(
    session: Session,
    *,
    ticket_id: uuid.UUID,
    holder_name: str,
    now: datetime,
    user: User | None = None,
    access_token: str = "",
) -> TicketView:
    """Name the person who will use a ticket (the buyer, or the event's organizers)."""
    with transaction(session):
        ticket, order = _ticket_and_order(session, ticket_id, user=user, access_token=access_token)
        name = clean_name(holder_name)
        if not name:
            raise ValidationFailed("error.holder_name_required")
        if ticket.status != TicketStatus.VALID:
            raise ValidationFailed("error.ticket_not_valid")
        old = ticket.holder_name
        ticket.holder_name = name
        session.add(ticket)
        record_audit(
            session,
            action="ticket.holder_changed",
            object_type="ticket",
            object_id=ticket.id,
            now=now,
            actor_user_id=user.id if user else None,
            data={"from": old, "to": name},
        )
        return _ticket_view(session, ticket)


def reissue_ticket(
    session: Session, *, ticket_id: uuid.UUID, now: datetime, user: User | None = None, access_token: str = ""
) -> TicketView:
    """Replace a ticket's code (it was shared or leaked): the old code goes on the revocation list."""
    with transaction(session):
        ticket, order = _ticket_and_order(session, ticket_id, user=user, access_token=access_token)
        if ticket.status != TicketStatus.VALID or order.status != OrderStatus.PAID:
            raise ValidationFailed("error.ticket_not_valid")
        event = session.get_one(Event, ticket.event_id)
        ticket.status = TicketStatus.REISSUED
        session.add(ticket)
        new_id = uuid.uuid4()
        replacement = Ticket(
            id=new_id,
            order_id=ticket.order_id,
            order_line_id=ticket.order_line_id,
            event_id=ticket.event_id,
            ticket_type_id=ticket.ticket_type_id,
            holder_name=ticket.holder_name,
            issued_at=now,
            replaces_ticket_id=ticket.id,
            code=sign_ticket_code(
                load_private_key(event.signing_private_key_sealed), event_id=event.id, ticket_id=new_id
            ),
            reference=unused_references(session, 1)[0],  # a new one: the old reference is as leaked as the old code
        )
        session.add(replacement)
        record_audit(
            session,
            action="ticket.reissued",
            object_type="ticket",
            object_id=ticket.id,
            now=now,
            actor_user_id=user.id if user else None,
            organization_id=event.organization_id,
            data={"replacement": str(new_id)},
        )
    checkins.forget_scan_states(ticket.event_id, [ticket.id])
    return _ticket_view(session, replacement)


def _ticket_and_order(
    session: Session, ticket_id: uuid.UUID, *, user: User | None, access_token: str
) -> tuple[Ticket, Order]:
    ticket = session.get(Ticket, ticket_id)
    order = session.get(Order, ticket.order_id) if ticket else None
    if ticket is None or order is None or not may_view_order(session, order, user=user, access_token=access_token):
        raise NotFound()
    return ticket, order


def _ticket_view(session: Session, ticket: Ticket) -> TicketView:
    type_name = session.exec(select(TicketType.name).where(TicketType.id == ticket.ticket_type_id)).one()
    return TicketView(
        id=ticket.id,
        code=ticket.code,
        reference=ticket.reference,
        ticket_type=type_name,
        holder_name=ticket.holder_name,
        status=ticket.status,
    )


RESEND_LIMIT = 3
RESEND_WINDOW = timedelta(hours=1)


def resend_tickets_email(
    session: Session, *, order_id: uuid.UUID, now: datetime, user: User | None = None, access_token: str = ""
) -> None:
    """Send the tickets email again (lost, spam folder), at most three times an hour per order."""
    with transaction(session):
        order = session.get(Order, order_id)
        if order is None or not may_view_order(session, order, user=user, access_token=access_token):
            raise NotFound()
        if order.status != OrderStatus.PAID:
            raise ValidationFailed("error.order_not_paid")
        recent = session.exec(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.action == "order.tickets_resent",
                AuditEntry.object_id == str(order.id),
                AuditEntry.created_at > now - RESEND_WINDOW,
            )
        ).one()
        if recent >= RESEND_LIMIT:
            raise TooManyRequests(minutes=int(RESEND_WINDOW.total_seconds() // 60))
        request_id = uuid.uuid4()
        emit_event(
            session,
            topic="order.tickets_resent",
            payload={"order_id": str(order.id), "request_id": str(request_id)},
            now=now,
        )
        record_audit(
            session,
            action="order.tickets_resent",
            object_type="order",
            object_id=order.id,
            now=now,
            actor_user_id=user.id if user else None,
        )
