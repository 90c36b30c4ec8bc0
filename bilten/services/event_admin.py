"""Organizers' side of events: create, edit, publish, unpublish, duplicate and cancel events, and
their ticket types.

Every function checks who asks (`authorize`), validates everything before writing (a refusal
leaves nothing changed), writes an audit entry and commits once; cancelling an event is the one
exception, by design: the event stops selling in one transaction, then each order is cancelled
and refunded in its own, so a refund that fails does not undo the others and running it again
picks up where it stopped.

Times arrive timezone-aware (UTC in the database); `parse_local_datetime` reads what organizers
type in the event's own time zone. Prices are integer minor units of an ISO 4217 currency.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.numbers import get_currency_precision, list_currencies
from sqlalchemy import func, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session, select

from bilten.models import Event, EventStatus, Order, OrderStatus, Organization, Role, TicketType, User
from bilten.services import media
from bilten.services.access import Permission, authorize, organization_ids_of, require_verified
from bilten.services.audit import emit_event, record_audit
from bilten.services.errors import BiltenError, EventCancelled, NotFound, TryAgain, ValidationFailed
from bilten.services.markdown import MAX_DESCRIPTION_LENGTH
from bilten.services.orders import cancel_order
from bilten.services.text import clean_text
from bilten.services.ticket_codes import generate_event_keys
from bilten.services.validation import clean_name

MAX_TITLE_LENGTH = 200
MAX_PRICE_MINOR = 100_000_000  # a million in a two-decimal currency: keeps totals far from integer limits
MAX_QUANTITY = 1_000_000
MAX_PER_ORDER = 100  # orders.MAX_QUANTITY: no order line may hold more
# Codes babel knows that are no money one can be paid in (test, "no currency", metals, SDR, ...).
_NOT_PAYABLE = frozenset({"XXX", "XTS", "XAU", "XAG", "XPT", "XPD", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA"})


class _Unset:
    """A field left out of a change (PATCH): keep what is stored."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class EventFields:
    """What an organizer sets on an event; UNSET fields stay as they are (required on creation:
    title, timezone, starts_at, ends_at). Naive datetimes are read in the event's time zone."""

    title: Any = UNSET
    description: Any = UNSET
    venue_name: Any = UNSET
    venue_address: Any = UNSET
    city: Any = UNSET
    timezone: Any = UNSET
    starts_at: Any = UNSET
    ends_at: Any = UNSET


@dataclass(frozen=True)
class TicketTypeFields:
    """What an organizer sets on a ticket type; UNSET fields stay as they are (or take the default
    on creation). `sales_start`/`sales_end` may be None: no limit."""

    name: Any = UNSET
    description: Any = UNSET
    price_minor: Any = UNSET
    currency: Any = UNSET
    quantity: Any = UNSET
    min_per_order: Any = UNSET
    max_per_order: Any = UNSET
    sales_start: Any = UNSET
    sales_end: Any = UNSET
    is_hidden: Any = UNSET


@dataclass(frozen=True)
class OrganizationChoice:
    id: uuid.UUID
    name: str


@dataclass(frozen=True)
class TicketTypeRow:
    id: uuid.UUID
    name: str
    description: str
    price_minor: int
    currency: str
    quantity: int
    reserved: int
    min_per_order: int
    max_per_order: int
    sales_start: datetime | None
    sales_end: datetime | None
    is_hidden: bool
    position: int


@dataclass(frozen=True)
class EditableEvent:
    """An event as its organizers edit it: every field, hidden ticket types too, and what
    cancelling it would touch."""

    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    title: str
    description: str
    venue_name: str
    venue_address: str
    city: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    status: EventStatus
    image_url: str
    ticket_types: list[TicketTypeRow] = field(default_factory=list)
    paid_orders: int = 0
    pending_orders: int = 0


