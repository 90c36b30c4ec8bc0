"""Paying for an order: open a checkout, apply what the provider reports (exactly once), and give
back money that arrived for an order that could not keep its seats.

A provider is never called with a transaction open (a network call must never hold a lock): each
use case reads in one transaction, calls the provider, then writes in another that re-reads what
it changes under lock. Our payment id is the provider's idempotency key, so a retry never opens a
second charge or a second refund."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bilten.ids import parse_id
from bilten.models import (
    Event,
    EventStatus,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentStatus,
    ProcessedWebhook,
    TicketType,
    User,
)
from bilten.observability import metrics
from bilten.payments import active_provider, get_provider
from bilten.payments.base import PaymentRequest, PaymentStart, PaymentUpdate, ProviderUnavailable, UpdateKind
from bilten.payments.test import TEST_PROVIDER
from bilten.services import vouchers
from bilten.services.audit import emit_event, record_audit
from bilten.services.errors import (
    AmountMismatch,
    NotFound,
    OrderNotPayable,
    PaymentsNotConfigured,
    PaymentUnavailable,
    UnknownOrder,
)
from bilten.services.order_access import may_view_order, order_access_token
from bilten.services.orders.cancelling import cancel_unpaid, record_refund
from bilten.services.orders.issuing import mark_paid
from bilten.services.orders.seats import order_lines, publish_availability, retake_seats, return_seats
from bilten.services.orders.status import AuditAction, CancelReason, PaymentResult, Topic, change_status
from bilten.services.transaction import assert_no_transaction, lock_row, transaction
from bilten.services.translations import field_text
from bilten.settings import get_settings


@dataclass(frozen=True)
class PaymentOutcome:
    result: PaymentResult
    order_id: uuid.UUID
    payment_id: uuid.UUID | None = None


# ---------------------------------------------------------------------------------------------
# Opening a checkout


def start_payment(
    session: Session, *, order_id: uuid.UUID, now: datetime, user: User | None = None, access_token: str = ""
) -> Payment:
    """Open a checkout with the active provider for a pending order (or another one after a decline),
    for its buyer (signed link or account) or the event's organizers. If the provider cannot be
    reached the order is cancelled and its seats return to sale."""
    with transaction(session):  # reads only
        order = session.get(Order, order_id)
        if order is None or not may_view_order(session, order, user=user, access_token=access_token):
            raise NotFound()
        if order.status != OrderStatus.PENDING or order.hold_expires_at is None or order.hold_expires_at <= now:
            raise OrderNotPayable()
        provider = active_provider()
        if provider is None:
            raise PaymentsNotConfigured()
        event = session.get_one(Event, order.event_id)
        names = {
            t.id: field_text(t, "name", order.locale, event.main_language)
            for t in session.exec(select(TicketType).where(TicketType.event_id == order.event_id))
        }
        payment_id = uuid.uuid4()
        request = payment_request(order, event, order_lines(session, order.id), names, payment_id)

    assert_no_transaction(session)
    try:
        started = provider.start(request)
    except ProviderUnavailable as exc:
        cancel_unpaid(session, order_id, now=now, reason=CancelReason.PAYMENT_UNAVAILABLE)
        raise PaymentUnavailable() from exc

    with transaction(session):
        order = session.get_one(Order, order_id)
        return record_payment_start(session, order, provider.identifier, payment_id, started, now=now)


def payment_request(
    order: Order, event: Event, lines: list[OrderLine], type_names: dict[uuid.UUID, str], payment_id: uuid.UUID
) -> PaymentRequest:
    """What the provider's checkout shows, in the buyer's language (`type_names` already are)."""
    base = get_settings().public_url.rstrip("/")
    token = order_access_token(order.id)
    title = field_text(event, "title", order.locale, event.main_language)
    return PaymentRequest(
        order_id=str(order.id),
        payment_id=str(payment_id),
        amount_minor=order.total_minor,
        currency=order.currency,
        description=title,
        buyer_email=order.buyer_email,
        line_items=[
            (f"{title}: {type_names[line.ticket_type_id]}", line.unit_price_minor, line.quantity) for line in lines
        ],
        success_url=f"{base}/orders/{order.id}?token={token}&paid=1",
        cancel_url=f"{base}/orders/{order.id}?token={token}",
    )


def record_payment_start(
    session: Session, order: Order, provider: str, payment_id: uuid.UUID, started: PaymentStart, *, now: datetime
) -> Payment:
    """The opened checkout, in the caller's transaction."""
    payment = Payment(
        id=payment_id,
        order_id=order.id,
        provider=provider,
        provider_reference=started.provider_reference,
        checkout_url=started.checkout_url,
        status=PaymentStatus.PENDING,
        amount_minor=order.total_minor,
        currency=order.currency,
        idempotency_key=str(payment_id),
        created_at=now,
        updated_at=now,
    )
    session.add(payment)
    order.payment_provider = provider
    order.payment_reference = started.provider_reference
    session.add(order)
    record_audit(
        session,
        action=AuditAction.PAYMENT_STARTED,
        object_type="order",
        object_id=order.id,
        now=now,
        data={"provider": provider, "payment_id": str(payment_id)},
    )
    return payment


