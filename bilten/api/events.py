"""`/api/v1/events`: the public catalogue."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlmodel import Session

from bilten.api.deps import get_now, get_session
from bilten.api.errors import error_responses
from bilten.api.routing import api_router
from bilten.services import events as event_service

router = api_router(prefix="/api/v1/events", tags=["events"], responses=error_responses(401, 404, 422))


class TicketTypeOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    price: int
    currency: str
    available: int
    min_per_order: int
    max_per_order: int
    sales_start: datetime | None
    sales_end: datetime | None


class EventOut(BaseModel):
    id: uuid.UUID
    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    venue_name: str
    city: str
    image_url: str
    lowest_price: int | None
    currency: str | None


class EventDetailOut(EventOut):
    description: str
    venue_address: str
    status: str
    ticket_types: list[TicketTypeOut]


def _event_out(summary: event_service.EventSummary) -> dict:
    return {
        "id": summary.id,
        "title": summary.title,
        "starts_at": summary.starts_at,
        "ends_at": summary.ends_at,
        "timezone": summary.timezone,
        "venue_name": summary.venue_name,
        "city": summary.city,
        "image_url": summary.image_url,
        "lowest_price": summary.lowest_price_minor,
        "currency": summary.currency,
    }


@router.get("", response_model=list[EventOut])
def list_events(
    q: str = Query("", max_length=200),
    city: str = Query("", max_length=100),
    starts_from: datetime | None = None,
    starts_until: datetime | None = None,
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> list[dict]:
    summaries = event_service.list_upcoming_events(
        session, now=now, text=q, city=city, starts_from=starts_from, starts_until=starts_until
    )
    return [_event_out(s) for s in summaries]


@router.get("/{event_id}", response_model=EventDetailOut)
def get_event(event_id: uuid.UUID, session: Session = Depends(get_session)) -> dict:
    detail = event_service.get_public_event(session, event_id=event_id)
    return {
        **_event_out(detail),
        "description": detail.description,
        "venue_address": detail.venue_address,
        "status": detail.status,
        "ticket_types": [
            {
                "id": t.id,
                "name": t.name,
                "description": t.description,
                "price": t.price_minor,
                "currency": t.currency,
                "available": t.available,
                "min_per_order": t.min_per_order,
                "max_per_order": t.max_per_order,
                "sales_start": t.sales_start,
                "sales_end": t.sales_end,
            }
            for t in detail.ticket_types
        ],
    }