@dataclass(frozen=True)
class CancellationReport:
    event_id: uuid.UUID
    refunded: int  # paid orders whose money went back
    cancelled: int  # orders cancelled without money to give back (pending, or free)
    failed: list[uuid.UUID]  # orders still open (a refund failed): run the cancellation again


# ---------------------------------------------------------------------------------------------
# Input rules


@lru_cache
def known_currencies() -> frozenset[str]:
    return frozenset(code for code in list_currencies() if code not in _NOT_PAYABLE)


@lru_cache
def known_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def clean_currency(raw: str) -> str:
    code = (raw or "").strip().upper()
    if code not in known_currencies():
        raise ValidationFailed("error.currency_unknown", currency=code[:10])
    return code


def clean_timezone(raw: str) -> str:
    name = (raw or "").strip()
    if name not in known_timezones():
        raise ValidationFailed("error.timezone_invalid", timezone=name[:64])
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed("error.timezone_invalid", timezone=name[:64]) from exc
    return name


def parse_local_datetime(text: str, timezone: str) -> datetime | None:
    """A date and time typed in the event's time zone ("2026-12-01T19:30", as a datetime-local
    input sends it) as an aware datetime; None for an empty field."""
    value = (text or "").strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed("error.datetime_invalid") from exc
    return _aware(moment, timezone)


def local_input_value(moment: datetime | None, timezone: str) -> str:
    """The value a datetime-local input shows for a moment, in the event's time zone."""
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M")


def price_to_minor(text: str, currency: str) -> int:
    """A price typed in major units ("25", "25.50", "25,50") as minor units of the currency."""
    code = clean_currency(currency)
    value = (text or "").strip().replace(",", ".")
    if not value:
        return 0
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise ValidationFailed("error.price_invalid") from exc
    if not amount.is_finite():
        raise ValidationFailed("error.price_invalid")
    if amount < 0:
        raise ValidationFailed("error.price_negative")
    minor = amount * (Decimal(10) ** get_currency_precision(code))
    if minor != minor.to_integral_value():
        raise ValidationFailed("error.price_precision", currency=code, digits=get_currency_precision(code))
    return _check_price(int(minor))


def minor_to_price_text(amount_minor: int, currency: str) -> str:
    """The major-unit text an organizer sees in the price field ("25.50")."""
    digits = get_currency_precision(currency)
    amount = Decimal(amount_minor) / (Decimal(10) ** digits)
    return f"{amount:.{digits}f}"


def _check_price(amount_minor: Any) -> int:
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise ValidationFailed("error.price_invalid")
    if amount_minor < 0:
        raise ValidationFailed("error.price_negative")
    if amount_minor > MAX_PRICE_MINOR:
        raise ValidationFailed("error.price_too_high")
    return amount_minor


def _whole_number(value: Any, key: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed(key, min=low, max=high)
    return value


def _aware(moment: Any, timezone: str) -> datetime:
    if not isinstance(moment, datetime):
        raise ValidationFailed("error.datetime_invalid")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=ZoneInfo(timezone))
    return moment


def _slug(title: str) -> str:
    return re.sub(r"[\W_]+", "-", title.lower()).strip("-")[:120] or "event"


def _line(value: Any, *, max_length: int) -> str:
    """A one-line text (names, places): spaces collapsed."""
    if not isinstance(value, str):
        raise ValidationFailed("error.request_invalid", field="-")
    return clean_name(value, max_length=max_length)


def _multiline(value: Any, *, max_length: int) -> str:
    """A description: line breaks kept (Markdown needs them)."""
    if not isinstance(value, str):
        raise ValidationFailed("error.request_invalid", field="-")
    return clean_text(value, max_length=max_length, multiline=True, too_long_key="error.description_too_long")


