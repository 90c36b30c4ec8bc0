"""`/api/v1/events` for organizers (their access token): create and edit events and ticket types,
publish, unpublish, duplicate, cancel, upload the picture; and `/api/media/<name>` serving pictures.

Reading the catalogue stays in `api/events.py` (GET); these routes only add other methods and
sub-paths, so the two routers never answer the same request.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import Depends, File, UploadFile
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from bilten import image_pool, ratelimit
from bilten.api.deps import Caller, get_caller, get_session, rate_limited
from bilten.api.errors import error_responses
from bilten.api.files import stored_file_response
from bilten.api.routing import api_router, on_endpoint_thread
from bilten.models import EventStatus
from bilten.services import event_admin, media
from bilten.services.errors import ImageTooLarge, ValidationFailed
from bilten.services.event_admin import CancellationReport, EditableEvent, TicketTypeRow
from bilten.services.seat_gate import seat_gate

router = api_router(tags=["organizer events"], responses=error_responses(401, 403, 404, 409, 413, 415, 422))
UPLOAD_CHUNK = 1024 * 1024
TRANSLATIONS_HELP = (
    'Texts in other languages: {field: {language: text}}, e.g. {"title": {"de": "...", "fr": "..."}}. '
    "Languages: en, ar, de, es, fr, it. A field named replaces that field's texts (an empty object "
    "removes them); fields not named keep theirs."
)
TranslationsIn = dict[str, dict[str, str | None]]


class EventIn(BaseModel):
    organization_id: uuid.UUID | None = None
    title: str | None = Field(None, max_length=1000)
    description: str | None = Field(None, max_length=100_000)
    venue: str | None = Field(None, max_length=1000)
    venue_address: str | None = Field(None, max_length=1000)
    city: str | None = Field(None, max_length=1000)
    timezone: str | None = Field(None, max_length=100)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    status: str | None = Field(None, max_length=20)
    venue_notes: str | None = Field(None, max_length=10_000)
    main_language: str | None = Field(None, max_length=16, description="the language of title, description, ...")
    allow_ticket_transfer: bool | None = Field(None, description="may ticket holders transfer tickets (default true)")
    translations: TranslationsIn | None = Field(
        None, description=TRANSLATIONS_HELP + " Fields: title, description, venue_notes."
    )


class TicketTypeIn(BaseModel):
    name: str | None = Field(None, max_length=1000)
    description: str | None = Field(None, max_length=10_000)
    price: int | None = Field(None, strict=True, description="in minor units (cents)")
    currency: str | None = Field(None, max_length=10)
    quantity: int | None = Field(None, strict=True)
    min_per_order: int | None = Field(None, strict=True)
    max_per_order: int | None = Field(None, strict=True)
    sales_start: datetime | None = None
    sales_end: datetime | None = None
    hidden: bool | None = None
    tax_rate_bp: int | None = Field(None, strict=True, description="tax rate on invoices in basis points (1900 = 19 %)")
    translations: TranslationsIn | None = Field(None, description=TRANSLATIONS_HELP + " Fields: name, description.")


def _event_fields(body: EventIn) -> event_admin.EventFields:
    given: dict[str, Any] = {}
    text_fields = {"title", "description", "venue", "venue_address", "city", "timezone", "venue_notes"}
    for name in body.model_fields_set & text_fields:
        value = getattr(body, name)
        if value is None and name in ("title", "timezone"):
            raise ValidationFailed("error.request_invalid", field=name)
        given["venue_name" if name == "venue" else name] = value or ""
    for name in body.model_fields_set & {"main_language", "translations", "allow_ticket_transfer"}:
        if getattr(body, name) is None:
            raise ValidationFailed("error.request_invalid", field=name)
        given[name] = getattr(body, name)
    for name in body.model_fields_set & {"starts_at", "ends_at"}:
        if getattr(body, name) is None:
            raise ValidationFailed("error.event_dates_required")
        given[name] = getattr(body, name)
    return event_admin.event_fields_from(given)


def _type_fields(body: TicketTypeIn) -> event_admin.TicketTypeFields:
    names = {"price": "price_minor", "hidden": "is_hidden"}
    given = {}
    for name in body.model_fields_set:
        value = getattr(body, name)
        if value is None and name not in ("sales_start", "sales_end"):
            raise ValidationFailed("error.request_invalid", field=name)
        given[names.get(name, name)] = value
    return event_admin.ticket_type_fields_from(given)


def _status(value: str | None) -> EventStatus | None:
    if value is None:
        return None
    try:
        return EventStatus(value)
    except ValueError as exc:
        raise ValidationFailed("error.event_status_invalid") from exc


@router.post("/api/v1/events", status_code=201, response_model=EditableEvent)
def create_event(
    body: EventIn, session: Session = Depends(get_session), caller: Caller = Depends(get_caller)
) -> EditableEvent:
    """A new event (a draft) in one of the caller's organizations. `status` may only be "draft":
    an event goes on sale through `/publish` once it has ticket types."""
    user = caller.require(session)
    if _status(body.status) not in (None, EventStatus.DRAFT):
        raise ValidationFailed("error.event_needs_ticket_types")
    event = event_admin.create_event(
        session, actor=user, organization_id=body.organization_id, fields=_event_fields(body), now=caller.now
    )
    return event_admin.get_event_for_editing(session, actor=user, event_id=event.id)


@router.get("/api/v1/events/{event_id}/manage", response_model=EditableEvent)
def read_event_for_organizers(
    event_id: uuid.UUID, session: Session = Depends(get_session), caller: Caller = Depends(get_caller)
) -> EditableEvent:
    """The event as its organizers see it: drafts and hidden ticket types included."""
    return event_admin.get_event_for_editing(session, actor=caller.require(session), event_id=event_id)


@router.patch("/api/v1/events/{event_id}", response_model=EditableEvent)
def update_event(
    event_id: uuid.UUID,
    body: EventIn,
    session: Session = Depends(get_session),
    caller: Caller = Depends(get_caller),
) -> EditableEvent:
    """Change some fields; `status` "published"/"draft"/"cancelled" publishes, unpublishes or
    cancels (like the matching POST actions)."""
    user = caller.require(session)
    status = _status(body.status)
    if body.organization_id is not None:
        event_admin.get_event_for_editing(session, actor=user, event_id=event_id)  # who asks, first
        raise ValidationFailed("error.event_organization_fixed")
    fields = _event_fields(body)
    if fields != event_admin.EventFields():
        event_admin.update_event(session, actor=user, event_id=event_id, fields=fields, now=caller.now)
    if status == EventStatus.PUBLISHED:
        event_admin.publish_event(session, actor=user, event_id=event_id, now=caller.now)
    elif status == EventStatus.DRAFT:
        event_admin.unpublish_event(session, actor=user, event_id=event_id, now=caller.now)
    elif status == EventStatus.CANCELLED:
        event_admin.cancel_event(session, actor=user, event_id=event_id, now=caller.now)
    seat_gate.forget_event(event_id)  # what this process remembers as sold out may have changed
    return event_admin.get_event_for_editing(session, actor=user, event_id=event_id)


@router.post("/api/v1/events/{event_id}/publish", response_model=EditableEvent)
def publish_event(
    event_id: uuid.UUID, session: Session = Depends(get_session), caller: Caller = Depends(get_caller)
) -> EditableEvent:
    user = caller.require(session)
    event_admin.publish_event(session, actor=user, event_id=event_id, now=caller.now)
    return event_admin.get_event_for_editing(session, actor=user, event_id=event_id)


@router.post("/api/v1/events/{event_id}/unpublish", response_model=EditableEvent)
def unpublish_event(
    event_id: uuid.UUID, session: Session = Depends(get_session), caller: Caller = Depends(get_caller)
) -> EditableEvent:
    user = caller.require(session)
    event_admin.unpublish_event(session, actor=user, event_id=event_id, now=caller.now)
    seat_gate.forget_event(event_id)  # orders get "not on sale" from now on, not "sold out"
    return event_admin.get_event_for_editing(session, actor=user, event_id=event_id)


@router.post("/api/v1/events/{event_id}/duplicate", status_code=201, response_model=EditableEvent)
def duplicate_event(
    event_id: uuid.UUID, session: Session = Depends(get_session), caller: Caller = Depends(get_caller)
) -> EditableEvent:
    user = caller.require(session)
    copy = event_admin.duplicate_event(session, actor=user, event_id=event_id, now=caller.now)
    return event_admin.get_event_for_editing(session, actor=user, event_id=copy.id)


@router.post("/api/v1/events/{event_id}/cancel", response_model=CancellationReport)
def cancel_event(
    event_id: uuid.UUID, session: Session = Depends(get_session), caller: Caller = Depends(get_caller)
) -> CancellationReport:
    """Cancel the event, refund its paid orders and email its buyers. `failed_orders` lists orders
    whose refund did not go through: call again to retry them."""
    user = caller.require(session)
    report = event_admin.cancel_event(session, actor=user, event_id=event_id, now=caller.now)
    seat_gate.forget_event(event_id)
    return report


@router.post("/api/v1/events/{event_id}/ticket-types", status_code=201, response_model=TicketTypeRow)
def create_ticket_type(
    event_id: uuid.UUID,
    body: TicketTypeIn,
    session: Session = Depends(get_session),
    caller: Caller = Depends(get_caller),
) -> TicketTypeRow:
    user = caller.require(session)
    return event_admin.create_ticket_type(
        session, actor=user, event_id=event_id, fields=_type_fields(body), now=caller.now
    )


@router.patch("/api/v1/events/{event_id}/ticket-types/{type_id}", response_model=TicketTypeRow)
def update_ticket_type(
    event_id: uuid.UUID,
    type_id: uuid.UUID,
    body: TicketTypeIn,
    session: Session = Depends(get_session),
    caller: Caller = Depends(get_caller),
) -> TicketTypeRow:
    user = caller.require(session)
    ticket_type = event_admin.update_ticket_type(
        session, actor=user, event_id=event_id, ticket_type_id=type_id, fields=_type_fields(body), now=caller.now
    )
    seat_gate.forget_event(event_id)  # more seats, other limits: the database answers the next order
    return ticket_type


@router.post(
    "/api/v1/events/{event_id}/image", response_model=EditableEvent, dependencies=[rate_limited(ratelimit.UPLOAD)]
)
async def upload_image(
    event_id: uuid.UUID,
    file: UploadFile = File(..., description="JPEG, PNG or WebP"),
    session: Session = Depends(get_session),
    caller: Caller = Depends(get_caller),
) -> EditableEvent:
    """Async: the picture is decoded in the image pool (bilten/image_pool.py) while this request
    holds no worker thread and no database connection; only the two database steps take them."""

    def allowed() -> uuid.UUID:
        user = caller.require(session)
        return event_admin.check_event_image_allowed(session, actor=user, event_id=event_id).id

    user_id = await on_endpoint_thread(allowed, session=session)
    await ratelimit.check(ratelimit.UPLOAD, address=None, account=user_id)
    name = await image_pool.store_image(await _read_limited(file, media.max_upload_bytes()))

    def record() -> EditableEvent:
        user = caller.require(session)
        event_admin.set_event_image(session, actor=user, event_id=event_id, name=name, now=caller.now)
        return event_admin.get_event_for_editing(session, actor=user, event_id=event_id)

    return await on_endpoint_thread(record, session=session)


async def _read_limited(file: UploadFile, limit: int) -> bytes:
    """The upload's bytes, refused as soon as it passes the limit (never more is kept in memory)."""
    chunks, size = [], 0
    while chunk := await file.read(UPLOAD_CHUNK):
        size += len(chunk)
        if size > limit:
            raise ImageTooLarge(max_mb=round(limit / (1024 * 1024), 1))
        chunks.append(chunk)
    return b"".join(chunks)


@router.get("/api/media/{name}", response_class=FileResponse, include_in_schema=False)
def media_file(name: str) -> Response:
    """An event picture, from MEDIA_DIR or the shared bucket. Names are random and files never
    change: cached for a year (by browsers and any CDN in front)."""
    return stored_file_response(
        media.open_picture(name),
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
