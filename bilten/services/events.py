"""Reading events for buyers: the public listing and one event's page.

The read models are what `/api/v1/events` returns unchanged (`serialization_alias` gives the JSON
name where it differs from the attribute) and what the buyer pages read.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from bilten.models import Event, EventStatus, TicketType
from bilten.services.errors import NotFound

MAX_LISTED_EVENTS = 100


class TicketTypeSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    name: str
    description: str
    price_minor: int = Field(serialization_alias="price")
    currency: str
    available: int
    min_per_order: int
    max_per_order: int
    sales_start: datetime | None
    sales_end: datetime | None


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


class EventDetail(EventSummary):
    description: str
    venue_address: str
    status: EventStatus
    ticket_types: list[TicketTypeSummary]


def list_upcoming_events(
    session: Session,
    *,
    now: datetime,
    text: str = "",
    city: str = "",
    starts_from: datetime | None = None,
    starts_until: datetime | None = None,
    limit: int = MAX_LISTED_EVENTS,
) -> list[EventSummary]:
    """Published events that have not ended, soonest first, with their lowest ticket price."""
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
                    for column in (Event.title, Event.description, Event.venue_name, Event.city)
                )
            )
        )
    if city.strip():
        query = query.where(func.lower(Event.city) == city.strip().lower())
    if starts_from is not None:
        query = query.where(Event.starts_at >= starts_from)
    if starts_until is not None:
        query = query.where(Event.starts_at < starts_until)
    return [_summary(event, price, currency) for event, price, currency in session.exec(query).all()]


def get_public_event(session: Session, *, event_id: uuid.UUID) -> EventDetail:
    """A published (or cancelled, so buyers learn of it) event with its ticket types."""
    event = session.get(Event, event_id)
    if event is None or event.status == EventStatus.DRAFT:
        raise NotFound()
    types = session.exec(
        select(TicketType)
        .where(TicketType.event_id == event.id, TicketType.is_hidden == False)  # noqa: E712
        .order_by(col(TicketType.position), col(TicketType.price_minor))
    ).all()
    summaries = [
        TicketTypeSummary(
            id=t.id,
            name=t.name,
            description=t.description,
            price_minor=t.price_minor,
            currency=t.currency,
            available=max(t.quantity - t.reserved, 0),
            min_per_order=t.min_per_order,
            max_per_order=t.max_per_order,
            sales_start=t.sales_start,
            sales_end=t.sales_end,
        )
        for t in types
    ]
    cheapest = min(summaries, key=lambda t: t.price_minor, default=None)
    return EventDetail(
        **_summary_fields(event, cheapest.price_minor if cheapest else None, cheapest.currency if cheapest else None),
        description=event.description,
        venue_address=event.venue_address,
        status=event.status,
        ticket_types=summaries,
    )


def _summary(event: Event, lowest_price: int | None, currency: str | None) -> EventSummary:
    return EventSummary(**_summary_fields(event, lowest_price, currency))


def _summary_fields(event: Event, lowest_price: int | None, currency: str | None) -> dict[str, Any]:
    return {
        "id": event.id,
        "title": event.title,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "timezone": event.timezone,
        "venue_name": event.venue_name,
        "city": event.city,
        "image_url": event.image_url,
        "lowest_price_minor": lowest_price,
        "currency": currency,
    }