def _resolve_event_fields(fields_in: EventFields, current: Event | None, *, now: datetime) -> dict[str, Any]:
    """The event's values after the change, validated; raises before anything is written."""

    def pick(name: str, default: Any) -> Any:
        value = getattr(fields_in, name)
        if value is UNSET:
            return getattr(current, name) if current is not None else default
        return value

    timezone = clean_timezone(pick("timezone", ""))
    title = _line(pick("title", ""), max_length=MAX_TITLE_LENGTH)
    if not title:
        raise ValidationFailed("error.event_title_required")
    values = {
        "title": title,
        "description": _multiline(pick("description", ""), max_length=MAX_DESCRIPTION_LENGTH),
        "venue_name": _line(pick("venue_name", ""), max_length=200),
        "venue_address": _line(pick("venue_address", ""), max_length=300),
        "city": _line(pick("city", ""), max_length=100),
        "timezone": timezone,
    }
    starts_at, ends_at = pick("starts_at", None), pick("ends_at", None)
    if starts_at is None or ends_at is None:
        raise ValidationFailed("error.event_dates_required")
    values["starts_at"] = _aware(starts_at, timezone)
    values["ends_at"] = _aware(ends_at, timezone)
    if values["ends_at"] <= values["starts_at"]:
        raise ValidationFailed("error.event_ends_before_start")
    dates_changed = current is None or (values["starts_at"], values["ends_at"]) != (current.starts_at, current.ends_at)
    if dates_changed and values["ends_at"] <= now:
        raise ValidationFailed("error.event_in_past")
    return values


# ---------------------------------------------------------------------------------------------
# Reading for the editor


def manageable_organizations(session: Session, *, actor: User | None) -> list[OrganizationChoice]:
    """The organizations in which the actor may create events (all of them for admins)."""
    user = authorize(session, actor, Permission.ORGANIZER_AREA)
    query = select(Organization).order_by(Organization.name)
    if user.role != Role.ADMIN:
        query = query.where(Organization.id.in_(organization_ids_of(session, user, Permission.ORGANIZATION_MANAGE)))
    return [OrganizationChoice(id=org.id, name=org.name) for org in session.exec(query).all()]


def get_event_for_editing(session: Session, *, actor: User | None, event_id: uuid.UUID) -> EditableEvent:
    authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
    event = session.get(Event, event_id)
    organization = session.get(Organization, event.organization_id)
    types = session.exec(
        select(TicketType).where(TicketType.event_id == event.id).order_by(TicketType.position, TicketType.name)
    ).all()
    counts = dict(
        session.exec(
            select(Order.status, func.count(Order.id))
            .where(Order.event_id == event.id, Order.status.in_([OrderStatus.PAID, OrderStatus.PENDING]))
            .group_by(Order.status)
        ).all()
    )
    return EditableEvent(
        id=event.id,
        organization_id=event.organization_id,
        organization_name=organization.name if organization else "",
        title=event.title,
        description=event.description,
        venue_name=event.venue_name,
        venue_address=event.venue_address,
        city=event.city,
        timezone=event.timezone,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        status=event.status,
        image_url=event.image_url,
        ticket_types=[_type_row(t) for t in types],
        paid_orders=int(counts.get(OrderStatus.PAID, 0)),
        pending_orders=int(counts.get(OrderStatus.PENDING, 0)),
    )


def _type_row(t: TicketType) -> TicketTypeRow:
    return TicketTypeRow(
        id=t.id,
        name=t.name,
        description=t.description,
        price_minor=t.price_minor,
        currency=t.currency,
        quantity=t.quantity,
        reserved=t.reserved,
        min_per_order=t.min_per_order,
        max_per_order=t.max_per_order,
        sales_start=t.sales_start,
        sales_end=t.sales_end,
        is_hidden=t.is_hidden,
        position=t.position,
    )


# ---------------------------------------------------------------------------------------------
# Events


