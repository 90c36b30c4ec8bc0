"""Holds that run out: their seats go back on sale and their open checkouts are made unpayable."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlmodel import Session, col, select

from bilten.models import Order, OrderStatus, Payment, PaymentStatus
from bilten.observability import metrics
from bilten.services import vouchers
from bilten.services.audit import record_audit
from bilten.services.orders.seats import order_lines, publish_availability, return_seats
from bilten.services.orders.status import AuditAction, change_status
from bilten.services.transaction import transaction

SWEEP_BATCH = 200


@dataclass(frozen=True)
class ExpiredHold:
    order_id: uuid.UUID
    event_id: uuid.UUID
    open_checkouts: list[tuple[str, str]]  # (provider, provider_reference) to make unpayable


def expire_holds(session: Session, *, now: datetime, limit: int = SWEEP_BATCH) -> list[ExpiredHold]:
    """Release the seats of pending orders whose hold ran out. Several sweepers may run at once
    (one per worker): SKIP LOCKED gives each its own orders, and skips orders being paid right now."""
    query = (
        select(Order)
        # A literal status: the partial index of pending holds serves prepared plans too (see 0014).
        .where(text("ticket_order.status = 'pending'"), col(Order.hold_expires_at) <= now)
        .order_by(col(Order.hold_expires_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    with transaction(session):
        expired = [_expire(session, order, now=now) for order in session.exec(query).all()]
    metrics.count_order("expired", len(expired))
    for event_id in {hold.event_id for hold in expired}:
        publish_availability(session, event_id)
    return expired


def _expire(session: Session, order: Order, *, now: datetime) -> ExpiredHold:
    change_status(order, OrderStatus.EXPIRED, now=now)
    session.add(order)
    vouchers.give_back_uses(session, [order.id])  # before the seats: the lock order of placing
    return_seats(session, order_lines(session, order.id), now=now)
    open_checkouts = []
    for payment in session.exec(select(Payment).where(Payment.order_id == order.id)).all():
        if payment.status in (PaymentStatus.CREATED, PaymentStatus.PENDING):
            payment.status = PaymentStatus.CANCELED
            payment.updated_at = now
            session.add(payment)
            open_checkouts.append((payment.provider, payment.provider_reference))
    record_audit(session, action=AuditAction.ORDER_EXPIRED, object_type="order", object_id=order.id, now=now)
    return ExpiredHold(order_id=order.id, event_id=order.event_id, open_checkouts=open_checkouts)
