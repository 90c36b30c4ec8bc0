"""`/api/v1/events`: the public catalogue, in the reader's language.

The language is `?lang=` if given, else the Accept-Language header; texts the organizer did not give
in that language come in the event's main language. `language` in each event says which language
its title is served in (`main_language` is the event's own)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import Depends, Query, Request, Response
from sqlmodel import Session

from bilten.api.deps import get_now, get_session
from bilten.api.errors import error_responses
from bilten.api.routing import api_router
from bilten.i18n import normalize_locale
from bilten.services import events as event_service
from bilten.services.events import EventDetail, EventSummary

router = api_router(prefix="/api/v1/events", tags=["events"], responses=error_responses(401, 404, 422))


def reader_locale(request: Request, lang: str | None) -> str | None:
    """The reader's language: `?lang=`, else Accept-Language; None when neither names one of
    Bilten's languages (then each event comes in its main language)."""
    return normalize_locale(lang, "") or normalize_locale(request.headers.get("accept-language"), "") or None


LANG_QUERY = Query(None, max_length=35, description="en, ar, de, es, fr or it; else Accept-Language decides")


@router.get("", response_model=list[EventSummary])
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
) -> list[EventSummary]:
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
    return summaries


@router.get("/{event_id}", response_model=EventDetail)
def get_event(
    event_id: uuid.UUID,
    request: Request,
    response: Response,
    session: Session = Depends(get_session),
    lang: str | None = LANG_QUERY,
) -> EventDetail:
    detail = event_service.get_public_event(session, event_id=event_id, locale=reader_locale(request, lang))
    response.headers["Vary"] = "Accept-Language"
    response.headers["Content-Language"] = detail.language
    return detail