def create_event(
    session: Session, *, actor: User | None, organization_id: uuid.UUID | None, fields: EventFields, now: datetime
) -> Event:
    """A new draft event in one of the actor's organizations, with its own ticket signing key."""
    if organization_id is None:
        authorize(session, actor, Permission.ORGANIZER_AREA)
        raise ValidationFailed("error.organization_required")
    user = authorize(session, actor, Permission.ORGANIZATION_MANAGE, organization_id=organization_id)
    if session.get(Organization, organization_id) is None:
        raise NotFound()
    values = _resolve_event_fields(fields, None, now=now)
    keys = generate_event_keys()
    event = Event(
        organization_id=organization_id,
        slug=_slug(values["title"]),
        status=EventStatus.DRAFT,
        signing_public_key=keys.public_key,
        signing_private_key_sealed=keys.encrypted_private_key,
        created_at=now,
        **values,
    )
    session.add(event)
    record_audit(
        session,
        action="event.created",
        object_type="event",
        object_id=event.id,
        now=now,
        actor_user_id=user.id,
        organization_id=organization_id,
        data={"title": event.title},
    )
    session.commit()
    return event


def update_event(
    session: Session, *, actor: User | None, event_id: uuid.UUID, fields: EventFields, now: datetime
) -> Event:
    user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
    event = _lock_event(session, event_id)
    _refuse_cancelled(event)
    values = _resolve_event_fields(fields, event, now=now)
    if (values["starts_at"], values["ends_at"]) != (event.starts_at, event.ends_at):
        for ticket_type in _types(session, event.id):
            _check_sales_window(ticket_type.sales_start, ticket_type.sales_end, values["ends_at"])
    changed = sorted(name for name, value in values.items() if getattr(event, name) != value)
    for name, value in values.items():
        setattr(event, name, value)
    if "title" in changed:
        event.slug = _slug(event.title)
    session.add(event)
    record_audit(
        session,
        action="event.updated",
        object_type="event",
        object_id=event.id,
        now=now,
        actor_user_id=user.id,
        organization_id=event.organization_id,
        data={"fields": changed},
    )
    session.commit()
    return event


def publish_event(session: Session, *, actor: User | None, event_id: uuid.UUID, now: datetime) -> Event:
    """Put a draft on sale: it needs dates still ahead, at least one ticket type buyers can see, and
    a publisher whose email address is confirmed."""
    user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
    require_verified(user)  # an unconfirmed address puts nothing on sale
    event = _lock_event(session, event_id)
    _refuse_cancelled(event)
    if event.status == EventStatus.PUBLISHED:
        session.rollback()
        return event
    if event.ends_at <= event.starts_at:
        raise ValidationFailed("error.event_ends_before_start")
    if event.ends_at <= now:
        raise ValidationFailed("error.event_in_past")
    if not any(not t.is_hidden for t in _types(session, event.id)):
        raise ValidationFailed("error.event_needs_ticket_types")
    return _set_status(session, event, EventStatus.PUBLISHED, "event.published", user=user, now=now)


def unpublish_event(session: Session, *, actor: User | None, event_id: uuid.UUID, now: datetime) -> Event:
    """Back to draft: the public page and the shop close; orders and tickets stay valid."""
    user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
    event = _lock_event(session, event_id)
    _refuse_cancelled(event)
    if event.status == EventStatus.DRAFT:
        session.rollback()
        return event
    return _set_status(session, event, EventStatus.DRAFT, "event.unpublished", user=user, now=now)


def _set_status(session: Session, event: Event, status: EventStatus, action: str, *, user: User, now: datetime):
    previous = event.status
    event.status = status
    session.add(event)
    record_audit(
        session,
        action=action,
        object_type="event",
        object_id=event.id,
        now=now,
        actor_user_id=user.id,
        organization_id=event.organization_id,
        data={"from": str(previous), "to": str(status)},
    )
    session.commit()
    return event


