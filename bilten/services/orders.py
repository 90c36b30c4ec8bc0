"""Orders: reserve seats without ever overselling, pay, issue tickets, expire, cancel and refund.

Seats live in one counter per ticket type (`TicketType.reserved`: held + sold). A reservation is
one conditional `UPDATE ... SET reserved = reserved + n WHERE reserved + n <= quantity`, run last
in its transaction so the hot row is locked only until the commit; the database decides, so two
buyers can never get the same seat on PostgreSQL or SQLite. Lock waits are capped (3 s, see db.py)
and turn into a "try again" answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from sqlalchemy import Engine, bindparam, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlmodel import Session, select

from bilten import live
from bilten.db import insert_new_rows
from bilten.debounce import Debouncer
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
    Ticket,
    TicketStatus,
    TicketType,
    User,
)
from bilten.payments import active_provider, get_provider, payments_configured
from bilten.payments.base import (
    PaymentProvider,
    PaymentRequest,
    PaymentStart,
    PaymentUpdate,
    ProviderUnavailable,
    UpdateKind,
)
from bilten.payments.test import TEST_PROVIDER
from bilten.services import checkins
from bilten.services.access import Permission, is_allowed
from bilten.services.audit import emit_event, record_audit
from bilten.services.errors import (
    AmountMismatch,
    EventNotOnSale,
    InvalidQuantity,
    NotFound,
    OrderNotCancellable,
    OrderNotPayable,
    PaymentsNotConfigured,
    PaymentUnavailable,
    QuantityOutOfRange,
    SalesClosed,
    SalesNotOpen,
    SoldOut,
    TryAgain,
    UnknownOrder,
    UnknownTicketType,
)
from bilten.services.security import tokens_equal
from bilten.services.ticket_codes import load_private_key, sign_ticket_code
from bilten.services.ticket_references import unused_references
from bilten.services.validation import clean_email, clean_name, clean_phone
from bilten.settings import get_secret_key, get_settings

MAX_TYPES_PER_ORDER = 20
MAX_QUANTITY = 100  # per line, before the ticket type's own maximum: keeps absurd input cheap
SWEEP_BATCH = 200


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    access_token: str
    payment: Payment | None = None  # opened already when the provider needs no network


@dataclass(frozen=True)
class PaymentOutcome:
    result: str  # "paid", "paid_late", "refund_needed", "failed", "canceled", "duplicate", "ignored"
    order_id: uuid.UUID
    payment_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ExpiredHold:
    order_id: uuid.UUID
    event_id: uuid.UUID
    open_checkouts: list[tuple[str, str]]  # (provider, provider_reference) to make unpayable


# ---------------------------------------------------------------------------------------------
# Guest access: a signed link instead of an account


def order_access_token(order_id: uuid.UUID) -> str:
    digest = hmac.new(get_secret_key().encode(), f"order:{order_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def may_view_order(session: Session, order: Order, *, user: User | None, access_token: str = "") -> bool:
    if access_token and tokens_equal(access_token, order_access_token(order.id)):
        return True
    if user is not None and order.user_id == user.id:
        return True
    return is_allowed(session, user, Permission.EVENT_MANAGE, event_id=order.event_id)


# ---------------------------------------------------------------------------------------------
# Placing an order


def place_order(
    session: Session,
    *,
    items: list[tuple[uuid.UUID, int]],
    email: str,
    phone: str,
    now: datetime,
    name: str = "",
    user: User | None = None,
    locale: str = "en",
    event_id: uuid.UUID | None = None,
    hold_minutes: int | None = None,
    provider: PaymentProvider | None = None,
) -> PlacedOrder:
    """Hold the seats asked for and create a pending order (paid at once when free). With a
    provider that needs no network, its checkout opens in the same transaction; otherwise call
    `start_payment` next.

    Bad input raises before anything is written; a sold-out type raises SoldOut after the whole
    transaction is rolled back: no order, no hold."""
    email = clean_email(email)
    phone = clean_phone(phone, required=user is None)
    name = clean_name(name)
    wanted = _sum_quantities(items)
    event, types = _load_types_for_sale(session, wanted, event_id=event_id, now=now)
    if not payments_configured() and any(t.price_minor > 0 for t in types):
        raise PaymentsNotConfigured()  # before anything is written: no order, no seats held

    currency = types[0].currency
    order = Order(
        event_id=event.id,
        user_id=user.id if user else None,
        buyer_email=email,
        buyer_phone=phone,
        buyer_name=name or (user.full_name if user else ""),
        locale=locale,
        currency=currency,
        hold_expires_at=now + timedelta(minutes=hold_minutes or get_settings().hold_minutes),
        created_at=now,
    )
    session.add(order)
    lines = []
    for ticket_type in types:
        quantity = wanted[ticket_type.id]
        line = OrderLine(
            order_id=order.id,
            ticket_type_id=ticket_type.id,
            quantity=quantity,
            unit_price_minor=ticket_type.price_minor,
            line_total_minor=quantity * ticket_type.price_minor,
        )
        lines.append(line)
        session.add(line)
    order.total_minor = sum(line.line_total_minor for line in lines)
    record_audit(
        session,
        action="order.placed",
        object_type="order",
        object_id=order.id,
        now=now,
        actor_user_id=order.user_id,
        organization_id=event.organization_id,
        data={"lines": {str(line.ticket_type_id): line.quantity for line in lines}},
    )
    payment = None
    if order.total_minor == 0:
        _still_on_sale(session, event.id)
        _mark_paid(session, order, event=event, lines=lines, now=now)
    elif provider is not None and provider.local:
        # A provider that needs no network (test mode) opens its checkout in this same transaction.
        payment_id = uuid.uuid4()
        started = provider.start(_payment_request(order, event, lines, {t.id: t.name for t in types}, payment_id))
        payment = _record_payment_start(session, order, provider.identifier, payment_id, started, now=now)

    try:
        if session.get_bind().dialect.name == "postgresql":
            _commit_in_one_round_trip(session, types, wanted)
        else:
            _commit_seat_by_seat(session, types, wanted)
    except (OperationalError, DBAPIError, psycopg.errors.LockNotAvailable) as exc:
        session.rollback()
        if _is_lock_timeout(exc):
            raise TryAgain() from exc
        raise
    _publish_availability(session, event.id)
    return PlacedOrder(order=order, access_token=order_access_token(order.id), payment=payment)


def _still_on_sale(session: Session, event_id: uuid.UUID) -> None:
    """Before tickets are issued at once (a free order): read the event's status again under a share
    lock. A cancellation holds the row until it commits, so an order racing it sees "cancelled" and
    gets no tickets for an event that is not happening."""
    with session.no_autoflush:
        status = session.execute(
            select(Event.status).where(Event.id == event_id).with_for_update(read=True)
        ).scalar_one()
    if status != EventStatus.PUBLISHED:
        session.rollback()
        raise EventNotOnSale()


def _commit_in_one_round_trip(session: Session, types: list[TicketType], wanted: dict[uuid.UUID, int]) -> None:
    """PostgreSQL: send the order's rows, the seat counters and COMMIT together (psycopg pipeline).

    The counter row is then locked only while the server runs the rest of the batch, never while
    this thread waits for the GIL behind other requests: a rush queues on the row for microseconds,
    not milliseconds. The schema's CHECK (reserved <= quantity) refuses an oversold counter, which
    aborts the whole batch: nothing of the order is kept."""
    raw = session.connection().connection.driver_connection
    try:
        with raw.pipeline():
            insert_new_rows(session)
            for ticket_type in types:  # sorted by id: two orders lock rows in the same order, no deadlock
                session.execute(_ADD_SEATS, {"type_id": ticket_type.id, "n": wanted[ticket_type.id]})
            raw.commit()
    except psycopg.errors.CheckViolation:
        session.rollback()
        raise _sold_out(session, types, wanted) from None
    session.commit()  # SQLAlchemy's bookkeeping: the database has committed already
    for ticket_type in types:
        session.expire(ticket_type, ["reserved"])


def _commit_seat_by_seat(session: Session, types: list[TicketType], wanted: dict[uuid.UUID, int]) -> None:
    """Elsewhere (SQLite, one writer at a time): the guarded UPDATE per type, last, then COMMIT."""
    session.flush()
    for ticket_type in types:
        if _take_seats(session, ticket_type.id, wanted[ticket_type.id]) is None:
            session.rollback()
            raise _sold_out(session, types, wanted)
    session.commit()


def _sold_out(session: Session, types: list[TicketType], wanted: dict[uuid.UUID, int]) -> SoldOut:
    """The first type without enough seats, with how many it has left."""
    left = _seats_left(session, [t.id for t in types])
    session.rollback()
    short = next((t for t in types if left[str(t.id)] < wanted[t.id]), types[0])
    return SoldOut(name=short.name, available=left[str(short.id)])


def _seats_left(session: Session, type_ids: list[uuid.UUID]) -> dict[str, int]:
    rows = session.execute(_SEATS_LEFT, {"ids": type_ids}).all()
    return {str(type_id): max(left, 0) for type_id, left in rows}


def _sum_quantities(items: list[tuple[uuid.UUID, int]]) -> dict[uuid.UUID, int]:
    if not items or len(items) > MAX_TYPES_PER_ORDER:
        raise InvalidQuantity()
    wanted: dict[uuid.UUID, int] = defaultdict(int)
    for ticket_type_id, quantity in items:
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0 or quantity > MAX_QUANTITY:
            raise InvalidQuantity()
        wanted[ticket_type_id] += quantity
    wanted = {type_id: quantity for type_id, quantity in wanted.items() if quantity > 0}
    if not wanted:
        raise InvalidQuantity()
    return wanted


def _load_types_for_sale(
    session: Session, wanted: dict[uuid.UUID, int], *, event_id: uuid.UUID | None, now: datetime
) -> tuple[Event, list[TicketType]]:
    rows = session.execute(_TYPES_FOR_SALE, {"ids": list(wanted)}).all()
    types = [ticket_type for ticket_type, _ in rows if not ticket_type.is_hidden]
    if len(types) != len(wanted) or len({t.event_id for t in types}) != 1:
        raise UnknownTicketType()
    event = rows[0][1]
    if event_id is not None and event.id != event_id:
        raise UnknownTicketType()
    if event.status != EventStatus.PUBLISHED or event.ends_at <= now:
        raise EventNotOnSale()
    if len({t.currency for t in types}) != 1:
        raise UnknownTicketType()
    for ticket_type in types:
        quantity = wanted[ticket_type.id]
        if ticket_type.sales_start and now < ticket_type.sales_start:
            raise SalesNotOpen(name=ticket_type.name)
        if ticket_type.sales_end and now >= ticket_type.sales_end:
            raise SalesClosed(name=ticket_type.name)
        if not ticket_type.min_per_order <= quantity <= ticket_type.max_per_order:
            raise QuantityOutOfRange(
                name=ticket_type.name, min=ticket_type.min_per_order, max=ticket_type.max_per_order
            )
    return event, list(types)


# The hot statements are built once (building a SQLAlchemy expression costs more CPU than running it).
_TAKE_SEATS = (
    update(TicketType)
    .where(TicketType.id == bindparam("type_id"), TicketType.reserved + bindparam("n") <= TicketType.quantity)
    .values(reserved=TicketType.reserved + bindparam("n"))
    .returning(TicketType.quantity - TicketType.reserved)
    .execution_options(synchronize_session=False)
)
_ADD_SEATS = (  # no WHERE on the seats: the CHECK constraint decides, inside the pipelined batch
    update(TicketType)
    .where(TicketType.id == bindparam("type_id"))
    .values(reserved=TicketType.reserved + bindparam("n"))
    .execution_options(synchronize_session=False)
)
_SEATS_LEFT = select(TicketType.id, TicketType.quantity - TicketType.reserved).where(
    TicketType.id.in_(bindparam("ids", expanding=True))
)
_TYPES_FOR_SALE = (
    select(TicketType, Event)
    .join(Event, Event.id == TicketType.event_id)
    .where(TicketType.id.in_(bindparam("ids", expanding=True)))
    .order_by(TicketType.id)
)


def _take_seats(session: Session, ticket_type_id: uuid.UUID, quantity: int) -> int | None:
    """Take seats if that many are left; returns how many are left then, None when there were not
    enough. (A CHECK constraint, reserved <= quantity, backs this up in the schema.)"""
    remaining = session.execute(_TAKE_SEATS, {"type_id": ticket_type_id, "n": quantity}).scalar_one_or_none()
    loaded = session.identity_map.get(session.identity_key(TicketType, ticket_type_id))
    if loaded is not None:
        session.expire(loaded, ["reserved"])  # the UPDATE went around the loaded copy
    return remaining


def _return_seats(session: Session, lines: list[OrderLine]) -> None:
    for line in sorted(lines, key=lambda line: line.ticket_type_id):
        session.exec(
            update(TicketType)
            .where(TicketType.id == line.ticket_type_id)
            .values(reserved=TicketType.reserved - line.quantity)
        )


def _is_lock_timeout(exc: DBAPIError) -> bool:
    text = str(exc.orig if hasattr(exc, "orig") else exc).lower()
    return (
        "lock timeout" in text or "database is locked" in text or "lock_timeout" in text or "locknotavailable" in text
    )


# ---------------------------------------------------------------------------------------------
# Paying


def start_payment(
    session: Session, *, order_id: uuid.UUID, now: datetime, user: User | None = None, access_token: str = ""
) -> Payment:
    """Open a checkout with the active provider for a pending order (or another one after a decline),
    for its buyer (signed link or account) or the event's organizers.

    The provider is called with no transaction open (a network call must never hold a lock);
    our payment id is its idempotency key, so a retry never opens a second charge. If the provider
    cannot be reached the order is cancelled and its seats return to sale."""
    order = session.get(Order, order_id)
    if order is None or not may_view_order(session, order, user=user, access_token=access_token):
        raise NotFound()
    if order.status != OrderStatus.PENDING or order.hold_expires_at is None or order.hold_expires_at <= now:
        raise OrderNotPayable()
    provider = active_provider()
    if provider is None:
        raise PaymentsNotConfigured()
    lines = _lines(session, order.id)
    names = {t.id: t.name for t in session.exec(select(TicketType).where(TicketType.event_id == order.event_id))}
    event = session.get(Event, order.event_id)
    session.commit()  # end the read transaction before the network call (nothing was written)

    payment_id = uuid.uuid4()
    try:
        started = provider.start(_payment_request(order, event, lines, names, payment_id))
    except ProviderUnavailable as exc:
        _cancel_unpaid(session, order.id, now=now, reason="payment_unavailable")
        raise PaymentUnavailable() from exc
    order = session.get(Order, order_id)
    payment = _record_payment_start(session, order, provider.identifier, payment_id, started, now=now)
    session.commit()
    return payment


def _payment_request(
    order: Order, event: Event, lines: list[OrderLine], type_names: dict[uuid.UUID, str], payment_id: uuid.UUID
) -> PaymentRequest:
    base = get_settings().public_url.rstrip("/")
    token = order_access_token(order.id)
    return PaymentRequest(
        order_id=str(order.id),
        payment_id=str(payment_id),
        amount_minor=order.total_minor,
        currency=order.currency,
        description=event.title,
        buyer_email=order.buyer_email,
        line_items=[
            (f"{event.title}: {type_names[line.ticket_type_id]}", line.unit_price_minor, line.quantity)
            for line in lines
        ],
        success_url=f"{base}/orders/{order.id}?token={token}&paid=1",
        cancel_url=f"{base}/orders/{order.id}?token={token}",
    )


def _record_payment_start(
    session: Session, order: Order, provider: str, payment_id: uuid.UUID, started: PaymentStart, *, now: datetime
) -> Payment:
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
        action="payment.started",
        object_type="order",
        object_id=order.id,
        now=now,
        data={"provider": provider, "payment_id": str(payment_id)},
    )
    return payment


def _cancel_unpaid(
    session: Session, order_id: uuid.UUID, *, now: datetime, reason: str, actor: User | None = None
) -> None:
    order = session.exec(select(Order).where(Order.id == order_id).with_for_update()).one()
    if order.status != OrderStatus.PENDING:
        session.rollback()
        return
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = now
    session.add(order)
    _return_seats(session, _lines(session, order.id))
    record_audit(
        session,
        action="order.cancelled",
        object_type="order",
        object_id=order.id,
        now=now,
        actor_user_id=actor.id if actor else None,
        data={"reason": reason},
    )
    session.commit()
    _publish_availability(session, order.event_id)


def apply_payment_update(session: Session, *, provider: str, update: PaymentUpdate, now: datetime) -> PaymentOutcome:
    """Apply an authenticated provider update exactly once, whatever the number, order or
    concurrency of deliveries. Returns what happened; "refund_needed" means money arrived for an
    order that can no longer have its seats: call `refund_unbacked_payment` next."""
    order_id = parse_id(update.order_id)
    if order_id is None:
        raise UnknownOrder()
    try:
        # Recorded first: a concurrent duplicate waits on this unique key, then finds it taken.
        session.add(ProcessedWebhook(provider=provider, event_id=update.event_id, received_at=now))
        session.flush()
    except IntegrityError:
        session.rollback()
        return PaymentOutcome(result="duplicate", order_id=order_id)

    order = session.exec(select(Order).where(Order.id == order_id).with_for_update()).first()
    payment = session.exec(
        select(Payment)
        .where(Payment.provider == provider, Payment.provider_reference == update.provider_reference)
        .with_for_update()
    ).first()
    if order is None or payment is None or payment.order_id != order.id:
        session.rollback()
        raise UnknownOrder()

    if update.kind in (UpdateKind.FAILED, UpdateKind.CANCELED):
        result = "ignored"
        if payment.status in (PaymentStatus.CREATED, PaymentStatus.PENDING):
            payment.status = PaymentStatus.FAILED if update.kind == UpdateKind.FAILED else PaymentStatus.CANCELED
            payment.updated_at = now
            session.add(payment)
            record_audit(
                session,
                action=f"payment.{payment.status.value}",
                object_type="order",
                object_id=order.id,
                now=now,
                data={"payment_id": str(payment.id)},
            )
            result = payment.status.value
        session.commit()
        return PaymentOutcome(result=result, order_id=order.id, payment_id=payment.id)

    if update.kind != UpdateKind.CONFIRMED:
        session.commit()
        return PaymentOutcome(result="ignored", order_id=order.id, payment_id=payment.id)

    if update.amount_minor != payment.amount_minor or (update.currency or "").upper() != payment.currency:
        session.rollback()
        raise AmountMismatch()
    if payment.status in (PaymentStatus.CONFIRMED, PaymentStatus.REFUNDED):
        session.commit()  # the same money reported again under another event id
        return PaymentOutcome(result="duplicate", order_id=order.id, payment_id=payment.id)

    payment.status = PaymentStatus.CONFIRMED
    payment.provider_payment_id = update.provider_payment_id or payment.provider_payment_id
    payment.updated_at = now
    session.add(payment)
    record_audit(
        session,
        action="payment.confirmed",
        object_type="order",
        object_id=order.id,
        now=now,
        data={"payment_id": str(payment.id), "amount": payment.amount_minor},
    )
    lines = _lines(session, order.id)
    event = session.get(Event, order.event_id)

    if event.status == EventStatus.CANCELLED and order.status == OrderStatus.PENDING:
        # The event was cancelled while this buyer was paying (or their order was placed in the
        # instant before): no tickets for a cancelled event, the seats go back, the money is refunded.
        order.status = OrderStatus.CANCELLED
        order.cancelled_at = now
        order.hold_expires_at = None
        session.add(order)
        _return_seats(session, lines)
        record_audit(
            session,
            action="order.cancelled",
            object_type="order",
            object_id=order.id,
            now=now,
            organization_id=event.organization_id,
            data={"reason": "event_cancelled"},
        )

    if order.status == OrderStatus.PENDING:
        # The hold still counts its seats even if its time ran out and the sweeper has not run.
        _mark_paid(session, order, event=event, lines=lines, now=now)
        session.commit()
        _publish_availability(session, order.event_id)  # seats left are the same; held became sold
        return PaymentOutcome(result="paid", order_id=order.id, payment_id=payment.id)

    if (
        order.status in (OrderStatus.EXPIRED, OrderStatus.CANCELLED)
        and event.status != EventStatus.CANCELLED
        and _retake_seats(session, lines)
    ):
        _mark_paid(session, order, event=event, lines=lines, now=now)
        record_audit(session, action="order.paid_late", object_type="order", object_id=order.id, now=now)
        session.commit()
        _publish_availability(session, order.event_id)
        return PaymentOutcome(result="paid_late", order_id=order.id, payment_id=payment.id)

    record_audit(
        session,
        action="payment.refund_required",
        object_type="order",
        object_id=order.id,
        now=now,
        data={"payment_id": str(payment.id), "order_status": order.status.value},
    )
    session.commit()
    return PaymentOutcome(result="refund_needed", order_id=order.id, payment_id=payment.id)


def _retake_seats(session: Session, lines: list[OrderLine]) -> bool:
    """Reserve the seats of an expired order again, all or none."""
    savepoint = session.begin_nested()
    for line in sorted(lines, key=lambda line: line.ticket_type_id):
        if _take_seats(session, line.ticket_type_id, line.quantity) is None:
            savepoint.rollback()
            return False
    savepoint.commit()
    return True


def _mark_paid(session: Session, order: Order, *, event: Event, lines: list[OrderLine], now: datetime) -> None:
    """Paid, with one ticket per seat, in the caller's transaction."""
    order.status = OrderStatus.PAID
    order.paid_at = now
    order.hold_expires_at = None
    session.add(order)
    signing_key = load_private_key(event.signing_private_key_sealed)
    references = iter(unused_references(session, sum(line.quantity for line in lines)))
    for line in lines:
        for _ in range(line.quantity):
            ticket_id = uuid.uuid4()
            session.add(
                Ticket(
                    id=ticket_id,
                    order_id=order.id,
                    order_line_id=line.id,
                    event_id=event.id,
                    ticket_type_id=line.ticket_type_id,
                    code=sign_ticket_code(signing_key, event_id=event.id, ticket_id=ticket_id),
                    reference=next(references),
                    holder_name=order.buyer_name,
                    issued_at=now,
                )
            )
    record_audit(
        session,
        action="order.paid",
        object_type="order",
        object_id=order.id,
        now=now,
        organization_id=event.organization_id,
        data={"total": order.total_minor},
    )
    emit_event(session, topic="order.paid", payload={"order_id": str(order.id)}, now=now)


