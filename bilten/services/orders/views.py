"""An order as `/api/v1/orders` returns it: its status, payment and (once paid) tickets.

The buyer's own order page reads `tickets.OrderView` instead (event, lines, display fields)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_serializer
from sqlmodel import Session, col, select

from bilten.models import Event, Order, OrderStatus, Payment, PaymentStatus, Ticket, TicketStatus, TicketType
from bilten.services import vouchers
from bilten.services.orders.placing import PlacedOrder
from bilten.services.questions import AnswerView, answer_views, order_answers
from bilten.services.ticket_references import format_reference
from bilten.services.translations import field_text


class PaymentSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    provider: str
    status: PaymentStatus
    checkout_url: str
    reference: str  # the provider's own reference


class OrderTicket(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    code: str
    reference: str  # as stored (K7QM4XHT2P); the JSON gives K7QM-4XHT-2P, what a person types at the door
    ticket_type_id: uuid.UUID
    ticket_type: str
    holder_name: str
    status: TicketStatus

    @field_serializer("reference")
    def _reference_for_people(self, reference: str) -> str:
        return format_reference(reference)


class OrderReceipt(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    event_id: uuid.UUID
    status: OrderStatus
    total_minor: int = Field(serialization_alias="total")  # with the voucher's discount
    currency: str
    voucher: str | None = None  # the code the order used
    discount_minor: int = Field(default=0, serialization_alias="discount")
    expires_at: datetime | None  # while pending: when the hold runs out
    email: str
    payment: PaymentSummary | None  # the latest attempt
    tickets: list[OrderTicket]  # once paid (and after, refunded or cancelled)
    answers: list[AnswerView] = []  # to the checkout questions
    access_token: str | None = None  # right after placing: the guest's signed link token


def order_receipt(
    session: Session,
    order: Order,
    *,
    now: datetime,
    payment: Payment | None = None,
    access_token: str | None = None,
    placed: PlacedOrder | None = None,
) -> OrderReceipt:
    """`order` as its buyer may see it (the caller checked that they may); `payment` the one just
    started, else the latest; `now` decides whether the answers may still be changed. For an order
    just `placed`, its answers and voucher code come from memory, not from the database again."""
    payment = (
        payment
        or session.exec(
            select(Payment).where(Payment.order_id == order.id).order_by(col(Payment.created_at).desc())
        ).first()
    )
    tickets = []
    if order.status in (OrderStatus.PAID, OrderStatus.REFUNDED, OrderStatus.CANCELLED):
        # Ticket type names in the buyer's language (the order's), else the event's main language.
        main_language = session.exec(select(Event.main_language).where(Event.id == order.event_id)).one()
        names = {
            t.id: field_text(t, "name", order.locale, main_language)
            for t in session.exec(select(TicketType).where(TicketType.event_id == order.event_id))
        }
        tickets = [
            OrderTicket(
                id=t.id,
                code=t.code,
                reference=t.reference,
                ticket_type_id=t.ticket_type_id,
                ticket_type=names[t.ticket_type_id],
                holder_name=t.holder_name,
                status=t.status,
            )
            for t in session.exec(
                select(Ticket)
                # Tickets handed to someone else by transfer are theirs: not in the buyer's order.
                .where(Ticket.order_id == order.id, col(Ticket.transfer_id).is_(None))
                .order_by(col(Ticket.id))
            ).all()
        ]
    return OrderReceipt(
        id=order.id,
        event_id=order.event_id,
        status=order.status,
        total_minor=order.total_minor,
        currency=order.currency,
        voucher=(placed.voucher_code if placed is not None else vouchers.code_of(session, order)) or None,
        discount_minor=order.discount_minor,
        expires_at=order.hold_expires_at if order.status == OrderStatus.PENDING else None,
        email=order.buyer_email,
        payment=PaymentSummary(
            provider=payment.provider,
            status=payment.status,
            checkout_url=payment.checkout_url,
            reference=payment.provider_reference,
        )
        if payment
        else None,
        tickets=tickets,
        answers=answer_views(placed.answers, order, placed.event, now=now, include_retired=True)
        if placed is not None
        else order_answers(session, order, now=now),
        access_token=access_token,
    )