def duplicate_event(
    session: Session, *, actor: User | None, event_id: uuid.UUID, now: datetime, title_suffix: str = " (copy)"
) -> Event:
    """A draft copy with the same details and ticket types (nothing sold, a signing key of its own)."""
    user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
    source = session.get(Event, event_id)
    keys = generate_event_keys()
    title = (source.title[: MAX_TITLE_LENGTH - len(title_suffix)] + title_suffix).strip()
    copy = Event(
        organization_id=source.organization_id,
        title=title,
        slug=_slug(title),
        description=source.description,
        status=EventStatus.DRAFT,
        venue_name=source.venue_name,
        venue_address=source.venue_address,
        city=source.city,
        timezone=source.timezone,
        starts_at=source.starts_at,
        ends_at=source.ends_at,
        image_url=source.image_url,
        signing_public_key=keys.public_key,
        signing_private_key_sealed=keys.encrypted_private_key,
        created_at=now,
    )
    session.add(copy)
    for ticket_type in _types(session, source.id):
        session.add(
            TicketType(
                event_id=copy.id,
                name=ticket_type.name,
                description=ticket_type.description,
                price_minor=ticket_type.price_minor,
                currency=ticket_type.currency,
                quantity=ticket_type.quantity,
                reserved=0,
                sales_start=ticket_type.sales_start,
                sales_end=ticket_type.sales_end,
                min_per_order=ticket_type.min_per_order,
                max_per_order=ticket_type.max_per_order,
                position=ticket_type.position,
                is_hidden=ticket_type.is_hidden,
            )
        )
    record_audit(
        session,
        action="event.duplicated",
        object_type="event",
        object_id=copy.id,
        now=now,
        actor_user_id=user.id,
        organization_id=copy.organization_id,
        data={"source_event_id": str(source.id)},
    )
    session.commit()
    return copy


def cancel_event(session: Session, *, actor: User | None, event_id: uuid.UUID, now: datetime) -> CancellationReport:
    """Cancel an event: it stops selling at once, every paid order is refunded through its payment
    provider and every pending one cancelled, and each buyer gets an "event cancelled" email.

    Step 1 (one transaction): the event becomes cancelled and one `event.cancelled` outbox event
    per open order is written with it, so the emails cannot be lost. Step 2: each open order goes
    through `orders.cancel_order` in its own transaction. Calling this again on a cancelled event
    retries the orders still open."""
    user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
    event = _lock_event(session, event_id)
    if event.status != EventStatus.CANCELLED:
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
        session.commit()
    else:
        session.rollback()

    refunded = cancelled = 0
    failed: list[uuid.UUID] = []
    for order_id in _open_order_ids(session, event_id):
        session.commit()  # each order starts from a fresh transaction
        try:
            order = cancel_order(session, order_id=order_id, now=now, actor=user)
        except BiltenError:
            session.rollback()
            failed.append(order_id)
            continue
        if order.status == OrderStatus.REFUNDED:
            refunded += 1
        elif order.status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED):
            cancelled += 1
        else:
            failed.append(order_id)
    return CancellationReport(event_id=event_id, refunded=refunded, cancelled=cancelled, failed=failed)


def _open_order_ids(session: Session, event_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        session.exec(
            select(Order.id)
            .where(Order.event_id == event_id, Order.status.in_([OrderStatus.PAID, OrderStatus.PENDING]))
            .order_by(Order.created_at, Order.id)
        ).all()
    )


def check_event_image_allowed(session: Session, *, actor: User | None, event_id: uuid.UUID) -> User:
    """May `actor` give this event a picture? Asked before the upload is decoded (bilten/image_pool.py
    does that; the caller closes this session meanwhile), then `set_event_image` records the file."""
    user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
    _refuse_cancelled(session.get(Event, event_id))
    return user


