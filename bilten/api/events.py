"""`/api/v1/events`: the public catalogue."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import Depends, Query
from sqlmodel import Session

from bilten.api.deps import get_now, get_session
from bilten.api.errors import error_responses
from bilten.api.routing import api_router
from bilten.services import events as event_service
from bilten.services.events import EventDetail, EventSummary

router = api_router(prefix="/api/v1/events", tags=["events"], responses=error_responses(401, 404, 422))


@router.get("", response_model=list[EventSummary])
def list_events(
    q: str = Query("", max_length=200),
    city: str = Query("", max_length=100),
    starts_from: datetime | None = None,
    starts_until: datetime | None = None,
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> list[EventSummary]:
    return event_service.list_upcoming_events(
        session, now=now, text=q, city=city, starts_from=starts_from, starts_until=starts_until
    )


@router.get("/{event_id}", response_model=EventDetail)
def get_event(event_id: uuid.UUID, session: Session = Depends(get_session)) -> EventDetail:
    return event_service.get_public_event(session, event_id=event_id)
