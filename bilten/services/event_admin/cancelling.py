"""Cancelling an event, in two steps by design: the event stops selling in one transaction, then
each order is cancelled and refunded in its own, so a refund that fails does not undo the others
and running it again picks up where it stopped."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from bilten.models import Event, EventStatus, Order, OrderStatus, User
from bilten.services.access import Permission, authorize
from bilten.services.audit import emit_event, record_audit
from bilten.services.errors import BiltenError
from bilten.services.event_admin.events import lock_event
from bilten.services.event_admin.reading import EditableEvent, editable_event
from bilten.services.orders import cancel_order
from bilten.services.transaction import transaction


class CancellationReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    event: EditableEvent  # as it is after the cancellation
    # paid orders whose money went back
    refunded: int = Field(serialization_alias="refunded_orders")
    # orders cancelled without money to give back (pending, or free)
    cancelled: int = Field(serialization_alias="cancelled_orders")
    # orders still open (a refund failed): run the cancellation again
    failed: list[uuid.UUID] = Field(serialization_alias="failed_orders")


def cancel_event(session: Session, *, actor: User | None, event_id: uuid.UUID, now: datetime) -> CancellationReport:
    """Cancel an event: it stops selling at once, every paid order is refunded through its payment
    provider and every pending one cancelled, and each buyer gets an "event cancelled" email.

    Step 1 (one transaction): the event becomes cancelled and one `event.cancelled` outbox event
    per open order is written with it, so the emails cannot be lost. Step 2: each open order goes
    through `orders.cancel_order` in its own transactions. Calling this again on a cancelled event
    retries the orders still open."""
    with transaction(session):
        user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
        event = lock_event(session, event_id)
        if event.status != EventStatus.CANCELLED:
            _stop_selling(session, event, user=user, now=now)
    with transaction(session):
        open_orders = _open_order_ids(session, event_id)

    refunded = cancelled = 0
    failed: list[uuid.UUID] = []
    for order_id in open_orders:
        try:
            order = cancel_order(session, order_id=order_id, now=now, actor=user)
        except BiltenError:
            failed.append(order_id)
            continue
        if order.status == OrderStatus.REFUNDED:
            refunded += 1
        elif order.status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED):
            cancelled += 1
        else:
            failed.append(order_id)
    with transaction(session):  # reads only
        event_now = editable_event(session, actor=user, event_id=event_id)
    return CancellationReport(event=event_now, refunded=refunded, cancelled=cancelled, failed=failed)


def _stop_selling(session: Session, event: Event, *, user: User, now: datetime) -> None:
    previous = event.status
    event.status = EventStatus.CANCELLED
    session.add(event)
    open_orders = _open_order_ids(session, event.id)
    for order_id in open_orders:
        emit_event(
            session,
            topic="event.cancelled",
            payload={"order_id": str(order_id), "event_id": str(event.id)},
            now=now,
        )
    record_audit(
        session,
        action="event.cancelled",
        object_type="event",
        object_id=event.id,
        now=now,
        actor_user_id=user.id,
        organization_id=event.organization_id,
        data={"from": str(previous), "open_orders": len(open_orders)},
    )


def _open_order_ids(session: Session, event_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        session.exec(
            select(Order.id)
            .where(Order.event_id == event_id, col(Order.status).in_([OrderStatus.PAID, OrderStatus.PENDING]))
            .order_by(col(Order.created_at), col(Order.id))
        ).all()
    )