def set_event_image(session: Session, *, actor: User | None, event_id: uuid.UUID, name: str, now: datetime) -> Event:
    """Show a picture stored by `media.store_image` (checked, cleaned, random name) on the event.
    The previous file stays: duplicated events may still show it."""
    user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
    media.stored_file(name)  # a name this app made, of a file that exists
    event = _lock_event(session, event_id)
    _refuse_cancelled(event)
    event.image_url = media.media_url(name)
    session.add(event)
    record_audit(
        session,
        action="event.image_set",
        object_type="event",
        object_id=event.id,
        now=now,
        actor_user_id=user.id,
        organization_id=event.organization_id,
        data={"image": name},
    )
    session.commit()
    return event


def _lock_event(session: Session, event_id: uuid.UUID) -> Event:
    query = select(Event).where(Event.id == event_id).with_for_update().execution_options(populate_existing=True)
    with _lock_waits_capped(session):
        event = session.exec(query).first()
    if event is None:
        raise NotFound()
    return event


@contextmanager
def _lock_waits_capped(session: Session) -> Iterator[None]:
    """A lock wait that hit the database's cap (3 s, see db.py) becomes a "try again" answer."""
    try:
        yield
    except (OperationalError, DBAPIError) as exc:
        session.rollback()
        text = str(getattr(exc, "orig", exc)).lower()
        if "lock" in text and ("timeout" in text or "not available" in text or "locked" in text):
            raise TryAgain() from exc
        raise


def _refuse_cancelled(event: Event) -> None:
    if event.status == EventStatus.CANCELLED:
        raise EventCancelled()


def _types(session: Session, event_id: uuid.UUID) -> list[TicketType]:
    return list(
        session.exec(
            select(TicketType).where(TicketType.event_id == event_id).order_by(TicketType.position, TicketType.name)
        ).all()
    )


# ---------------------------------------------------------------------------------------------
# Ticket types


def _check_sales_window(start: datetime | None, end: datetime | None, event_ends_at: datetime) -> None:
    if start is not None and end is not None and end <= start:
        raise ValidationFailed("error.sales_window_invalid")
    if (end is not None and end > event_ends_at) or (start is not None and start >= event_ends_at):
        raise ValidationFailed("error.sales_after_event")


def _resolve_type_fields(
    session: Session, fields_in: TicketTypeFields, event: Event, current: TicketType | None
) -> dict[str, Any]:
    defaults = {
        "name": "",
        "description": "",
        "price_minor": 0,
        "currency": "",
        "quantity": 0,
        "min_per_order": 1,
        "max_per_order": 10,
        "sales_start": None,
        "sales_end": None,
        "is_hidden": False,
    }

    def pick(name: str) -> Any:
        value = getattr(fields_in, name)
        if value is UNSET:
            return getattr(current, name) if current is not None else defaults[name]
        return value

    name = _line(pick("name"), max_length=120)
    if not name:
        raise ValidationFailed("error.ticket_name_required")
    currency = clean_currency(pick("currency") or _event_currency(session, event.id) or "")
    others = {t.currency for t in _types(session, event.id) if current is None or t.id != current.id}
    if others and currency not in others:
        raise ValidationFailed("error.currency_mixed", currency=next(iter(sorted(others))))
    quantity = _whole_number(pick("quantity"), "error.ticket_quantity_invalid", low=0, high=MAX_QUANTITY)
    min_per_order = _whole_number(pick("min_per_order"), "error.order_limits_invalid", low=1, high=MAX_PER_ORDER)
    max_per_order = _whole_number(pick("max_per_order"), "error.order_limits_invalid", low=1, high=MAX_PER_ORDER)
    if min_per_order > max_per_order:
        raise ValidationFailed("error.order_limits_invalid", min=1, max=MAX_PER_ORDER)
    sales_start, sales_end = pick("sales_start"), pick("sales_end")
    sales_start = None if sales_start is None else _aware(sales_start, event.timezone)
    sales_end = None if sales_end is None else _aware(sales_end, event.timezone)
    _check_sales_window(sales_start, sales_end, event.ends_at)
    hidden = pick("is_hidden")
    if not isinstance(hidden, bool):
        raise ValidationFailed("error.request_invalid", field="is_hidden")
    return {
        "name": name,
        "description": _multiline(pick("description"), max_length=500),
        "price_minor": _check_price(pick("price_minor")),
        "currency": currency,
        "quantity": quantity,
        "min_per_order": min_per_order,
        "max_per_order": max_per_order,
        "sales_start": sales_start,
        "sales_end": sales_end,
        "is_hidden": hidden,
    }


