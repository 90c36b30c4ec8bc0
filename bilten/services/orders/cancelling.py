"""Cancelling: buyers drop their own pending order; organizers cancel any pending or paid order,
and paid money goes back through the provider (called with no transaction open)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from bilten.models import Order, OrderStatus, Payment, PaymentStatus, Ticket, TicketStatus, User
from bilten.observability import metrics
from bilten.payments import get_provider
from bilten.payments.base import PaymentProvider, ProviderUnavailable
from bilten.services import (
    checkins,
    invoices,
    vouchers,
)
from bilten.services.access import Permission, is_allowed
from bilten.services.audit import emit_event, record_audit
from bilten.services.errors import NotFound, OrderNotCancellable, PaymentUnavailable
from bilten.services.order_access import may_view_order
from bilten.services.orders.seats import order_lines, publish_availability, return_seats
from bilten.services.orders.status import AuditAction, CancelReason, Topic, change_status
from bilten.services.transaction import assert_no_transaction, lock_row, transaction


def cancel_order(
    session: Session, *, order_id: uuid.UUID, now: datetime, actor: User | None = None, access_token: str = ""
) -> Order:
    """Buyers may drop their own pending order. Organizers of the event (and admins) may cancel any
    pending or paid order: paid money is refunded, tickets invalidated and seats returned to sale."""
    with transaction(session):  # reads only
        order = session.get(Order, order_id)
        if order is None or not may_view_order(session, order, user=actor, access_token=access_token):
            raise NotFound()
        is_organizer = is_allowed(session, actor, Permission.EVENT_MANAGE, event_id=order.event_id)
        status = order.status
        payment = None
        if status == OrderStatus.PAID and is_organizer:
            payment = session.exec(
                select(Payment).where(Payment.order_id == order.id, Payment.status == PaymentStatus.CONFIRMED)
            ).first()
        refundable = payment is not None and payment.amount_minor > 0
        refund_call = (
            (_provider_of(payment), payment.provider_payment_id, payment.amount_minor, payment.id)
            if payment is not None and refundable
            else None
        )

    if status == OrderStatus.PENDING:
        reason = CancelReason.BY_ORGANIZER if is_organizer else CancelReason.BY_BUYER
        return cancel_unpaid(session, order_id, now=now, reason=reason, actor=actor)
    if status != OrderStatus.PAID or not is_organizer or actor is None:
        raise OrderNotCancellable()

    refund_id = ""
    if refund_call is not None:
        provider, provider_payment_id, amount_minor, payment_id = refund_call
        assert_no_transaction(session)
        try:
            refund_id = provider.refund(
                provider_payment_id=provider_payment_id,
                amount_minor=amount_minor,
                idempotency_key=f"refund-{payment_id}",
            )
        except ProviderUnavailable as exc:
            raise PaymentUnavailable() from exc

    with transaction(session):
        order = lock_row(session, Order, order_id)
        if order is None:
            raise NotFound()
        if order.status != OrderStatus.PAID:
            return order  # cancelled meanwhile
        change_status(order, OrderStatus.REFUNDED if refundable else OrderStatus.CANCELLED, now=now)
        session.add(order)
        ticket_status = TicketStatus.REFUNDED if refundable else TicketStatus.CANCELLED
        ticket_ids = list(session.exec(select(Ticket.id).where(Ticket.order_id == order.id)).all())
        session.exec(update(Ticket).where(col(Ticket.order_id) == order.id).values(status=ticket_status))
        vouchers.give_back_uses(session, [order.id])  # before the seats: the lock order of placing
        return_seats(session, order_lines(session, order.id), now=now)
        invoices.issue_credit_note(session, order, now=now)
        if refund_call is not None:
            record_refund(session, session.get_one(Payment, refund_call[3]), refund_id, now=now, actor=actor)
        record_audit(
            session,
            action=AuditAction.ORDER_CANCELLED,
            object_type="order",
            object_id=order.id,
            now=now,
            actor_user_id=actor.id,
            data={"refunded": refundable},
        )
        emit_event(
            session,
            topic=Topic.ORDER_CANCELLED,
            payload={"order_id": str(order.id), "refunded": refundable},
            now=now,
        )
    metrics.count_order("refunded" if refundable else "cancelled")
    checkins.forget_scan_states(order.event_id, ticket_ids)
    publish_availability(session, order.event_id)
    return order


def record_refund(
    session: Session,
    payment: Payment,
    refund_id: str,
    *,
    now: datetime,
    actor: User | None = None,
    reason: CancelReason | None = None,
) -> None:
    """The provider gave the whole payment back (its `refund_id`): mark the payment refunded and
    audit it on its order, in the caller's transaction. `reason` for refunds nobody asked for
    (a late payment)."""
    payment.status = PaymentStatus.REFUNDED
    payment.refunded_minor = payment.amount_minor
    payment.updated_at = now
    session.add(payment)
    record_audit(
        session,
        action=AuditAction.PAYMENT_REFUNDED,
        object_type="order",
        object_id=payment.order_id,
        now=now,
        actor_user_id=actor.id if actor else None,
        data={"payment_id": str(payment.id), "refund_id": refund_id, **({"reason": reason} if reason else {})},
    )


def _provider_of(payment: Payment) -> PaymentProvider:
    provider = get_provider(payment.provider)
    if provider is None:  # the provider was switched off since this payment: no way to refund here
        raise PaymentUnavailable()
    return provider


def cancel_unpaid(
    session: Session, order_id: uuid.UUID, *, now: datetime, reason: CancelReason, actor: User | None = None
) -> Order:
    """Cancel a pending order and free its seats; an order that is no longer pending is left as is."""
    with transaction(session):
        order = lock_row(session, Order, order_id)
        if order is None:
            raise NotFound()
        if order.status != OrderStatus.PENDING:
            return order
        change_status(order, OrderStatus.CANCELLED, now=now)
        session.add(order)
        vouchers.give_back_uses(session, [order.id])
        return_seats(session, order_lines(session, order.id), now=now)
        record_audit(
            session,
            action=AuditAction.ORDER_CANCELLED,
            object_type="order",
            object_id=order.id,
            now=now,
            actor_user_id=actor.id if actor else None,
            data={"reason": reason},
        )
    metrics.count_order("cancelled")
    publish_availability(session, order.event_id)
    return order
