"""Organizer reports: an event's orders and figures, an organization's figures, background exports.

Bearer access token (JWT) of a team member who may see the reports (`EVENT_VIEW`,
`ORGANIZATION_VIEW`: owners, managers, viewers; admins). The export download also accepts the
browser's session cookie, so the back office can link to it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from urllib.parse import unquote

from fastapi import Depends, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from bilten import jobs, routes
from bilten.api.deps import Caller, get_caller, get_now, get_session
from bilten.api.errors import error_responses
from bilten.api.files import stored_file_response
from bilten.api.routing import api_router
from bilten.models import User
from bilten.services import event_orders, exports, reports
from bilten.services.accounts import user_for_web_session
from bilten.services.errors import NotAuthenticated

router = api_router(prefix="/api/v1", tags=["organizer reports"], responses=error_responses(401, 403, 404, 422))


class OrderRowOut(BaseModel):
    id: uuid.UUID
    created_at: datetime
    status: str
    buyer_email: str
    buyer_name: str
    tickets: int
    total: int
    currency: str


class OrderPageOut(BaseModel):
    items: list[OrderRowOut]
    total: int
    page: int
    page_size: int
    pages: int


class TypeStatsOut(BaseModel):
    id: uuid.UUID
    name: str
    price: int
    currency: str
    capacity: int
    sold: int
    held: int
    remaining: int
    revenue: int


class GateOut(BaseModel):
    gate: str
    checked_in: int


class BucketOut(BaseModel):
    start: str
    tickets: int
    revenue: dict[str, int]


class EventStatsOut(BaseModel):
    event_id: uuid.UUID
    title: str
    status: str
    capacity: int
    sold: int
    held: int
    remaining: int
    revenue: dict[str, int]
    paid_orders: int
    checked_in: int
    expected: int
    by_gate: list[GateOut]
    ticket_types: list[TypeStatsOut]
    bucket: str
    sales_over_time: list[BucketOut]


class EventSummaryOut(BaseModel):
    event_id: uuid.UUID
    title: str
    status: str
    starts_at: datetime
    capacity: int
    sold: int
    held: int
    remaining: int
    revenue: dict[str, int]
    checked_in: int


class OrganizationStatsOut(BaseModel):
    organization_id: uuid.UUID
    name: str
    capacity: int
    sold: int
    held: int
    remaining: int
    revenue: dict[str, int]
    checked_in: int
    events: list[EventSummaryOut]
    bucket: str
    sales_over_time: list[BucketOut]


class ExportIn(BaseModel):
    kind: str = Field(max_length=20, description="attendees or orders")
    format: str = Field(max_length=10, description="csv or xlsx")


class ExportOut(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    kind: str
    format: str
    status: str
    rows_total: int
    rows_done: int
    percent: int
    created_at: datetime
    finished_at: datetime | None
    download_url: str | None


def _export_out(view: exports.ExportView) -> ExportOut:
    return ExportOut(
        id=view.id,
        event_id=view.event_id,
        kind=view.kind.value,
        format=view.file_format.value,
        status=view.status.value,
        rows_total=view.rows_total,
        rows_done=view.rows_done,
        percent=view.percent,
        created_at=view.created_at,
        finished_at=view.finished_at,
        download_url=f"/api/v1/exports/{view.id}/download" if view.status == "done" else None,
    )


def _buckets(buckets: list[reports.SalesBucket]) -> list[BucketOut]:
    return [BucketOut(start=b.start, tickets=b.tickets, revenue=b.revenue) for b in buckets]


@router.get("/events/{event_id}/orders", response_model=OrderPageOut)
def event_orders_page(
    event_id: uuid.UUID,
    search: str = Query("", max_length=200, description="buyer name or email, order id, ticket code"),
    status: str = Query("", max_length=20),
    page: int = Query(1, ge=1),
    page_size: int = Query(event_orders.DEFAULT_PAGE_SIZE, ge=1, le=event_orders.MAX_PAGE_SIZE),
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
) -> OrderPageOut:
    result = event_orders.list_event_orders(
        session,
        actor=caller.require(session),
        event_id=event_id,
        search=search,
        status=status or None,
        page=page,
        page_size=page_size,
    )
    return OrderPageOut(
        items=[
            OrderRowOut(
                id=row.id,
                created_at=row.created_at,
                status=row.status.value,
                buyer_email=row.buyer_email,
                buyer_name=row.buyer_name,
                tickets=row.ticket_count,
                total=row.total_minor,
                currency=row.currency,
            )
            for row in result.rows
        ],
        total=result.total,
        page=result.page,
        page_size=result.page_size,
        pages=result.pages,
    )


@router.get("/events/{event_id}/stats", response_model=EventStatsOut)
def event_stats(
    event_id: uuid.UUID,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> EventStatsOut:
    stats = reports.event_stats(session, actor=caller.require(session), event_id=event_id, now=now)
    return EventStatsOut(
        event_id=stats.event_id,
        title=stats.title,
        status=stats.status.value,
        capacity=stats.capacity,
        sold=stats.sold,
        held=stats.held,
        remaining=stats.remaining,
        revenue=stats.revenue,
        paid_orders=stats.paid_orders,
        checked_in=stats.checked_in,
        expected=stats.expected,
        by_gate=[GateOut(gate=g.gate, checked_in=g.checked_in) for g in stats.by_gate],
        ticket_types=[
            TypeStatsOut(
                id=t.ticket_type_id,
                name=t.name,
                price=t.price_minor,
                currency=t.currency,
                capacity=t.capacity,
                sold=t.sold,
                held=t.held,
                remaining=t.remaining,
                revenue=t.revenue_minor,
            )
            for t in stats.ticket_types
        ],
        bucket=stats.bucket,
        sales_over_time=_buckets(stats.sales_over_time),
    )


@router.get("/organizations/{organization_id}/stats", response_model=OrganizationStatsOut)
def organization_stats(
    organization_id: uuid.UUID,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> OrganizationStatsOut:
    stats = reports.organization_stats(session, actor=caller.require(session), organization_id=organization_id, now=now)
    return OrganizationStatsOut(
        organization_id=stats.organization_id,
        name=stats.name,
        capacity=stats.capacity,
        sold=stats.sold,
        held=stats.held,
        remaining=stats.remaining,
        revenue=stats.revenue,
        checked_in=stats.checked_in,
        events=[
            EventSummaryOut(
                event_id=row.event_id,
                title=row.title,
                status=row.status.value,
                starts_at=row.starts_at,
                capacity=row.capacity,
                sold=row.sold,
                held=row.held,
                remaining=row.remaining,
                revenue=row.revenue,
                checked_in=row.checked_in,
            )
            for row in stats.events
        ],
        bucket=stats.bucket,
        sales_over_time=_buckets(stats.sales_over_time),
    )


@router.post("/events/{event_id}/exports", response_model=ExportOut, status_code=202)
def start_export(
    event_id: uuid.UUID,
    body: ExportIn,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> ExportOut:
    view = exports.request_export(
        session, actor=caller.require(session), event_id=event_id, kind=body.kind, file_format=body.format, now=now
    )
    if view.status == "queued":
        jobs.submit_export(view.id)
    return _export_out(view)


@router.get("/exports/{export_id}", response_model=ExportOut)
def export_progress(
    export_id: uuid.UUID, caller: Caller = Depends(get_caller), session: Session = Depends(get_session)
) -> ExportOut:
    return _export_out(exports.export_status(session, actor=caller.require(session), job_id=export_id))


@router.get("/exports/{export_id}/download", response_class=FileResponse)
def download_export(
    export_id: uuid.UUID,
    request: Request,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
) -> Response:
    """The file, from EXPORT_DIR or streamed from the private bucket, to the event's team only."""
    found = exports.export_file(session, actor=_token_or_cookie_user(request, caller, session), job_id=export_id)
    found.stored.content_type = found.media_type
    return stored_file_response(
        found.stored, filename=found.download_name, headers={"Cache-Control": "private, no-store"}
    )


def _token_or_cookie_user(request: Request, caller: Caller, session: Session) -> User:
    """A bearer token when given, else the browser's web session (a link in the back office)."""
    if caller.token:
        return caller.require(session)
    cookie = unquote(request.cookies.get(routes.WEB_SESSION_COOKIE, ""))
    user = user_for_web_session(session, token=cookie, now=caller.now)
    if user is None:
        raise NotAuthenticated()
    return user
