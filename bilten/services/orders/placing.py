"""Placing an order: hold the seats asked for without ever overselling.

A reservation is one conditional `UPDATE ... SET reserved = reserved + n WHERE reserved + n <=
quantity`, run last in its transaction so the hot row is locked only until the commit; the database
decides, so two buyers can never get the same seat on PostgreSQL or SQLite. Lock waits are capped
(3 s, see db.py) and turn into a "try again" answer (services/transaction.py)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import psycopg
from sqlalchemy import bindparam, exists
from sqlmodel import Session, col, select

from bilten.db import insert_new_rows
from bilten.group_commit import GroupCommit
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
    BiltenError,
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
    instead of a new one.

    On PostgreSQL, plain orders (no voucher, no offer) for the same ticket types that arrive
    together share one transaction (`_place_together`); each buyer still gets their own answer."""
    request = _OrderRequest(
        items=items,
        wanted=_sum_quantities(items),
        email=clean_email(email),
        phone=clean_phone(phone, required=user is None),
        name=clean_name(name),
        billing=invoices.clean_billing(billing),  # optional company details for the invoice
        now=now,
        user=user,
        locale=locale,
        event_id=event_id,
        hold_minutes=hold_minutes,
        provider=provider,
        voucher=voucher,
        answers=answers or [],
        offer_id=offer_id,
    )
    placing = None
    if _may_share_a_commit(session, request):
        outcome = _orders_together.submit(tuple(request.wanted), request, partial(_place_together, session))
        if outcome is not _ALONE:
            placing = outcome
    if placing is None:
        placing = _place_alone(session, request)
    metrics.count_order("placed")
    publish_availability(session, placing.order.event_id)
    by_id = {q.id: q for q in placing.asked}
    return PlacedOrder(
        order=placing.order,
        access_token=order_access_token(placing.order.id),
        payment=placing.payment,
        event=placing.event,
        answers=[(answer, by_id[answer.question_id]) for answer in placing.answer_rows],
        voucher_code=placing.voucher_code,
    )


@dataclass(frozen=True)
class _OrderRequest:
    """What a buyer asked for, checked for form already (before any transaction)."""

    items: list[tuple[uuid.UUID, int]]
    wanted: dict[uuid.UUID, int]  # quantity per ticket type
    email: str
    phone: str
    name: str
    billing: dict[str, str]
    now: datetime
    user: User | None
    locale: str
    event_id: uuid.UUID | None
    hold_minutes: int | None
    provider: PaymentProvider | None
    voucher: str
    answers: list[questions.AnswerIn]
    offer_id: uuid.UUID | None


@dataclass(frozen=True)
class _Placing:
    """An order as placed in the session, not yet committed."""

    order: Order
    event: Event
    answer_rows: list[Answer]
    asked: list[Question]
    payment: Payment | None
    voucher_code: str


def _place_alone(session: Session, request: _OrderRequest) -> _Placing:
    """The order in a transaction of its own, its seats taken last."""
    sale = None
    try:
        with transaction(session):
            rows = session.execute(_TYPES_FOR_SALE, {"ids": list(request.wanted)}).all()
            sale = _check_sale(session, rows, request)
            placing = _build_order(session, request, sale)
            seat_types = [] if request.offer_id is not None else sale.types  # an offer's seat is held already
            if session.get_bind().dialect.name == "postgresql":
                _take_seats_in_one_round_trip(session, seat_types, request.wanted)
            else:
                _take_seats_one_by_one(session, seat_types, request.wanted)
    except _NotEnoughSeats:
        assert sale is not None  # raised only once the seats are taken, after the sale was checked
        metrics.count_order("sold_out")
        raise _sold_out(session, sale.types, request.wanted, sale.names) from None
    return placing


# Group commit (bilten/group_commit.py): the orders of one ticket type that arrive while a
# transaction of them is running wait for it to end, then go together in the next one: one read
# of the types, one INSERT per table, one UPDATE of each seat counter, one COMMIT for all of them.
_orders_together: GroupCommit[_OrderRequest] = GroupCommit(max_batch=64)
orders_waiting_to_commit = _orders_together.queued  # (ticket type ids,) -> orders queued
_ALONE = object()  # a batch's answer for an order that must be placed in a transaction of its own


class _PlaceAlone(Exception):
    """An order the batch leaves to `_place_alone`: a free one issues its tickets at once."""


def _may_share_a_commit(session: Session, request: _OrderRequest) -> bool:
    # A voucher's uses and a waiting-list offer can each refuse one buyer in the middle of the
    # transaction; SQLite has one writer anyway.
    return not request.voucher and request.offer_id is None and session.get_bind().dialect.name == "postgresql"


def _place_together(session: Session, requests: list[_OrderRequest]) -> list[Any]:
    """Place these orders (same ticket types) in one transaction; the outcome of each, in order: its
    `_Placing`, the error it alone is refused with, or `_ALONE`. When the seats of all of them do
    not fit, or anything else fails, nothing is kept and each one goes `_ALONE`: the database then
    judges them one by one, as ever."""
    outcomes: list[Any] = []
    try:
        with transaction(session):
            rows = session.execute(_TYPES_FOR_SALE, {"ids": list(requests[0].wanted)}).all()
            with session.no_autoflush:  # the orders built so far are written in one go at the end
                outcomes = [_build_in_batch(session, request, rows) for request in requests]
            placed = [(o, r) for o, r in zip(outcomes, requests, strict=True) if isinstance(o, _Placing)]
            if placed:
                total: dict[uuid.UUID, int] = defaultdict(int)
                for _, request in placed:
                    for type_id, quantity in request.wanted.items():
                        total[type_id] += quantity
                types = [row[0] for row in rows if row[0].id in total]  # in id order, as the rows
                _take_seats_in_one_round_trip(session, types, total)
                metrics.observe_orders_per_commit(len(placed))
    except Exception:  # noqa: BLE001 (each order is tried again on its own, which answers its error)
        return [o if isinstance(o, BaseException) else _ALONE for o in outcomes] or [_ALONE] * len(requests)
    return outcomes