def refund_unbacked_payment(session: Session, *, payment_id: uuid.UUID, now: datetime) -> bool:
    """Give back money that arrived for an order that could not keep its seats. Safe to repeat:
    the provider sees the same idempotency key. Returns True once refunded."""
    payment = session.get(Payment, payment_id)
    if payment is None or payment.status != PaymentStatus.CONFIRMED:
        return False
    order = session.get(Order, payment.order_id)
    if order.status == OrderStatus.PAID and order.payment_reference == payment.provider_reference:
        return False  # this payment backs the order: nothing to give back
    provider = get_provider(payment.provider)
    session.commit()  # no transaction open during the network call
    refund_id = provider.refund(
        provider_payment_id=payment.provider_payment_id,
        amount_minor=payment.amount_minor,
        idempotency_key=f"refund-{payment.id}",
    )
    payment = session.exec(select(Payment).where(Payment.id == payment_id).with_for_update()).one()
    if payment.status != PaymentStatus.CONFIRMED:
        session.rollback()
        return True
    payment.status = PaymentStatus.REFUNDED
    payment.refunded_minor = payment.amount_minor
    payment.updated_at = now
    session.add(payment)
    record_audit(
        session,
        action="payment.refunded",
        object_type="order",
        object_id=payment.order_id,
        now=now,
        data={"payment_id": str(payment.id), "refund_id": refund_id, "reason": "late_payment"},
    )
    emit_event(
        session,
        topic="order.cancelled",
        payload={"order_id": str(payment.order_id), "refunded": True, "reason": "late_payment"},
        now=now,
    )
    session.commit()
    return True