# ---------------------------------------------------------------------------------------------
# What the provider reports


class _AlreadyProcessed(Exception):
    """This delivery's event id was recorded before: roll back, answer "duplicate"."""


def apply_payment_update(session: Session, *, provider: str, update: PaymentUpdate, now: datetime) -> PaymentOutcome:
    """Apply an authenticated provider update exactly once, whatever the number, order or
    concurrency of deliveries. Returns what happened; "refund_needed" means money arrived for an
    order that can no longer have its seats: call `refund_unbacked_payment` next."""
    order_id = parse_id(update.order_id)
    if order_id is None:
        raise UnknownOrder()
    try:
        with transaction(session):
            _record_delivery(session, provider, update, now=now)
            order, payment = _lock_order_and_payment(session, provider, update, order_id)
            apply = _APPLY_BY_KIND.get(update.kind, _ignore)
            outcome = apply(session, order, payment, update, now)
    except _AlreadyProcessed:
        return PaymentOutcome(result=PaymentResult.DUPLICATE, order_id=order_id)
    if outcome.result in (PaymentResult.PAID, PaymentResult.PAID_LATE):
        publish_availability(session, order.event_id)  # seats left may be the same; held became sold
    return outcome


def _record_delivery(session: Session, provider: str, update: PaymentUpdate, *, now: datetime) -> None:
    """Recorded first: a concurrent duplicate waits on this unique key, then finds it taken."""
    session.add(ProcessedWebhook(provider=provider, event_id=update.event_id, received_at=now))
    try:
        session.flush()
    except IntegrityError:
        raise _AlreadyProcessed() from None


def _lock_order_and_payment(
    session: Session, provider: str, update: PaymentUpdate, order_id: uuid.UUID
) -> tuple[Order, Payment]:
    order = lock_row(session, Order, order_id)
    payment = session.exec(
        select(Payment)
        .where(Payment.provider == provider, Payment.provider_reference == update.provider_reference)
        .with_for_update()
    ).first()
    if order is None or payment is None or payment.order_id != order.id:
        raise UnknownOrder()
    return order, payment


def _payment_failed(
    session: Session, order: Order, payment: Payment, update: PaymentUpdate, now: datetime
) -> PaymentOutcome:
    """A decline or an abandoned checkout: the order stays pending (the buyer may try again)."""
    if payment.status not in (PaymentStatus.CREATED, PaymentStatus.PENDING):
        return PaymentOutcome(result=PaymentResult.IGNORED, order_id=order.id, payment_id=payment.id)
    failed = update.kind == UpdateKind.FAILED
    payment.status = PaymentStatus.FAILED if failed else PaymentStatus.CANCELED
    payment.updated_at = now
    session.add(payment)
    record_audit(
        session,
        action=AuditAction.PAYMENT_FAILED if failed else AuditAction.PAYMENT_CANCELED,
        object_type="order",
        object_id=order.id,
        now=now,
        data={"payment_id": str(payment.id)},
    )
    result = PaymentResult.FAILED if failed else PaymentResult.CANCELED
    return PaymentOutcome(result=result, order_id=order.id, payment_id=payment.id)


