"""Reading events for buyers: the public listing and one event's page.

Texts come in the reader's language (`locale`) where the organizer gave one, else in the event's
main language (services/translations.py); `language` says which language the title is in."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Text, cast, func, or_
from sqlmodel import Session, col, select

from bilten.models import Event, EventStatus, InvoiceSettings, TicketType
from bilten.services import tax
from bilten.services.errors import NotFound
from bilten.services.text import clean_text
from bilten.services.translations import copy_translations, field_text, served_language

MAX_LISTED_EVENTS = 100
MAX_SEARCH_LENGTH = 200  # the API allows 200 characters of search text, 100 of city


class TicketTypeSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    name: str
    description: str
    price_minor: int = Field(serialization_alias="price")  # what the buyer pays: `buyer_unit_price`
    currency: str
    available: int
    min_per_order: int
    max_per_order: int
    sales_start: datetime | None
    sales_end: datetime | None
    # The texts in every language, for readers who switch language on an open page (not in the API).
    translations: dict[str, dict[str, str]] = Field(default_factory=dict, exclude=True)
    # The stored price (net when the organization's prices are net) and its tax, for the event page
    # to apply a voucher the way placing an order does (not in the API: it shows `price_minor`).
    base_price_minor: int = Field(default=0, exclude=True)
    tax_rate_bp: int = Field(default=0, exclude=True)
    prices_include_tax: bool = Field(default=True, exclude=True)


def buyer_unit_price(price_minor: int, tax_rate_bp: int, *, prices_include_tax: bool) -> int:
    """The price buyers see for one ticket, which is what they are charged: the stored price
    (after any voucher: `vouchers.voucher_unit_price`) when the organization's prices include tax,
    else net + tax, rounded exactly as placing an order charges it (`tax.charged_unit_price`)."""
    return tax.charged_unit_price(price_minor, tax_rate_bp, prices_include_tax=prices_include_tax)


def ticket_type_summary(ticket: TicketType, *, prices_include_tax: bool, **texts: Any) -> TicketTypeSummary:
    """A ticket type as buyers see it; `texts` are its name, description and translations."""
    return TicketTypeSummary(
        id=ticket.id,
        price_minor=buyer_unit_price(ticket.price_minor, ticket.tax_rate_bp, prices_include_tax=prices_include_tax),
        currency=ticket.currency,
        available=max(ticket.quantity - ticket.reserved, 0),
        min_per_order=ticket.min_per_order,
        max_per_order=ticket.max_per_order,
        sales_start=ticket.sales_start,
        sales_end=ticket.sales_end,
        base_price_minor=ticket.price_minor,
        tax_rate_bp=ticket.tax_rate_bp,
        prices_include_tax=prices_include_tax,
        **texts,
    )


class EventSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    venue_name: str
    city: str
    image_url: str
    lowest_price_minor: int | None = Field(serialization_alias="lowest_price")
    currency: str | None
    language: str = Field(description="the language the texts are served in: the reader's, else the main language")
    main_language: str = Field(description="the event's main language")
    # The texts in every language, for readers who switch language on an open page: the fields
    # above are in `language`; `field_text(summary, "title", other, summary.main_language)` reads
    # another one when they were read without a locale (then they are the main-language texts).
    # Not in the API: it serves the texts in one language.
    translations: dict[str, dict[str, str]] = Field(default_factory=dict, exclude=True)


class EventDetail(EventSummary):
    description: str
    venue_address: str
    status: EventStatus
    ticket_types: list[TicketTypeSummary]
    venue_notes: str = ""


def list_upcoming_events(
    session: Session,
    *,
    now: datetime,
    text: str = "",
    city: str = "",
    starts_from: datetime | None = None,
    starts_until: datetime | None = None,
    limit: int = MAX_LISTED_EVENTS,
    locale: str | None = None,
) -> list[EventSummary]:
    """Published events that have not ended, soonest first, with their lowest ticket price. The
    search text also finds words of the events' texts in other languages."""
    # Searched as the stored texts were saved: hidden characters (a NUL, which PostgreSQL refuses
    # in a query) dropped, whitespace folded.
    text = clean_text(text, max_length=MAX_SEARCH_LENGTH)
    city = clean_text(city, max_length=MAX_SEARCH_LENGTH)
    lowest = (
        select(
            TicketType.event_id,
            func.min(TicketType.price_minor).label("lowest"),
            func.min(TicketType.currency).label("currency"),
        )
        .where(TicketType.is_hidden == False)  # noqa: E712 (SQL, not Python)
        .group_by(col(TicketType.event_id))
        .subquery()
    )
    query = (
        select(Event, lowest.c.lowest, lowest.c.currency)
        .outerjoin(lowest, lowest.c.event_id == Event.id)
        .where(Event.status == EventStatus.PUBLISHED, Event.ends_at > now)
        .order_by(col(Event.starts_at), Event.title)
        .limit(limit)
    )
    if text.strip():
        needle = text.strip().lower()
        query = query.where(
            or_(
                *(
                    func.lower(column).contains(needle, autoescape=True)
                    for column in (
                        Event.title,
                        Event.description,
                        Event.venue_name,
                        Event.city,
                        cast(Event.translations, Text),
                    )
                )
            )
        )
    if city.strip():
        query = query.where(func.lower(Event.city) == city.strip().lower())
    if starts_from is not None:
        query = query.where(Event.starts_at >= starts_from)
    if starts_until is not None:
        query = query.where(Event.starts_at < starts_until)
    rows = session.exec(query).all()
    if text.strip():
        # The translations column matched as JSON text, so its keys ("title", "de") did too: keep
        # the events whose words really are in one of their texts.
        rows = [row for row in rows if _has_text(row[0], text.strip().lower())]
    lowest_shown = _lowest_net_priced(session, [row[0] for row in rows])
    return [_summary(event, lowest_shown.get(event.id, price), currency, locale) for event, price, currency in rows]