def pending_refunds(session: Session) -> list[uuid.UUID]:
    """Confirmed payments whose order is not paid by them (late payments awaiting their refund)."""
    query = (
        select(Payment.id)
        .join(Order, Order.id == Payment.order_id)
        .where(Payment.status == PaymentStatus.CONFIRMED, Order.status != OrderStatus.PAID)
    )
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
    order = session.get(Order, order_id)
    if order is None or get_provider(TEST_PROVIDER) is None:
        raise NotFound()
    if not may_view_order(session, order, user=user, access_token=access_token):
        raise NotFound()
    payment = session.exec(
        select(Payment)
        .where(Payment.order_id == order.id, Payment.provider == TEST_PROVIDER, Payment.status == PaymentStatus.PENDING)
        .order_by(Payment.created_at.desc())
    ).first()
    if order.status != OrderStatus.PENDING or payment is None or order.hold_expires_at <= now:
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
    session.commit()
    return apply_payment_update(session, provider=TEST_PROVIDER, update=update, now=now)


# ---------------------------------------------------------------------------------------------
# Holds that run out


def expire_holds(session: Session, *, now: datetime, limit: int = SWEEP_BATCH) -> list[ExpiredHold]:
    """Release the seats of pending orders whose hold ran out. Several sweepers may run at once
    (one per worker): SKIP LOCKED gives each its own orders, and skips orders being paid right now."""
    query = (
        select(Order)
        .where(Order.status == OrderStatus.PENDING, Order.hold_expires_at <= now)
        .order_by(Order.hold_expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    expired = []
    for order in session.exec(query).all():
        order.status = OrderStatus.EXPIRED
        session.add(order)
        _return_seats(session, _lines(session, order.id))
        open_checkouts = []
        for payment in session.exec(select(Payment).where(Payment.order_id == order.id)).all():
            if payment.status in (PaymentStatus.CREATED, PaymentStatus.PENDING):
                payment.status = PaymentStatus.CANCELED
                payment.updated_at = now
                session.add(payment)
                open_checkouts.append((payment.provider, payment.provider_reference))
        record_audit(session, action="order.expired", object_type="order", object_id=order.id, now=now)
        expired.append(ExpiredHold(order_id=order.id, event_id=order.event_id, open_checkouts=open_checkouts))
    session.commit()
    for event_id in {hold.event_id for hold in expired}:
        _publish_availability(session, event_id)
    return expired


# ---------------------------------------------------------------------------------------------
# Cancelling


def cancel_order(
    session: Session, *, order_id: uuid.UUID, now: datetime, actor: User | None = None, access_token: str = ""
) -> Order:
    """Buyers may drop their own pending order. Organizers of the event (and admins) may cancel any
    pending or paid order: paid money is refunded, tickets invalidated and seats returned to sale."""
    order = session.get(Order, order_id)
    if order is None or not may_view_order(session, order, user=actor, access_token=access_token):
        raise NotFound()
    is_organizer = is_allowed(session, actor, Permission.EVENT_MANAGE, event_id=order.event_id)
    if order.status == OrderStatus.PENDING:
        _cancel_unpaid(session, order.id, now=now, reason="by_organizer" if is_organizer else "by_buyer", actor=actor)
        return session.get(Order, order.id)
    if order.status != OrderStatus.PAID or not is_organizer:
        raise OrderNotCancellable()

    payment = session.exec(
        select(Payment).where(Payment.order_id == order.id, Payment.status == PaymentStatus.CONFIRMED)
    ).first()
    refund_id = ""
    if payment is not None and payment.amount_minor > 0:
        provider = get_provider(payment.provider)
        session.commit()  # no transaction open during the network call
        try:
            refund_id = provider.refund(
                provider_payment_id=payment.provider_payment_id,
                amount_minor=payment.amount_minor,
                idempotency_key=f"refund-{payment.id}",
            )
        except ProviderUnavailable as exc:
            raise PaymentUnavailable() from exc

    order = session.exec(select(Order).where(Order.id == order_id).with_for_update()).one()
    if order.status != OrderStatus.PAID:
        session.rollback()
        return order
    refunded = payment is not None and payment.amount_minor > 0
    order.status = OrderStatus.REFUNDED if refunded else OrderStatus.CANCELLED
    order.cancelled_at = now
    session.add(order)
    ticket_status = TicketStatus.REFUNDED if refunded else TicketStatus.CANCELLED
    ticket_ids = list(session.exec(select(Ticket.id).where(Ticket.order_id == order.id)).all())
    session.exec(update(Ticket).where(Ticket.order_id == order.id).values(status=ticket_status))
    _return_seats(session, _lines(session, order.id))
    if refunded:
        payment = session.get(Payment, payment.id)
        payment.status = PaymentStatus.REFUNDED
        payment.refunded_minor = payment.amount_minor
        payment.updated_at = now
        session.add(payment)
        record_audit(
            session,
            action="payment.refunded",
            object_type="order",
            object_id=order.id,
            now=now,
            actor_user_id=actor.id,
            data={"payment_id": str(payment.id), "refund_id": refund_id},
        )
    record_audit(
        session,
        action="order.cancelled",
        object_type="order",
        object_id=order.id,
        now=now,
        actor_user_id=actor.id,
        data={"refunded": refunded},
    )
    emit_event(session, topic="order.cancelled", payload={"order_id": str(order.id), "refunded": refunded}, now=now)
    session.commit()
    checkins.forget_scan_states(order.event_id, ticket_ids)
    _publish_availability(session, order.event_id)
    return order


# ---------------------------------------------------------------------------------------------
# Helpers


def _lines(session: Session, order_id: uuid.UUID) -> list[OrderLine]:
    return list(session.exec(select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.id)).all())


def availability(session: Session, event_id: uuid.UUID) -> dict[str, int]:
    rows = session.exec(
        select(TicketType.id, TicketType.quantity, TicketType.reserved).where(TicketType.event_id == event_id)
    ).all()
    return {str(type_id): max(quantity - reserved, 0) for type_id, quantity, reserved in rows}


def _publish_availability(session: Session, event_id: uuid.UUID) -> None:
    """Tell every open event page how many seats are left (after commit: never a rolled-back number),
    within a quarter of a second: a rush of sales costs one count per quarter second and process.
    (SQLite, one small process, publishes at once: its in-memory test databases share one connection
    a timer thread must not use.)"""
    engine = session.get_bind()
    if engine.dialect.name == "sqlite":
        _publish_seats_left(event_id, availability(session, event_id))
        session.commit()  # ends the read transaction
    else:
        _availability_publisher.schedule(event_id, engine, event_id)


def _publish_availability_in_new_session(engine: Engine, event_id: uuid.UUID) -> None:
    with Session(engine) as session:
        _publish_seats_left(event_id, availability(session, event_id))


AVAILABILITY_PUBLISH_DELAY_SECONDS = 0.25
_availability_publisher = Debouncer(AVAILABILITY_PUBLISH_DELAY_SECONDS, _publish_availability_in_new_session)
wait_for_pending_publishes = _availability_publisher.wait


def _publish_seats_left(event_id: uuid.UUID, left: dict[str, int]) -> None:
    """`left` maps ticket type ids to seats left; pages update just those types."""
    live.publish(live.inventory_channel(event_id), {"event_id": str(event_id), "available": left})
