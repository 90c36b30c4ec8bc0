"""What organizers type, checked: event and ticket type fields, prices, currencies, time zones and
local times. Everything is validated before anything is written (a refusal leaves nothing changed)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.numbers import get_currency_precision, list_currencies
from sqlmodel import Session, col, select

from bilten.models import Event, EventStatus, TicketType
from bilten.services.errors import EventCancelled, ValidationFailed
from bilten.services.markdown import MAX_DESCRIPTION_LENGTH
from bilten.services.text import clean_text
from bilten.services.translations import (
    EVENT_TEXTS,
    MAX_VENUE_NOTES_LENGTH,
    TICKET_TYPE_TEXTS,
    clean_language,
    clean_translations,
    copy_translations,
    merge_translations,
)
from bilten.services.validation import clean_name
from bilten.settings import get_settings

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
    title, timezone, starts_at, ends_at). Naive datetimes are read in the event's time zone.
    `main_language` defaults to the platform's DEFAULT_LOCALE; `translations` is
    `{field: {locale: text}}` (services/translations.py): each field named replaces that field's
    texts in other languages, fields not named keep theirs."""

    title: Any = UNSET
    description: Any = UNSET
    venue_name: Any = UNSET
    venue_address: Any = UNSET
    city: Any = UNSET
    timezone: Any = UNSET
    starts_at: Any = UNSET
    ends_at: Any = UNSET
    venue_notes: Any = UNSET
    main_language: Any = UNSET
    translations: Any = UNSET
    allow_ticket_transfer: Any = UNSET  # may holders hand tickets on (services/ticket_transfer.py)


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
    translations: Any = UNSET
    tax_rate_bp: Any = UNSET  # basis points, 0-10000 (services/invoices.py parse_tax_rate reads "19,5")


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


def slug_of(title: str) -> str:
    return re.sub(r"[\W_]+", "-", title.lower()).strip("-")[:120] or "event"


def _line(value: Any, *, max_length: int) -> str:
    """A one-line text (names, places): spaces collapsed."""
    if not isinstance(value, str):
        raise ValidationFailed("error.request_invalid", field="-")
    return clean_name(value, max_length=max_length)


def _multiline(value: Any, *, max_length: int, too_long_key: str = "error.description_too_long") -> str:
    """A description: line breaks kept (Markdown needs them)."""
    if not isinstance(value, str):
        raise ValidationFailed("error.request_invalid", field="-")
    return clean_text(value, max_length=max_length, multiline=True, too_long_key=too_long_key)


def _translations(given: Any, current: Any, rules: Any, *, main_language: str) -> dict[str, dict[str, str]]:
    """The row's translations after the change (services/translations.py), validated."""
    stored = getattr(current, "translations", None) or {}
    if given is UNSET:
        return copy_translations(stored)
    cleaned = clean_translations(given, rules, main_language=main_language)
    return merge_translations(stored, cleaned, set(given))


def resolve_event_fields(fields_in: EventFields, current: Event | None, *, now: datetime) -> dict[str, Any]:
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
    values: dict[str, Any] = {
        "title": title,
        "description": _multiline(pick("description", ""), max_length=MAX_DESCRIPTION_LENGTH),
        "venue_name": _line(pick("venue_name", ""), max_length=200),
        "venue_address": _line(pick("venue_address", ""), max_length=300),
        "city": _line(pick("city", ""), max_length=100),
        "timezone": timezone,
        "venue_notes": _multiline(
            pick("venue_notes", ""), max_length=MAX_VENUE_NOTES_LENGTH, too_long_key="error.venue_notes_too_long"
        ),
    }
    allow_transfer = pick("allow_ticket_transfer", True)
    if not isinstance(allow_transfer, bool):
        raise ValidationFailed("error.request_invalid", field="allow_ticket_transfer")
    values["allow_ticket_transfer"] = allow_transfer
    main_language = clean_language(pick("main_language", get_settings().default_locale))
    values["main_language"] = main_language
    values["translations"] = _translations(fields_in.translations, current, EVENT_TEXTS, main_language=main_language)
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
# Ticket types


def check_sales_window(start: datetime | None, end: datetime | None, event_ends_at: datetime) -> None:
    if start is not None and end is not None and end <= start:
        raise ValidationFailed("error.sales_window_invalid")
    if (end is not None and end > event_ends_at) or (start is not None and start >= event_ends_at):
        raise ValidationFailed("error.sales_after_event")


def resolve_type_fields(
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
        "tax_rate_bp": 0,
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
    others = {t.currency for t in event_ticket_types(session, event.id) if current is None or t.id != current.id}
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
    check_sales_window(sales_start, sales_end, event.ends_at)
    hidden = pick("is_hidden")
    if not isinstance(hidden, bool):
        raise ValidationFailed("error.request_invalid", field="is_hidden")
    tax_rate_bp = pick("tax_rate_bp")
    if isinstance(tax_rate_bp, bool) or not isinstance(tax_rate_bp, int) or not 0 <= tax_rate_bp <= 10_000:
        raise ValidationFailed("error.invoice.tax_rate")
    return {
        "name": name,
        "tax_rate_bp": tax_rate_bp,
        "description": _multiline(pick("description"), max_length=500),
        "price_minor": _check_price(pick("price_minor")),
        "currency": currency,
        "quantity": quantity,
        "min_per_order": min_per_order,
        "max_per_order": max_per_order,
        "sales_start": sales_start,
        "sales_end": sales_end,
        "is_hidden": hidden,
        "translations": _translations(
            fields_in.translations, current, TICKET_TYPE_TEXTS, main_language=event.main_language
        ),
    }


def _event_currency(session: Session, event_id: uuid.UUID) -> str | None:
    return session.exec(select(TicketType.currency).where(TicketType.event_id == event_id).limit(1)).first()


def audit_values(values: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in values.items()
        if name not in ("description", "venue_notes", "translations")
    }


def event_fields_from(data: dict[str, Any]) -> EventFields:
    """EventFields from a mapping holding some of its names (the others stay UNSET)."""
    known = {f.name for f in fields(EventFields)}
    return EventFields(**{name: value for name, value in data.items() if name in known})


def ticket_type_fields_from(data: dict[str, Any]) -> TicketTypeFields:
    known = {f.name for f in fields(TicketTypeFields)}
    return TicketTypeFields(**{name: value for name, value in data.items() if name in known})


def refuse_cancelled(event: Event) -> None:
    if event.status == EventStatus.CANCELLED:
        raise EventCancelled()


def event_ticket_types(session: Session, event_id: uuid.UUID) -> list[TicketType]:
    return list(
        session.exec(
            select(TicketType)
            .where(TicketType.event_id == event_id)
            .order_by(col(TicketType.position), col(TicketType.name))
        ).all()
    )