def _payment_confirmed(
    session: Session, order: Order, payment: Payment, update: PaymentUpdate, now: datetime
) -> PaymentOutcome:
    """Money arrived: tickets if the order can still have its seats, else a refund is due."""
    if update.amount_minor != payment.amount_minor or (update.currency or "").upper() != payment.currency:
        raise AmountMismatch()
    if payment.status in (PaymentStatus.CONFIRMED, PaymentStatus.REFUNDED):
        # the same money reported again under another event id
        return PaymentOutcome(result=PaymentResult.DUPLICATE, order_id=order.id, payment_id=payment.id)
    _confirm(session, order, payment, update, now=now)
    lines = order_lines(session, order.id)
    event = session.get_one(Event, order.event_id)
    if event.status == EventStatus.CANCELLED and order.status == OrderStatus.PENDING:
        _cancel_for_cancelled_event(session, order, event, lines, now=now)
    if order.status == OrderStatus.PENDING:
        # The hold still counts its seats even if its time ran out and the sweeper has not run.
        mark_paid(session, order, event=event, lines=lines, now=now)
        return PaymentOutcome(result=PaymentResult.PAID, order_id=order.id, payment_id=payment.id)
    if _may_pay_late(order, event) and retake_seats(session, lines):
        vouchers.retake_use(session, order)  # if one is left; the order keeps the price it was paid at
        mark_paid(session, order, event=event, lines=lines, now=now)
        record_audit(session, action=AuditAction.ORDER_PAID_LATE, object_type="order", object_id=order.id, now=now)
        return PaymentOutcome(result=PaymentResult.PAID_LATE, order_id=order.id, payment_id=payment.id)
    record_audit(
        session,
        action=AuditAction.PAYMENT_REFUND_REQUIRED,
        object_type="order",
        object_id=order.id,
        now=now,
        data={"payment_id": str(payment.id), "order_status": order.status.value},
    )
    return PaymentOutcome(result=PaymentResult.REFUND_NEEDED, order_id=order.id, payment_id=payment.id)


def _ignore(session: Session, order: Order, payment: Payment, update: PaymentUpdate, now: datetime) -> PaymentOutcome:
    """Kinds we do not act on (a refund we made ourselves is recorded when we make it)."""
    return PaymentOutcome(result=PaymentResult.IGNORED, order_id=order.id, payment_id=payment.id)


_APPLY_BY_KIND: dict[UpdateKind, Callable[[Session, Order, Payment, PaymentUpdate, datetime], PaymentOutcome]] = {
    UpdateKind.CONFIRMED: _payment_confirmed,
    UpdateKind.FAILED: _payment_failed,
    UpdateKind.CANCELED: _payment_failed,
}


def _confirm(session: Session, order: Order, payment: Payment, update: PaymentUpdate, *, now: datetime) -> None:
    payment.status = PaymentStatus.CONFIRMED
    payment.provider_payment_id = update.provider_payment_id or payment.provider_payment_id
    payment.updated_at = now
    session.add(payment)
    record_audit(
        session,
        action=AuditAction.PAYMENT_CONFIRMED,
        object_type="order",
        object_id=order.id,
        now=now,
        data={"payment_id": str(payment.id), "amount": payment.amount_minor},
    )


def _cancel_for_cancelled_event(
    session: Session, order: Order, event: Event, lines: list[OrderLine], *, now: datetime
) -> None:
    """The event was cancelled while this buyer was paying (or their order was placed in the
    instant before): no tickets for a cancelled event, the seats go back, the money is refunded."""
    change_status(order, OrderStatus.CANCELLED, now=now)
    metrics.after_commit(session, metrics.count_order, "cancelled")
    order.hold_expires_at = None
    session.add(order)
    vouchers.give_back_uses(session, [order.id])
    return_seats(session, lines, now=now)
    record_audit(
        session,
        action=AuditAction.ORDER_CANCELLED,
        object_type="order",
        object_id=order.id,
        now=now,
        organization_id=event.organization_id,
        data={"reason": CancelReason.EVENT_CANCELLED},
    )