def _build_in_batch(session: Session, request: _OrderRequest, rows: Sequence[Any]) -> Any:
    """One order of a batch, or the error it alone is refused with. Every check refuses before the
    order's rows are added; an error after that fails the whole batch (each order then goes alone)."""
    added = len(session.new)
    try:
        return _build_order(session, request, _check_sale(session, rows, request), together=True)
    except _PlaceAlone:
        return _ALONE
    except BiltenError as exc:
        if len(session.new) != added:
            raise
        return exc


def _build_order(session: Session, request: _OrderRequest, sale: _Sale, *, together: bool = False) -> _Placing:
    """The order, its lines, answers, audit entry and (provider without network) payment, added to
    the session; a free order is paid at once. Everything but the seats."""
    event, types, wanted, now = sale.event, sale.types, request.wanted, request.now
    asked = questions.active_questions(session, event.id) if sale.has_questions else []
    answer_rows = questions.check_answers(
        session, event.id, _ticket_sequence(request.items), request.answers, active=asked
    )
    prices = _charged_prices(types, sale.voucher, sale.prices_include_tax)
    charged = any(prices[t.id] * wanted[t.id] > 0 for t in types)  # a 100 % voucher makes it free
    if charged and not payments_configured():
        raise PaymentsNotConfigured()  # before anything is written: no order, no seats held
    if together and not charged:
        raise _PlaceAlone()
    user = request.user
    order = Order(
        id=new_id(),
        event_id=event.id,
        user_id=user.id if user else None,
        buyer_email=request.email,
        buyer_phone=request.phone,
        buyer_name=request.name or (user.full_name if user else ""),
        locale=request.locale,
        billing=request.billing,
        currency=types[0].currency,
        hold_expires_at=now + timedelta(minutes=request.hold_minutes or get_settings().hold_minutes),
        created_at=now,
    )
    lines = _add_lines(session, order, types, wanted, prices, sale.voucher, sale.prices_include_tax)
    for answer in answer_rows:
        answer.order_id = order.id
        session.add(answer)
    if request.offer_id is not None:
        _take_over_offer(session, request.offer_id, order, types, wanted, now=now)
    _record_placed(session, order, event, lines, now=now)
    payment = None
    provider = request.provider
    if order.total_minor == 0:
        _still_on_sale(session, event.id)
        mark_paid(session, order, event=event, lines=lines, now=now)
    elif provider is not None and provider.local:
        # A provider that needs no network (test mode) opens its checkout in this same transaction.
        payment_id = new_id()
        started = provider.start(payment_request(order, event, lines, sale.names, payment_id))
        payment = record_payment_start(session, order, provider.identifier, payment_id, started, now=now)
    voucher_code = ""
    if sale.voucher is not None:
        voucher_code = sale.voucher.code
        vouchers.take_use(session, sale.voucher.id)  # the voucher's row first, then the seats
    return _Placing(order, event, answer_rows, asked, payment, voucher_code)


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
    names: dict[uuid.UUID, str]  # the types' names as the buyer reads them: their language, else the main one


def _check_sale(session: Session, rows: Sequence[Any], request: _OrderRequest) -> _Sale:
    """Are the types (rows of `_TYPES_FOR_SALE`) on sale to this buyer, in these quantities?"""
    wanted, now, locale = request.wanted, request.now, request.locale
    voucher = None
    if request.voucher and rows:
        voucher = vouchers.usable_voucher(
            session, event_id=request.event_id or rows[0][1].id, code=request.voucher, now=now
        )
    types = [row[0] for row in rows if not row[0].is_hidden or vouchers.unlocks(voucher, row[0].id)]
    if len(types) != len(wanted) or len({t.event_id for t in types}) != 1:
        raise UnknownTicketType()
    event = rows[0][1]
    if request.event_id is not None and event.id != request.event_id:
        raise UnknownTicketType()
    if event.status != EventStatus.PUBLISHED or event.ends_at <= now:
        raise EventNotOnSale()
    if len({t.currency for t in types}) != 1:
        raise UnknownTicketType()
    names = {t.id: field_text(t, "name", locale or event.main_language, event.main_language) for t in types}
    for ticket_type in types:
        quantity = wanted[ticket_type.id]
        name = names[ticket_type.id]
        if ticket_type.sales_start and now < ticket_type.sales_start:
            raise SalesNotOpen(name=name)
        if ticket_type.sales_end and now >= ticket_type.sales_end:
            raise SalesClosed(name=name)
        if not ticket_type.min_per_order <= quantity <= ticket_type.max_per_order:
            raise QuantityOutOfRange(name=name, min=ticket_type.min_per_order, max=ticket_type.max_per_order)
    if voucher is not None and not any(vouchers.covers(voucher, t.id) for t in types):
        raise VoucherNotApplicable()
    include_tax = rows[0].include_tax
    return _Sale(
        event, types, voucher, bool(rows[0].has_questions), True if include_tax is None else include_tax, names
    )
