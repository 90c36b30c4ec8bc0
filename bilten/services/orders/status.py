"""Where an order may go from where it is: one table, one function that moves it, and the names
(outcomes, audit actions, reasons) the order services write, as enums instead of bare strings."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from bilten.models import Order, OrderStatus

# Every allowed move, and nothing else. A late payment may revive an expired or cancelled order
# when its seats are still free (payments.py, `_pay_late`).
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.PAID, OrderStatus.EXPIRED, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.CANCELLED, OrderStatus.REFUNDED}),
    OrderStatus.EXPIRED: frozenset({OrderStatus.PAID}),
    OrderStatus.CANCELLED: frozenset({OrderStatus.PAID}),
    OrderStatus.REFUNDED: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A bug, not a user error: a service tried a move the table above does not allow."""

    def __init__(self, current: OrderStatus, new: OrderStatus) -> None:
        super().__init__(f"an order cannot go from {current} to {new}")
        self.current = current
        self.new = new


def may_change(current: OrderStatus, new: OrderStatus) -> bool:
    return new in TRANSITIONS[current]


def change_status(order: Order, new: OrderStatus, *, now: datetime) -> None:
    """Move the order to `new` and stamp when (paid_at, cancelled_at); the caller's transaction
    writes it, and the caller records the audit entry that says why."""
    if not may_change(order.status, new):
        raise IllegalTransition(order.status, new)
    order.status = new
    if new == OrderStatus.PAID:
        order.paid_at = now
        order.hold_expires_at = None
    elif new in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        order.cancelled_at = now


class PaymentResult(StrEnum):
    """What `apply_payment_update` did with one provider update."""

    PAID = "paid"
    PAID_LATE = "paid_late"
    REFUND_NEEDED = "refund_needed"  # money arrived for an order that cannot have its seats
    FAILED = "failed"
    CANCELED = "canceled"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


class AuditAction(StrEnum):
    ORDER_PLACED = "order.placed"
    ORDER_PAID = "order.paid"
    ORDER_PAID_LATE = "order.paid_late"
    ORDER_EXPIRED = "order.expired"
    ORDER_CANCELLED = "order.cancelled"
    PAYMENT_STARTED = "payment.started"
    PAYMENT_CONFIRMED = "payment.confirmed"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_CANCELED = "payment.canceled"
    PAYMENT_REFUND_REQUIRED = "payment.refund_required"
    PAYMENT_REFUNDED = "payment.refunded"


class Topic(StrEnum):
    """Domain events the order services put into the outbox."""

    ORDER_PAID = "order.paid"
    ORDER_CANCELLED = "order.cancelled"


class CancelReason(StrEnum):
    BY_BUYER = "by_buyer"
    BY_ORGANIZER = "by_organizer"
    PAYMENT_UNAVAILABLE = "payment_unavailable"
    EVENT_CANCELLED = "event_cancelled"
    LATE_PAYMENT = "late_payment"