def _may_pay_late(order: Order, event: Event) -> bool:
    """An order that expired or was dropped may still be paid if its event goes ahead (and its seats
    are still free: `retake_seats`)."""
    return order.status in (OrderStatus.EXPIRED, OrderStatus.CANCELLED) and event.status != EventStatus.CANCELLED


# ---------------------------------------------------------------------------------------------
# Money to give back


def refund_unbacked_payment(session: Session, *, payment_id: uuid.UUID, now: datetime) -> bool:
    """Give back money that arrived for an order that could not keep its seats. Safe to repeat:
    the provider sees the same idempotency key. Returns True once refunded."""
    with transaction(session):  # reads only
        payment = session.get(Payment, payment_id)
        if payment is None or payment.status != PaymentStatus.CONFIRMED:
            return False
        order = session.get_one(Order, payment.order_id)
        if order.status == OrderStatus.PAID and order.payment_reference == payment.provider_reference:
            return False  # this payment backs the order: nothing to give back
        provider = get_provider(payment.provider)
        if provider is None:  # switched off since: the sweeper tries again later
            raise ProviderUnavailable(f"no provider {payment.provider!r}")
        provider_payment_id, amount_minor = payment.provider_payment_id, payment.amount_minor

    assert_no_transaction(session)
    refund_id = provider.refund(
        provider_payment_id=provider_payment_id, amount_minor=amount_minor, idempotency_key=f"refund-{payment_id}"
    )

    with transaction(session):
        payment = lock_row(session, Payment, payment_id)
        if payment is None or payment.status != PaymentStatus.CONFIRMED:
            return True  # refunded meanwhile by another sweeper
        record_refund(session, payment, refund_id, now=now, reason=CancelReason.LATE_PAYMENT)
        emit_event(
            session,
            topic=Topic.ORDER_CANCELLED,
            payload={"order_id": str(payment.order_id), "refunded": True, "reason": CancelReason.LATE_PAYMENT},
            now=now,
        )
    return True


def pending_refunds(session: Session) -> list[uuid.UUID]:
    """Confirmed payments whose order is not paid by them (late payments awaiting their refund)."""
    query = (
        select(Payment.id)
        .join(Order, col(Order.id) == col(Payment.order_id))
        .where(Payment.status == PaymentStatus.CONFIRMED, Order.status != OrderStatus.PAID)
    )
    with transaction(session):
        return list(session.exec(query).all())


def pay_with_test_provider(
    session: Session,
    *,
    order_id: uuid.UUID,
    succeeded: bool,
    now: datetime,
    user: User | None = None,
    access_token: str = "",
) -> PaymentOutcome:
    """The buyer's answer on the test-mode checkout, through the same path as a provider webhook."""
    with transaction(session):  # reads only
        order = session.get(Order, order_id)
        if order is None or get_provider(TEST_PROVIDER) is None:
            raise NotFound()
        if not may_view_order(session, order, user=user, access_token=access_token):
            raise NotFound()
        payment = session.exec(
            select(Payment)
            .where(
                Payment.order_id == order.id, Payment.provider == TEST_PROVIDER, Payment.status == PaymentStatus.PENDING
            )
            .order_by(col(Payment.created_at).desc())
        ).first()
        if (
            order.status != OrderStatus.PENDING
            or payment is None
            or order.hold_expires_at is None
            or order.hold_expires_at <= now
        ):
            raise OrderNotPayable()
        update = PaymentUpdate(
            event_id=f"test-{uuid.uuid4()}",
            kind=UpdateKind.CONFIRMED if succeeded else UpdateKind.FAILED,
            provider_reference=payment.provider_reference,
            order_id=str(order.id),
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            provider_payment_id=payment.provider_reference,
        )
    return apply_payment_update(session, provider=TEST_PROVIDER, update=update, now=now)