def _event_currency(session: Session, event_id: uuid.UUID) -> str | None:
    return session.exec(select(TicketType.currency).where(TicketType.event_id == event_id).limit(1)).first()


def create_ticket_type(
    session: Session, *, actor: User | None, event_id: uuid.UUID, fields: TicketTypeFields, now: datetime
) -> TicketType:
    user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
    event = _lock_event(session, event_id)
    _refuse_cancelled(event)
    values = _resolve_type_fields(session, fields, event, None)
    last = session.exec(select(func.max(TicketType.position)).where(TicketType.event_id == event.id)).first()
    ticket_type = TicketType(event_id=event.id, reserved=0, position=(last + 1) if last is not None else 0, **values)
    session.add(ticket_type)
    record_audit(
        session,
        action="ticket_type.created",
        object_type="ticket_type",
        object_id=ticket_type.id,
        now=now,
        actor_user_id=user.id,
        organization_id=event.organization_id,
        data={"event_id": str(event.id), **_audit_values(values)},
    )
    session.commit()
    return ticket_type


def update_ticket_type(
    session: Session,
    *,
    actor: User | None,
    event_id: uuid.UUID,
    ticket_type_id: uuid.UUID,
    fields: TicketTypeFields,
    now: datetime,
) -> TicketType:
    """Change a ticket type. Its quantity never drops below what is held or sold: the new values
    are written by one UPDATE guarded by `reserved <= quantity`, so a reservation committed after
    the checks here still wins and the change is refused."""
    user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
    event = _lock_event(session, event_id)
    _refuse_cancelled(event)
    current = session.get(TicketType, ticket_type_id)
    if current is None or current.event_id != event.id:
        raise NotFound()
    values = _resolve_type_fields(session, fields, event, current)
    changed = sorted(name for name, value in values.items() if getattr(current, name) != value)
    guarded = (
        update(TicketType)
        .where(
            TicketType.id == ticket_type_id,
            TicketType.event_id == event.id,
            TicketType.reserved <= values["quantity"],
        )
        .values(**values)
        .returning(TicketType.id)
        .execution_options(synchronize_session=False)
    )
    with _lock_waits_capped(session):  # the row may be busy with a sale: never wait longer than 3 s
        written = session.execute(guarded).first()
    if written is None:
        session.rollback()
        sold = session.exec(select(TicketType.reserved).where(TicketType.id == ticket_type_id)).one()
        session.rollback()
        raise ValidationFailed("error.ticket_quantity_below_sold", sold=sold)
    record_audit(
        session,
        action="ticket_type.updated",
        object_type="ticket_type",
        object_id=ticket_type_id,
        now=now,
        actor_user_id=user.id,
        organization_id=event.organization_id,
        data={"event_id": str(event.id), "fields": changed, **_audit_values(values)},
    )
    session.commit()
    session.refresh(current)
    return current


def _audit_values(values: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in values.items()
        if name != "description"
    }


def event_fields_from(data: dict[str, Any]) -> EventFields:
    """EventFields from a mapping holding some of its names (the others stay UNSET)."""
    known = {f.name for f in fields(EventFields)}
    return EventFields(**{name: value for name, value in data.items() if name in known})


def ticket_type_fields_from(data: dict[str, Any]) -> TicketTypeFields:
    known = {f.name for f in fields(TicketTypeFields)}
    return TicketTypeFields(**{name: value for name, value in data.items() if name in known})
