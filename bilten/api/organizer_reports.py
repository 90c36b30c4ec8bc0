"""Organizer reports: an event's orders and figures, an organization's figures, background exports.

Bearer access token (JWT) of a team member who may see the reports (`EVENT_VIEW`,
`ORGANIZATION_VIEW`: owners, managers, viewers; admins). The export download also accepts the
browser's session cookie, so the back office can link to it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import Depends, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from bilten import jobs
from bilten.api.deps import Caller, get_caller, get_now, get_session, token_or_cookie_user
from bilten.api.errors import error_responses
from bilten.api.files import stored_file_response
from bilten.api.routing import api_router
from bilten.services import event_orders, exports, reports
from bilten.services.event_orders import EventOrderRow, Page
from bilten.services.exports import ExportView
from bilten.services.reports import EventStats, OrganizationStats

router = api_router(prefix="/api/v1", tags=["organizer reports"], responses=error_responses(401, 403, 404, 422))


class ExportIn(BaseModel):
    kind: str = Field(max_length=20, description="attendees or orders")
    format: str = Field(max_length=10, description="csv or xlsx")


@router.get("/events/{event_id}/orders", response_model=Page[EventOrderRow])
def event_orders_page(
    event_id: uuid.UUID,
    search: str = Query("", max_length=200, description="buyer name or email, order id, ticket code"),
    status: str = Query("", max_length=20),
    page: int = Query(1, ge=1),
    page_size: int = Query(event_orders.DEFAULT_PAGE_SIZE, ge=1, le=event_orders.MAX_PAGE_SIZE),
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
) -> Page[EventOrderRow]:
    return event_orders.list_event_orders(
        session,
        actor=caller.require(session),
        event_id=event_id,
        search=search,
        status=status or None,
        page=page,
        page_size=page_size,
    )


@router.get("/events/{event_id}/stats", response_model=EventStats)
def event_stats(
    event_id: uuid.UUID,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> EventStats:
    return reports.event_stats(session, actor=caller.require(session), event_id=event_id, now=now)


@router.get("/organizations/{organization_id}/stats", response_model=OrganizationStats)
def organization_stats(
    organization_id: uuid.UUID,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> OrganizationStats:
    return reports.organization_stats(session, actor=caller.require(session), organization_id=organization_id, now=now)


@router.post("/events/{event_id}/exports", response_model=ExportView, status_code=202)
def start_export(
    event_id: uuid.UUID,
    body: ExportIn,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> ExportView:
    view = exports.request_export(
        session, actor=caller.require(session), event_id=event_id, kind=body.kind, file_format=body.format, now=now
    )
    if view.status == "queued":
        jobs.submit_export(view.id)
    return view


@router.get("/exports/{export_id}", response_model=ExportView)
def export_progress(
    export_id: uuid.UUID, caller: Caller = Depends(get_caller), session: Session = Depends(get_session)
) -> ExportView:
    return exports.export_status(session, actor=caller.require(session), job_id=export_id)


@router.get("/exports/{export_id}/download", response_class=FileResponse)
def download_export(
    export_id: uuid.UUID,
    request: Request,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
) -> Response:
    """The file, from EXPORT_DIR or streamed from the private bucket, to the event's team only."""
    found = exports.export_file(session, actor=token_or_cookie_user(request, caller, session), job_id=export_id)
    found.stored.content_type = found.media_type
    return stored_file_response(
        found.stored, filename=found.download_name, headers={"Cache-Control": "private, no-store"}
    )
