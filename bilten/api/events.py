"""`/api/v1/events`: the public catalogue, in the reader's language.

The language is `?lang=` if given, else the Accept-Language header; texts the organizer did not give
in that language come in the event's main language. `language` in each event says which language
its title is served in (`main_language` is the event's own)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from bilten.api.deps import get_now, get_session
from bilten.api.errors import error_responses
from bilten.api.routing import api_router
from bilten.i18n import normalize_locale
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
    language: str = Field(description="the language the texts are served in: the reader's, else the main language")
    main_language: str = Field(description="the event's main language")


class EventDetailOut(EventOut):
    description: str
    venue_address: str
    status: str
    ticket_types: list[TicketTypeOut]
    venue_notes: str = ""


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
        "language": summary.language,
        "main_language": summary.main_language,
    }


def reader_locale(request: Request, lang: str | None) -> str | None:
    """The reader's language: `?lang=`, else Accept-Language; None when neither names one of
    Bilten's languages (then each event comes in its main language)."""
    return normalize_locale(lang, "") or normalize_locale(request.headers.get("accept-language"), "") or None


LANG_QUERY = Query(None, max_length=35, description="en, ar, de, es, fr or it; else Accept-Language decides")


@router.get("", response_model=list[EventOut])
def list_events(
    request: Request,
    response: Response,
    q: str = Query("", max_length=200),
    city: str = Query("", max_length=100),
    starts_from: datetime | None = None,
    starts_until: datetime | None = None,
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
    lang: str | None = LANG_QUERY,
) -> list[dict]:
    summaries = event_service.list_upcoming_events(
        session,
        now=now,
        text=q,
        city=city,
        starts_from=starts_from,
        starts_until=starts_until,
        locale=reader_locale(request, lang),
    )
    response.headers["Vary"] = "Accept-Language"
    return [_event_out(s) for s in summaries]


@router.get("/{event_id}", response_model=EventDetailOut)
def get_event(
    event_id: uuid.UUID,
    request: Request,
    response: Response,
    session: Session = Depends(get_session),
    lang: str | None = LANG_QUERY,
) -> dict:
    detail = event_service.get_public_event(session, event_id=event_id, locale=reader_locale(request, lang))
    response.headers["Vary"] = "Accept-Language"
    response.headers["Content-Language"] = detail.language
    return {
        **_event_out(detail),
        "description": detail.description,
        "venue_address": detail.venue_address,
        "status": detail.status,
        "venue_notes": detail.venue_notes,
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
