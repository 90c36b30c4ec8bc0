"""Placing an order: hold the seats asked for without ever overselling.

A reservation is one conditional `UPDATE ... SET reserved = reserved + n WHERE reserved + n <=
quantity`, run last in its transaction so the hot row is locked only until the commit; the database
decides, so two buyers can never get the same seat on PostgreSQL or SQLite. Lock waits are capped
(3 s, see db.py) and turn into a "try again" answer (services/transaction.py)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import bindparam, exists
from sqlmodel import Session, col, select

from bilten.db import insert_new_rows
from bilten.ids import new_id
from bilten.models import (
    Answer,
    Event,
    EventStatus,
    InvoiceSettings,
    Order,
    OrderLine,
    Payment,
    Question,
    TicketType,
    User,
    Voucher,
)
from bilten.observability import metrics
from bilten.payments import payments_configured
from bilten.payments.base import PaymentProvider
from bilten.services import invoices, questions, vouchers
from bilten.services.audit import record_audit
from bilten.services.errors import (
    EventNotOnSale,
    InvalidQuantity,
    OfferNotAvailable,
    PaymentsNotConfigured,
    QuantityOutOfRange,
    SalesClosed,
    SalesNotOpen,
    SoldOut,
    UnknownTicketType,
    VoucherNotApplicable,
)
from bilten.services.order_access import order_access_token
from bilten.services.orders.issuing import mark_paid
from bilten.services.orders.payments import payment_request, record_payment_start
from bilten.services.orders.seats import ADD_SEATS, publish_availability, seats_left, take_seats
from bilten.services.orders.status import AuditAction
from bilten.services.transaction import transaction
from bilten.services.translations import field_text
from bilten.services.validation import clean_email, clean_name, clean_phone
from bilten.services.waiting_offers import claim_offer
from bilten.settings import get_settings

MAX_TYPES_PER_ORDER = 20
MAX_QUANTITY = 100  # per line, before the ticket type's own maximum: keeps absurd input cheap


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    access_token: str
    payment: Payment | None = None  # opened already when the provider needs no network
    # What its receipt shows, kept from placing it (views.order_receipt): no need to read it back.
    event: Event | None = None
    answers: list[tuple[Answer, Question]] = field(default_factory=list)  # as stored, with their questions
    voucher_code: str = ""  # the voucher's code, "" for none


class _NotEnoughSeats(Exception):
    """Raised inside the transaction so that it rolls back; answered with SoldOut outside it."""


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
    voucher: str = "",
    answers: list[questions.AnswerIn] | None = None,
    offer_id: uuid.UUID | None = None,
    billing: dict[str, str] | None = None,
) -> PlacedOrder:
    """Hold the seats asked for and create a pending order (paid at once when free). With a
    provider that needs no network, its checkout opens in the same transaction; otherwise call
    `start_payment` next.

    `answers` (to the event's checkout questions, services/questions.py) are checked before any
    seat is taken and stored with the order: a refused answer (InvalidAnswer) leaves nothing.
    Bad input raises before anything is written; a sold-out type raises SoldOut after the whole
    transaction is rolled back: no order, no hold. A `voucher` code prices the tickets it covers
    and unlocks its hidden types; its use is taken in this transaction (services/vouchers.py).
    `offer_id`: a waiting-list offer whose held seat the order takes over (one ticket of its type)
    instead of a new one."""
    email = clean_email(email)
    phone = clean_phone(phone, required=user is None)
    name = clean_name(name)
    billing = invoices.clean_billing(billing)  # optional company details for the invoice
    wanted = _sum_quantities(items)
    types: list[TicketType] = []
    names: dict[uuid.UUID, str] = {}  # as the buyer reads them: their language, else the main one
    try:
        with transaction(session):
            sale = _load_types_for_sale(
                session, wanted, event_id=event_id, now=now, locale=locale, voucher_code=voucher
            )
            event, types, used_voucher = sale.event, sale.types, sale.voucher
            names = {t.id: field_text(t, "name", locale, event.main_language) for t in types}
            asked = questions.active_questions(session, event.id) if sale.has_questions else []
            answer_rows = questions.check_answers(
                session, event.id, _ticket_sequence(items), answers or [], active=asked
            )
            prices = _charged_prices(types, used_voucher, sale.prices_include_tax)
            if not payments_configured() and any(prices[t.id] * wanted[t.id] > 0 for t in types):
                # What the buyer would be charged (a 100 % voucher makes it free), and before anything
                # is written: no order, no seats held.
                raise PaymentsNotConfigured()
            order = Order(
                id=new_id(),
                event_id=event.id,
                user_id=user.id if user else None,
                buyer_email=email,
                buyer_phone=phone,
                buyer_name=name or (user.full_name if user else ""),
                locale=locale,
                billing=billing,
                currency=types[0].currency,
                hold_expires_at=now + timedelta(minutes=hold_minutes or get_settings().hold_minutes),
                created_at=now,
            )
            lines = _add_lines(session, order, types, wanted, prices, used_voucher, sale.prices_include_tax)
            for answer in answer_rows:
                answer.order_id = order.id
                session.add(answer)
            if offer_id is not None:
                _take_over_offer(session, offer_id, order, types, wanted, now=now)
            _record_placed(session, order, event, lines, now=now)
            payment = None
            if order.total_minor == 0:
                _still_on_sale(session, event.id)
                mark_paid(session, order, event=event, lines=lines, now=now)
            elif provider is not None and provider.local:
                # A provider that needs no network (test mode) opens its checkout in this same transaction.
                payment_id = new_id()
                request = payment_request(order, event, lines, names, payment_id)
                started = provider.start(request)
                payment = record_payment_start(session, order, provider.identifier, payment_id, started, now=now)
            voucher_code = ""
            if used_voucher is not None:
                voucher_code = used_voucher.code
                vouchers.take_use(session, used_voucher.id)  # the voucher's row first, then the seats
            seat_types = [] if offer_id is not None else types  # an offer's seat is held already
            if session.get_bind().dialect.name == "postgresql":
                _take_seats_in_one_round_trip(session, seat_types, wanted)
            else:
                _take_seats_one_by_one(session, seat_types, wanted)
    except _NotEnoughSeats:
        metrics.count_order("sold_out")
        raise _sold_out(session, types, wanted, names) from None
    metrics.count_order("placed")
    publish_availability(session, event.id)
    by_id = {q.id: q for q in asked}
    return PlacedOrder(
        order=order,
        access_token=order_access_token(order.id),
        payment=payment,
        event=event,
        answers=[(answer, by_id[answer.question_id]) for answer in answer_rows],
        voucher_code=voucher_code,
    )


def _charged_prices(types: list[TicketType], voucher: Voucher | None, include_tax: bool) -> dict[uuid.UUID, int]:
    """What the buyer pays per ticket of each type: the voucher's price where it applies, plus the tax
    when the organization's prices are net (services/invoices.py)."""
    return {
        t.id: invoices.charged_unit_price(
            vouchers.voucher_unit_price(voucher, t.id, t.price_minor), t.tax_rate_bp, prices_include_tax=include_tax
        )
        for t in types
    }


def _add_lines(
    session: Session,
    order: Order,
    types: list[TicketType],
    wanted: dict[uuid.UUID, int],
    prices: dict[uuid.UUID, int],
    voucher: Voucher | None = None,
    include_tax: bool = True,
) -> list[OrderLine]:
    """The order and one line per ticket type at its charged price (`_charged_prices`), the
    order's total their sum."""
    session.add(order)
    lines = []
    for ticket_type in types:
        quantity = wanted[ticket_type.id]
        price = prices[ticket_type.id]
        line = OrderLine(
            id=new_id(),
            order_id=order.id,
            ticket_type_id=ticket_type.id,
            quantity=quantity,
            unit_price_minor=price,
            line_total_minor=quantity * price,
        )
        lines.append(line)
        session.add(line)
    order.total_minor = sum(line.line_total_minor for line in lines)
    if voucher is not None:
        order.voucher_id = voucher.id
        full = (
            invoices.charged_unit_price(t.price_minor, t.tax_rate_bp, prices_include_tax=include_tax) for t in types
        )
        order.discount_minor = (
            sum(wanted[t.id] * price for t, price in zip(types, full, strict=True)) - order.total_minor
        )
    return lines


def _take_over_offer(
    session: Session,
    offer_id: uuid.UUID,
    order: Order,
    types: list[TicketType],
    wanted: dict[uuid.UUID, int],
    *,
    now: datetime,
) -> None:
    """The order takes over the seat of a valid waiting-list offer: exactly one ticket of its type."""
    if len(types) != 1 or wanted[types[0].id] != 1:
        raise InvalidQuantity()
    session.flush()  # the order row first: the entry points at it
    if not claim_offer(session, offer_id, ticket_type_id=types[0].id, order_id=order.id, now=now):
        raise OfferNotAvailable()


def _record_placed(session: Session, order: Order, event: Event, lines: list[OrderLine], *, now: datetime) -> None:
    record_audit(
        session,
        action=AuditAction.ORDER_PLACED,
        object_type="order",
        object_id=order.id,
        now=now,
        actor_user_id=order.user_id,
        organization_id=event.organization_id,
        data={"lines": {str(line.ticket_type_id): line.quantity for line in lines}},
    )


def _still_on_sale(session: Session, event_id: uuid.UUID) -> None:
    """Before tickets are issued at once (a free order): read the event's status again under a share
    lock. A cancellation holds the row until it commits, so an order racing it sees "cancelled" and
    gets no tickets for an event that is not happening."""
    with session.no_autoflush:
        status = session.execute(
            select(Event.status).where(Event.id == event_id).with_for_update(read=True)
        ).scalar_one()
    if status != EventStatus.PUBLISHED:
        raise EventNotOnSale()


def _take_seats_in_one_round_trip(session: Session, types: list[TicketType], wanted: dict[uuid.UUID, int]) -> None:
    """PostgreSQL: send the order's rows, the seat counters and COMMIT together (psycopg pipeline).

    The counter row is then locked only while the server runs the rest of the batch, never while
    this thread waits for the GIL behind other requests: a rush queues on the row for microseconds,
    not milliseconds. The schema's CHECK (reserved <= quantity) refuses an oversold counter, which
    aborts the whole batch: nothing of the order is kept. (The transaction helper's COMMIT then only
    closes SQLAlchemy's books: the database has committed already.)"""
    raw: psycopg.Connection[Any] = session.connection().connection.driver_connection  # type: ignore[assignment]
    try:
        with raw.pipeline():
            insert_new_rows(session)
            connection = session.connection()  # Core: the ORM's bulk UPDATE layer only costs here
            for ticket_type in types:  # sorted by id: two orders lock rows in the same order, no deadlock
                connection.execute(ADD_SEATS, {"type_id": ticket_type.id, "n": wanted[ticket_type.id]})
            raw.commit()
    except psycopg.errors.CheckViolation:
        raise _NotEnoughSeats() from None
    for ticket_type in types:
        session.expire(ticket_type, ["reserved"])


def _take_seats_one_by_one(session: Session, types: list[TicketType], wanted: dict[uuid.UUID, int]) -> None:
    """Elsewhere (SQLite, one writer at a time): the guarded UPDATE per type, last before COMMIT."""
    session.flush()
    for ticket_type in types:
        if take_seats(session, ticket_type.id, wanted[ticket_type.id]) is None:
            raise _NotEnoughSeats()


def _sold_out(
    session: Session, types: list[TicketType], wanted: dict[uuid.UUID, int], names: dict[uuid.UUID, str]
) -> SoldOut:
    """The first type without enough seats, with how many it has left."""
    with transaction(session):
        left = seats_left(session, [t.id for t in types])
    short = next((t for t in types if left[str(t.id)] < wanted[t.id]), types[0])
    return SoldOut(name=names.get(short.id, short.name), available=left[str(short.id)])


def _ticket_sequence(items: list[tuple[uuid.UUID, int]]) -> list[uuid.UUID]:
    """One ticket type per ticket, as the buyer listed them: "ticket 2" of the checkout questions."""
    return [
        type_id for type_id, quantity in items if isinstance(quantity, int) and quantity > 0 for _ in range(quantity)
    ]


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


# The types asked for with their event, whether the event asks questions at checkout and whether its
# organization's prices include tax: one statement where there were three.
_HAS_QUESTIONS = exists().where(col(Question.event_id) == col(Event.id), col(Question.deleted_at).is_(None))
_PRICES_INCLUDE_TAX = (
    select(InvoiceSettings.prices_include_tax)
    .where(col(InvoiceSettings.organization_id) == col(Event.organization_id))
    .scalar_subquery()
)
_TYPES_FOR_SALE = (
    select(TicketType, Event, _HAS_QUESTIONS.label("has_questions"), _PRICES_INCLUDE_TAX.label("include_tax"))
    .join(Event, col(Event.id) == col(TicketType.event_id))
    .where(col(TicketType.id).in_(bindparam("ids", expanding=True)))
    .order_by(col(TicketType.id))
)


@dataclass(frozen=True)
class _Sale:
    event: Event
    types: list[TicketType]
    voucher: Voucher | None
    has_questions: bool  # the event asks questions at checkout
    prices_include_tax: bool  # the organization's choice (services/tax.py): gross unless it said otherwise


def _load_types_for_sale(
    session: Session,
    wanted: dict[uuid.UUID, int],
    *,
    event_id: uuid.UUID | None,
    now: datetime,
    locale: str = "",
    voucher_code: str = "",
) -> _Sale:
    rows = session.execute(_TYPES_FOR_SALE, {"ids": list(wanted)}).all()
    voucher = None
    if voucher_code and rows:
        voucher = vouchers.usable_voucher(session, event_id=event_id or rows[0][1].id, code=voucher_code, now=now)
    types = [row[0] for row in rows if not row[0].is_hidden or vouchers.unlocks(voucher, row[0].id)]
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
        name = field_text(ticket_type, "name", locale or event.main_language, event.main_language)
        if ticket_type.sales_start and now < ticket_type.sales_start:
            raise SalesNotOpen(name=name)
        if ticket_type.sales_end and now >= ticket_type.sales_end:
            raise SalesClosed(name=name)
        if not ticket_type.min_per_order <= quantity <= ticket_type.max_per_order:
            raise QuantityOutOfRange(name=name, min=ticket_type.min_per_order, max=ticket_type.max_per_order)
    if voucher is not None and not any(vouchers.covers(voucher, t.id) for t in types):
        raise VoucherNotApplicable()
    include_tax = rows[0].include_tax
    return _Sale(event, types, voucher, bool(rows[0].has_questions), True if include_tax is None else include_tax)
