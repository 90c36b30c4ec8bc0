"""Dashboards: one event's figures and an organization's, computed by aggregate queries.

Read-only use cases for owners, managers and viewers (`EVENT_VIEW`, `ORGANIZATION_VIEW`) and
admins. Nothing here loads one row per order or ticket: every figure is a GROUP BY in the
database, so a dashboard costs the same few queries for ten orders or a hundred thousand.

"Sold" means seats of paid orders, "held" seats of pending orders (checkouts not paid yet),
"remaining" what the public page offers (capacity minus every seat taken). Money is in minor
units per currency: an event may sell types in several currencies.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func
from sqlmodel import Session, col, select

from bilten import clock
from bilten.models import (
    CheckIn,
    CheckInResult,
    Event,
    EventStatus,
    Order,
    OrderLine,
    OrderStatus,
    Organization,
    Role,
    Ticket,
    TicketStatus,
    TicketType,
    User,
)
from bilten.services.access import Permission, authorize, organization_ids_of
from bilten.services.errors import NotFound

HOUR = "hour"
DAY = "day"
HOURLY_SPAN = timedelta(hours=48)  # sales spread over less than this are charted per hour
MAX_FILLED_BUCKETS = 400  # empty hours/days between sales are shown as zero up to this many


class TypeStats(BaseModel):
    model_config = ConfigDict(frozen=True)

    ticket_type_id: uuid.UUID = Field(serialization_alias="id")
    name: str
    price_minor: int = Field(serialization_alias="price")
    currency: str
    capacity: int
    sold: int
    held: int
    remaining: int
    revenue_minor: int = Field(serialization_alias="revenue")


class GateStats(BaseModel):
    model_config = ConfigDict(frozen=True)

    gate: str
    checked_in: int


class SalesBucket(BaseModel):
    """Paid seats and revenue of one hour or day (`start` in the event's time zone, ISO text)."""

    model_config = ConfigDict(frozen=True)

    start: str
    tickets: int
    revenue: dict[str, int]


class EventStats(BaseModel):
    """One event's dashboard, and what `/api/v1/events/{id}/stats` returns (the fields with
    `exclude=True` are for the dashboard page only)."""

    model_config = ConfigDict(frozen=True)

    event_id: uuid.UUID
    organization_id: uuid.UUID = Field(exclude=True)
    title: str
    status: EventStatus
    starts_at: datetime = Field(exclude=True)
    timezone: str = Field(exclude=True)
    venue_name: str = Field(exclude=True)
    city: str = Field(exclude=True)
    capacity: int
    sold: int
    held: int
    remaining: int
    revenue: dict[str, int]  # currency -> minor units (paid orders)
    paid_orders: int
    checked_in: int
    expected: int  # valid tickets: who may still come in
    by_gate: list[GateStats]
    ticket_types: list[TypeStats]
    bucket: str  # HOUR or DAY
    sales_over_time: list[SalesBucket]


class EventSummaryRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: uuid.UUID
    title: str
    status: EventStatus
    starts_at: datetime
    timezone: str = Field(exclude=True)
    capacity: int
    sold: int
    held: int
    remaining: int
    revenue: dict[str, int]
    checked_in: int


class OrganizationStats(BaseModel):
    model_config = ConfigDict(frozen=True)

    organization_id: uuid.UUID
    name: str
    capacity: int
    sold: int
    held: int
    remaining: int
    revenue: dict[str, int]
    checked_in: int
    events: list[EventSummaryRow]
    bucket: str
    sales_over_time: list[SalesBucket]


class OrganizationChoice(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    name: str


# ---------------------------------------------------------------------------------------------
# One event


def event_stats(
    session: Session, *, actor: User | None, event_id: uuid.UUID, now: datetime | None = None
) -> EventStats:
    """Everything the event dashboard shows. Owners, managers, viewers of its organization, admins."""
    authorize(session, actor, Permission.EVENT_VIEW, event_id=event_id)
    return compute_event_stats(session, event_id, now=now)


def compute_event_stats(session: Session, event_id: uuid.UUID, *, now: datetime | None = None) -> EventStats:
    """The figures without the access check: for callers that authorized this reader already
    (a dashboard's live loop re-reading after each sale)."""
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound()
    types = session.exec(
        select(TicketType).where(TicketType.event_id == event_id).order_by(col(TicketType.position), TicketType.name)
    ).all()
    seats, revenue_by_type, paid_orders = _seat_figures(session, event_id)
    rows = [
        TypeStats(
            ticket_type_id=t.id,
            name=t.name,
            price_minor=t.price_minor,
            currency=t.currency,
            capacity=t.quantity,
            sold=seats[t.id, OrderStatus.PAID],
            held=seats[t.id, OrderStatus.PENDING],
            remaining=max(t.quantity - t.reserved, 0),
            revenue_minor=revenue_by_type[t.id],
        )
        for t in types
    ]
    revenue: dict[str, int] = defaultdict(int)
    for row in rows:
        revenue[row.currency] += row.revenue_minor
    checked_in, expected, by_gate = _checkins(session, event_id)
    bucket, buckets = _sales_over_time(session, [event_id], ZoneInfo(event.timezone), now=now)
    return EventStats(
        event_id=event.id,
        organization_id=event.organization_id,
        title=event.title,
        status=EventStatus(event.status),
        starts_at=event.starts_at,
        timezone=event.timezone,
        venue_name=event.venue_name,
        city=event.city,
        ticket_types=rows,
        capacity=sum(r.capacity for r in rows),
        sold=sum(r.sold for r in rows),
        held=sum(r.held for r in rows),
        remaining=sum(r.remaining for r in rows),
        revenue=dict(sorted(revenue.items())),
        paid_orders=paid_orders,
        checked_in=checked_in,
        expected=expected,
        by_gate=by_gate,
        bucket=bucket,
        sales_over_time=buckets,
    )


def _seat_figures(
    session: Session, event_id: uuid.UUID
) -> tuple[dict[tuple[uuid.UUID, OrderStatus], int], dict[uuid.UUID, int], int]:
    """Seats per (type, status) and paid revenue per type, from the order lines of live orders."""
    figures = session.exec(
        select(
            OrderLine.ticket_type_id,
            Order.status,
            func.sum(OrderLine.quantity),
            func.sum(OrderLine.line_total_minor),
        )
        .join(Order, col(Order.id) == OrderLine.order_id)
        .where(Order.event_id == event_id, col(Order.status).in_((OrderStatus.PAID, OrderStatus.PENDING)))
        .group_by(col(OrderLine.ticket_type_id), Order.status)
    ).all()
    seats: dict[tuple[uuid.UUID, OrderStatus], int] = defaultdict(int)
    revenue: dict[uuid.UUID, int] = defaultdict(int)
    for type_id, status, quantity, amount in figures:
        seats[type_id, OrderStatus(status)] += int(quantity or 0)
        if status == OrderStatus.PAID:
            revenue[type_id] += int(amount or 0)
    paid_orders = session.exec(
        select(func.count()).select_from(Order).where(Order.event_id == event_id, Order.status == OrderStatus.PAID)
    ).one()
    return seats, revenue, int(paid_orders or 0)


def _checkins(session: Session, event_id: uuid.UUID) -> tuple[int, int, list[GateStats]]:
    """Tickets in (live valid check-ins) per gate, and valid tickets in all."""
    by_gate = session.exec(
        select(CheckIn.gate, func.count())
        .where(CheckIn.event_id == event_id, CheckIn.result == CheckInResult.VALID, col(CheckIn.undone_at).is_(None))
        .group_by(CheckIn.gate)
        .order_by(CheckIn.gate)
    ).all()
    expected = session.exec(
        select(func.count()).select_from(Ticket).where(Ticket.event_id == event_id, Ticket.status == TicketStatus.VALID)
    ).one()
    gates = [GateStats(gate=gate or "", checked_in=int(n)) for gate, n in by_gate]
    return sum(g.checked_in for g in gates), int(expected or 0), gates


# ---------------------------------------------------------------------------------------------
# Sales over time, bucketed by the database


def _sales_over_time(
    session: Session, event_ids: list[uuid.UUID], zone: ZoneInfo, *, now: datetime | None
) -> tuple[str, list[SalesBucket]]:
    """Paid seats and revenue per hour (sales within 48 hours) or per day, by payment time in `zone`."""
    if not event_ids:
        return HOUR, []
    paid = (col(Order.event_id).in_(event_ids), Order.status == OrderStatus.PAID, col(Order.paid_at).is_not(None))
    first, last = session.exec(select(func.min(Order.paid_at), func.max(Order.paid_at)).where(*paid)).one()
    if first is None or last is None:
        return HOUR, []
    first, last = _aware(first), _aware(last)
    unit = HOUR if last - first <= HOURLY_SPAN else DAY
    bucket = _bucket_expression(session, unit, zone, now=now or clock.now())
    rows = session.exec(
        select(
            bucket.label("bucket"), Order.currency, func.sum(OrderLine.quantity), func.sum(OrderLine.line_total_minor)
        )
        .join(OrderLine, col(OrderLine.order_id) == Order.id)
        .where(*paid)
        .group_by(bucket, Order.currency)
        .order_by(bucket)
    ).all()
    tickets: dict[str, int] = defaultdict(int)
    revenue: dict[str, dict[str, int]] = defaultdict(dict)
    for start, currency, quantity, amount in rows:
        key = _bucket_key(start, unit)
        tickets[key] += int(quantity or 0)
        revenue[key][currency] = revenue[key].get(currency, 0) + int(amount or 0)
    keys = _fill_gaps(sorted(tickets), unit)
    return unit, [SalesBucket(start=k, tickets=tickets.get(k, 0), revenue=dict(revenue.get(k, {}))) for k in keys]


def _bucket_expression(session: Session, unit: str, zone: ZoneInfo, *, now: datetime):  # noqa: ANN202
    if session.get_bind().dialect.name == "postgresql":
        # timezone(zone, timestamptz) is the wall-clock time there, daylight saving included.
        return func.date_trunc(unit, func.timezone(str(zone.key), Order.paid_at))
    # SQLite keeps naive UTC text and knows no time zones: shift by the zone's offset today.
    offset = int((now.astimezone(zone).utcoffset() or timedelta()).total_seconds() // 60)
    pattern = "%Y-%m-%d %H:00:00" if unit == HOUR else "%Y-%m-%d 00:00:00"
    return func.strftime(pattern, Order.paid_at, f"{offset:+d} minutes")


def _bucket_key(value: object, unit: str) -> str:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.strftime("%Y-%m-%dT%H:00" if unit == HOUR else "%Y-%m-%d")


def _fill_gaps(keys: list[str], unit: str) -> list[str]:
    """Every hour (or day) from the first sale to the last, so the chart's time axis is even."""
    if len(keys) < 2:
        return keys
    step = timedelta(hours=1) if unit == HOUR else timedelta(days=1)
    fmt = "%Y-%m-%dT%H:00" if unit == HOUR else "%Y-%m-%d"
    first, last = datetime.strptime(keys[0], fmt), datetime.strptime(keys[-1], fmt)
    if (last - first) / step > MAX_FILLED_BUCKETS:
        return keys
    filled, moment = [], first
    while moment <= last:
        filled.append(moment.strftime(fmt))
        moment += step
    return filled


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# A whole organization


def dashboard_organizations(session: Session, *, actor: User | None) -> list[OrganizationChoice]:
    """The organizations whose dashboard this user may open (every one for admins), by name."""
    user = authorize(session, actor, Permission.ORGANIZER_AREA)
    query = select(Organization.id, Organization.name).order_by(Organization.name, col(Organization.id))
    if user.role != Role.ADMIN:
        query = query.where(col(Organization.id).in_(organization_ids_of(session, user, Permission.ORGANIZATION_VIEW)))
    return [OrganizationChoice(id=org_id, name=name) for org_id, name in session.exec(query).all()]


def organization_stats(
    session: Session, *, actor: User | None, organization_id: uuid.UUID, now: datetime | None = None
) -> OrganizationStats:
    """Totals over all of an organization's events, one row per event, and sales over time."""
    authorize(session, actor, Permission.ORGANIZATION_VIEW, organization_id=organization_id)
    return compute_organization_stats(session, organization_id, now=now)


def compute_organization_stats(
    session: Session, organization_id: uuid.UUID, *, now: datetime | None = None
) -> OrganizationStats:
    """The figures without the access check (see `compute_event_stats`)."""
    org = session.get(Organization, organization_id)
    if org is None:
        raise NotFound()
    events = session.exec(
        select(Event)
        .where(Event.organization_id == organization_id)
        .order_by(col(Event.starts_at).desc(), col(Event.id))
    ).all()
    event_ids = [e.id for e in events]
    in_org = Event.organization_id == organization_id

    capacity_rows = session.exec(
        select(TicketType.event_id, func.sum(TicketType.quantity), func.sum(TicketType.reserved))
        .join(Event, col(Event.id) == TicketType.event_id)
        .where(in_org)
        .group_by(col(TicketType.event_id))
    ).all()
    capacity = {event_id: (int(q or 0), int(r or 0)) for event_id, q, r in capacity_rows}

    seat_rows = session.exec(
        select(  # type: ignore[call-overload]  # sqlmodel types select() for up to 4 columns
            Order.event_id,
            Order.status,
            Order.currency,
            func.sum(OrderLine.quantity),
            func.sum(OrderLine.line_total_minor),
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Event, Event.id == Order.event_id)
        .where(in_org, col(Order.status).in_((OrderStatus.PAID, OrderStatus.PENDING)))
        .group_by(Order.event_id, Order.status, Order.currency)
    ).all()
    sold: dict[uuid.UUID, int] = defaultdict(int)
    held: dict[uuid.UUID, int] = defaultdict(int)
    revenue: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    for event_id, status, currency, quantity, amount in seat_rows:
        if status == OrderStatus.PAID:
            sold[event_id] += int(quantity or 0)
            revenue[event_id][currency] = revenue[event_id].get(currency, 0) + int(amount or 0)
        else:
            held[event_id] += int(quantity or 0)

    checkin_rows = session.exec(
        select(CheckIn.event_id, func.count())
        .join(Event, col(Event.id) == CheckIn.event_id)
        .where(in_org, CheckIn.result == CheckInResult.VALID, col(CheckIn.undone_at).is_(None))
        .group_by(col(CheckIn.event_id))
    ).all()
    checked_in = {event_id: int(n) for event_id, n in checkin_rows}

    rows = []
    for event in events:
        cap, reserved = capacity.get(event.id, (0, 0))
        rows.append(
            EventSummaryRow(
                event_id=event.id,
                title=event.title,
                status=EventStatus(event.status),
                starts_at=event.starts_at,
                timezone=event.timezone,
                capacity=cap,
                sold=sold[event.id],
                held=held[event.id],
                remaining=max(cap - reserved, 0),
                revenue=dict(sorted(revenue[event.id].items())),
                checked_in=checked_in.get(event.id, 0),
            )
        )
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        for currency, amount in row.revenue.items():
            totals[currency] += amount
    bucket, buckets = _sales_over_time(session, event_ids, ZoneInfo("UTC"), now=now)
    return OrganizationStats(
        organization_id=org.id,
        name=org.name,
        events=rows,
        capacity=sum(r.capacity for r in rows),
        sold=sum(r.sold for r in rows),
        held=sum(r.held for r in rows),
        remaining=sum(r.remaining for r in rows),
        revenue=dict(sorted(totals.items())),
        checked_in=sum(r.checked_in for r in rows),
        bucket=bucket,
        sales_over_time=buckets,
    )
