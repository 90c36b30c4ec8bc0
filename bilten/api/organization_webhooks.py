"""`/api/v1/organizations/{id}/webhooks/...`: an organization's outgoing webhook endpoints.

Owners (and platform admins) register, change, switch off, rotate and delete endpoints, read the
delivery log and send a delivery again; the rules live in `bilten.services.webhooks`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

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


@router.post("/organizations/{organization_id}/webhooks", status_code=201, response_model=webhooks.EndpointWithSecret)
def create_webhook(
    organization_id: uuid.UUID,
    body: EndpointIn,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> webhooks.EndpointWithSecret:
    """Register an endpoint for some events; the answer holds its signing secret (shown once)."""
    user = caller.require(session)
    row = webhooks.create_endpoint(
        session, actor=user, organization_id=organization_id, url=body.url, events=body.events, now=now
    )
    return row


@router.get("/organizations/{organization_id}/webhooks", response_model=list[webhooks.EndpointRow])
def list_webhooks(
    organization_id: uuid.UUID, caller: Caller = Depends(get_caller), session: Session = Depends(get_session)
) -> list:
    user = caller.require(session)
    return webhooks.list_endpoints(session, actor=user, organization_id=organization_id)


@router.get("/organizations/{organization_id}/webhooks/{endpoint_id}", response_model=webhooks.EndpointRow)
def get_webhook(
    organization_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
) -> webhooks.EndpointRow:
    user = caller.require(session)
    row = webhooks.get_endpoint(session, actor=user, organization_id=organization_id, endpoint_id=endpoint_id)
    return row


@router.patch("/organizations/{organization_id}/webhooks/{endpoint_id}", response_model=webhooks.EndpointRow)
def update_webhook(
    organization_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    body: EndpointUpdateIn,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> webhooks.EndpointRow:
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
    return row


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
    "/organizations/{organization_id}/webhooks/{endpoint_id}/rotate-secret", response_model=webhooks.EndpointWithSecret
)
def rotate_webhook_secret(
    organization_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> webhooks.EndpointWithSecret:
    user = caller.require(session)
    row = webhooks.rotate_secret(session, actor=user, organization_id=organization_id, endpoint_id=endpoint_id, now=now)
    return row


@router.get(
    "/organizations/{organization_id}/webhooks/{endpoint_id}/deliveries", response_model=list[webhooks.DeliveryRow]
)
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
    return rows


@router.post(
    "/organizations/{organization_id}/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=webhooks.DeliveryRow,
)
def redeliver_webhook(
    organization_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    delivery_id: uuid.UUID,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> webhooks.DeliveryRow:
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
    return row