def _lowest_net_priced(session: Session, events: list[Event]) -> dict[uuid.UUID, int]:
    """The lowest price buyers pay at the events of organizations whose prices are net (the SQL
    minimum above is of stored prices, without the tax these buyers pay on top)."""
    net_priced = set(
        session.exec(
            select(InvoiceSettings.organization_id).where(
                col(InvoiceSettings.organization_id).in_({e.organization_id for e in events}),
                InvoiceSettings.prices_include_tax == False,  # noqa: E712
            )
        ).all()
    )
    event_ids = [e.id for e in events if e.organization_id in net_priced]
    if not event_ids:
        return {}
    lowest: dict[uuid.UUID, int] = {}
    types = session.exec(
        select(TicketType).where(col(TicketType.event_id).in_(event_ids), TicketType.is_hidden == False)  # noqa: E712
    ).all()
    for t in types:
        price = buyer_unit_price(t.price_minor, t.tax_rate_bp, prices_include_tax=False)
        lowest[t.event_id] = min(price, lowest.get(t.event_id, price))
    return lowest


def _has_text(event: Event, needle: str) -> bool:
    texts = [event.title, event.description, event.venue_name, event.city]
    texts += [text for by_language in (event.translations or {}).values() for text in by_language.values()]
    return any(needle in text.lower() for text in texts)


def get_public_event(session: Session, *, event_id: uuid.UUID, locale: str | None = None) -> EventDetail:
    """A published (or cancelled, so buyers learn of it) event with its ticket types."""
    event = session.get(Event, event_id)
    if event is None or event.status == EventStatus.DRAFT:
        raise NotFound()
    reader = locale or event.main_language
    types = session.exec(
        select(TicketType)
        .where(TicketType.event_id == event.id, TicketType.is_hidden == False)  # noqa: E712
        .order_by(col(TicketType.position), col(TicketType.price_minor))
    ).all()
    include_tax = tax.prices_include_tax(session, event.organization_id)
    summaries = [
        ticket_type_summary(
            t,
            prices_include_tax=include_tax,
            name=field_text(t, "name", reader, event.main_language),
            description=field_text(t, "description", reader, event.main_language),
            translations=copy_translations(t.translations),
        )
        for t in types
    ]
    cheapest = min(summaries, key=lambda t: t.price_minor, default=None)
    return EventDetail(
        **_summary_fields(
            event, cheapest.price_minor if cheapest else None, cheapest.currency if cheapest else None, reader
        ),
        description=field_text(event, "description", reader, event.main_language),
        venue_address=event.venue_address,
        status=event.status,
        ticket_types=summaries,
        venue_notes=field_text(event, "venue_notes", reader, event.main_language),
    )


def _summary(event: Event, lowest_price: int | None, currency: str | None, locale: str | None) -> EventSummary:
    return EventSummary(**_summary_fields(event, lowest_price, currency, locale))


def _summary_fields(event: Event, lowest_price: int | None, currency: str | None, locale: str | None) -> dict[str, Any]:
    reader = locale or event.main_language
    return {
        "id": event.id,
        "title": field_text(event, "title", reader, event.main_language),
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "timezone": event.timezone,
        "venue_name": event.venue_name,
        "city": event.city,
        "image_url": event.image_url,
        "lowest_price_minor": lowest_price,
        "currency": currency,
        "language": served_language(event.translations, reader, event.main_language),
        "main_language": event.main_language,
        "translations": copy_translations(event.translations),
    }
