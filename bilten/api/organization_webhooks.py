"""`/api/v1/organizations/{id}/webhooks/...`: an organization's outgoing webhook endpoints.

Owners (and platform admins) register, change, switch off, rotate and delete endpoints, read the
delivery log and send a delivery again; the rules live in `bilten.services.webhooks`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from bilten.api.deps import Caller, get_caller, get_now, get_session
from bilten.api.errors import error_responses
from bilten.api.routing import api_router
from bilten.services import webhooks

router = api_router(prefix="/api/v1", tags=["webhooks"], responses=error_responses(401, 403, 404, 422))

EventNames = list[Annotated[str, Field(max_length=80)]]


class EndpointIn(BaseModel):
    url: str = Field(max_length=webhooks.MAX_URL_LENGTH)
    events: EventNames = Field(max_length=len(webhooks.EVENT_TYPES) * 2)


class EndpointUpdateIn(BaseModel):
    url: str | None = Field(default=None, max_length=webhooks.MAX_URL_LENGTH)
    events: EventNames | None = Field(default=None, max_length=len(webhooks.EVENT_TYPES) * 2)
    active: bool | None = None


class EndpointOut(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    url: str
    events: list[str]
    active: bool
    consecutive_failures: int
    disabled_at: datetime | None
    created_at: datetime


class EndpointWithSecretOut(EndpointOut):
    secret: str


class AttemptOut(BaseModel):
    attempted_at: datetime
    succeeded: bool
    status_code: int | None
    duration_ms: int
    error: str
    response_excerpt: str


class DeliveryOut(BaseModel):
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_type: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str
    payload: dict[str, Any]
    log: list[AttemptOut]


def _endpoint_out(row: webhooks.EndpointRow) -> EndpointOut:
    return EndpointOut(
        id=row.id,
        organization_id=row.organization_id,
        url=row.url,
        events=list(row.events),
        active=row.active,
        consecutive_failures=row.consecutive_failures,
        disabled_at=row.disabled_at,
        created_at=row.created_at,
    )


def _with_secret(row: webhooks.EndpointRow) -> EndpointWithSecretOut:
    return EndpointWithSecretOut(**_endpoint_out(row).model_dump(), secret=row.secret or "")


def _delivery_out(row: webhooks.DeliveryRow) -> DeliveryOut:
    return DeliveryOut(
        id=row.id,
        endpoint_id=row.endpoint_id,
        event_type=row.event_type,
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        payload=row.payload,
        log=[AttemptOut(**attempt.__dict__) for attempt in row.log],
    )


@router.post("/organizations/{organization_id}/webhooks", status_code=201, response_model=EndpointWithSecretOut)
def create_webhook(
    organization_id: uuid.UUID,
    body: EndpointIn,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> EndpointWithSecretOut:
    """Register an endpoint for some events; the answer holds its signing secret (shown once)."""
    user = caller.require(session)
    row = webhooks.create_endpoint(
        session, actor=user, organization_id=organization_id, url=body.url, events=body.events, now=now
    )
    return _with_secret(row)


@router.get("/organizations/{organization_id}/webhooks", response_model=list[EndpointOut])
def list_webhooks(
    organization_id: uuid.UUID, caller: Caller = Depends(get_caller), session: Session = Depends(get_session)
) -> list:
    user = caller.require(session)
    return [_endpoint_out(row) for row in webhooks.list_endpoints(session, actor=user, organization_id=organization_id)]


@router.get("/organizations/{organization_id}/webhooks/{endpoint_id}", response_model=EndpointOut)
def get_webhook(
    organization_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
) -> EndpointOut:
    user = caller.require(session)
    row = webhooks.get_endpoint(session, actor=user, organization_id=organization_id, endpoint_id=endpoint_id)
    return _endpoint_out(row)


@router.patch("/organizations/{organization_id}/webhooks/{endpoint_id}", response_model=EndpointOut)
def update_webhook(
    organization_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    body: EndpointUpdateIn,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> EndpointOut:
    """Change `url`, `events` or `active` (switching on again forgets the failures counted)."""
    user = caller.require(session)
    row = webhooks.update_endpoint(
        session,
        actor=user,
        organization_id=organization_id,
        endpoint_id=endpoint_id,
        url=body.url,
        events=body.events,
        active=body.active,
        now=now,
    )
    return _endpoint_out(row)


@router.delete("/organizations/{organization_id}/webhooks/{endpoint_id}", status_code=204)
def delete_webhook(
    organization_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> Response:
    user = caller.require(session)
    webhooks.delete_endpoint(session, actor=user, organization_id=organization_id, endpoint_id=endpoint_id, now=now)
    return Response(status_code=204)


@router.post(
    "/organizations/{organization_id}/webhooks/{endpoint_id}/rotate-secret", response_model=EndpointWithSecretOut
)
def rotate_webhook_secret(
    organization_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> EndpointWithSecretOut:
    user = caller.require(session)
    row = webhooks.rotate_secret(session, actor=user, organization_id=organization_id, endpoint_id=endpoint_id, now=now)
    return _with_secret(row)


@router.get("/organizations/{organization_id}/webhooks/{endpoint_id}/deliveries", response_model=list[DeliveryOut])
def list_webhook_deliveries(
    organization_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    limit: int = Query(webhooks.RECENT_DELIVERIES, ge=1, le=200),
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
) -> list:
    """The most recent deliveries, newest first, each with its log of attempts."""
    user = caller.require(session)
    rows = webhooks.list_deliveries(
        session, actor=user, organization_id=organization_id, endpoint_id=endpoint_id, limit=limit
    )
    return [_delivery_out(row) for row in rows]


@router.post(
    "/organizations/{organization_id}/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryOut,
)
def redeliver_webhook(
    organization_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    delivery_id: uuid.UUID,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> DeliveryOut:
    """Send a delivery again (same id, so receivers can tell it is the same event)."""
    user = caller.require(session)
    row = webhooks.redeliver(
        session,
        actor=user,
        organization_id=organization_id,
        endpoint_id=endpoint_id,
        delivery_id=delivery_id,
        now=now,
    )
    return _delivery_out(row)
