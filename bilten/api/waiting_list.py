"""The waiting list over REST: people join a sold-out ticket type's line and follow their place by
their link; organizers read, export and prune the list and set it up (services/waiting_list.py).

    POST   /api/v1/events/{event_id}/waiting-list                 join (201; 409 while on sale)
    GET    /api/v1/events/{event_id}/waiting-list                 the list (organizer)
    GET    /api/v1/events/{event_id}/waiting-list.csv             the list as CSV (organizer)
    DELETE /api/v1/events/{event_id}/waiting-list/{entry_id}      take someone off (organizer)
    GET    /api/v1/events/{event_id}/waiting-list/settings        on/off, offer validity (organizer)
    PUT    /api/v1/events/{event_id}/waiting-list/settings
    GET    /api/v1/waiting-list/{token}                           the person's place and offer
    POST   /api/v1/waiting-list/{token}/order                     buy the offered seat (201)
"""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from bilten import ratelimit
from bilten.api.deps import Caller, get_caller, get_client_address, get_now, get_session, token_or_cookie_user
from bilten.api.errors import error_responses, request_locale
from bilten.api.questions import AnswerIn, answers_in
from bilten.api.routing import api_router
from bilten.models import OrderStatus
from bilten.payments import active_provider
from bilten.services import orders as order_service
from bilten.services import waiting_list
from bilten.services.orders import OrderReceipt
from bilten.services.seat_gate import seat_gate
from bilten.services.waiting_list import WaitingEntryRow, WaitingEntryView, WaitingListConfig

router = api_router(tags=["waiting list"], responses=error_responses(401, 403, 404, 409, 422, 429))


class JoinIn(BaseModel):
    ticket_type_id: uuid.UUID
    email: str = Field(max_length=320)
    name: str = Field(default="", max_length=300)


class ConfigIn(BaseModel):
    enabled: bool
    offer_hours: int = Field(strict=True)


class BuyOfferIn(BaseModel):
    phone: str = Field(default="", max_length=64)
    name: str = Field(default="", max_length=300)
    answers: list[AnswerIn] = Field(default_factory=list, max_length=2000)


async def _join_within_limits(body: JoinIn, address: str = Depends(get_client_address)) -> None:
    await ratelimit.check(ratelimit.WAITING_LIST, address=address, account=f"email:{body.email.strip().lower()}")


@router.post(
    "/api/v1/events/{event_id}/waiting-list",
    status_code=201,
    response_model=WaitingEntryView,
    dependencies=[Depends(_join_within_limits)],
)
def join(
    event_id: uuid.UUID,
    body: JoinIn,
    request: Request,
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> WaitingEntryView:
    return waiting_list.join_waiting_list(
        session,
        event_id=event_id,
        ticket_type_id=body.ticket_type_id,
        email=body.email,
        name=body.name,
        locale=request_locale(request),
        now=now,
    )


@router.get("/api/v1/events/{event_id}/waiting-list", response_model=list[WaitingEntryRow])
def read_list(
    event_id: uuid.UUID, caller: Caller = Depends(get_caller), session: Session = Depends(get_session)
) -> list[WaitingEntryRow]:
    return waiting_list.list_entries(session, actor=caller.require(session), event_id=event_id)


@router.get(
    "/api/v1/events/{event_id}/waiting-list.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_list(
    event_id: uuid.UUID,
    request: Request,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
) -> Response:
    """A bearer token, or the browser's web session (the back office's download link)."""
    actor = token_or_cookie_user(request, caller, session)
    text = waiting_list.export_csv(session, actor=actor, event_id=event_id)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="waiting-list-{event_id.hex[:8]}.csv"',
            "Cache-Control": "private, no-store",
        },
    )


@router.delete("/api/v1/events/{event_id}/waiting-list/{entry_id}", status_code=204, response_class=Response)
def remove(
    event_id: uuid.UUID,
    entry_id: uuid.UUID,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> Response:
    waiting_list.remove_entry(session, actor=caller.require(session), event_id=event_id, entry_id=entry_id, now=now)
    return Response(status_code=204)


@router.get("/api/v1/events/{event_id}/waiting-list/settings", response_model=WaitingListConfig)
def read_settings(
    event_id: uuid.UUID, caller: Caller = Depends(get_caller), session: Session = Depends(get_session)
) -> WaitingListConfig:
    return waiting_list.read_config(session, actor=caller.require(session), event_id=event_id)


@router.put("/api/v1/events/{event_id}/waiting-list/settings", response_model=WaitingListConfig)
def write_settings(
    event_id: uuid.UUID,
    body: ConfigIn,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> WaitingListConfig:
    return waiting_list.update_config(
        session,
        actor=caller.require(session),
        event_id=event_id,
        enabled=body.enabled,
        offer_hours=body.offer_hours,
        now=now,
    )


@router.get("/api/v1/waiting-list/{token}", response_model=WaitingEntryView)
def status(token: str, request: Request, session: Session = Depends(get_session)) -> WaitingEntryView:
    return waiting_list.entry_status(session, token=token, locale=request_locale(request))


@router.post("/api/v1/waiting-list/{token}/order", status_code=201, response_model=OrderReceipt)
def buy(
    token: str,
    body: BuyOfferIn,
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> JSONResponse:
    user = caller.user(session)
    placed = waiting_list.buy_offer(
        session,
        token=token,
        phone=body.phone,
        name=body.name,
        user=user,
        provider=active_provider(),
        answers=answers_in(body.answers),
        now=now,
    )
    order, payment = placed.order, placed.payment
    if order.status == OrderStatus.PENDING and payment is None:
        payment = order_service.start_payment(session, order_id=order.id, now=now, access_token=placed.access_token)
    seat_gate.forget_event(order.event_id)  # nothing freed, but the event's counts moved
    receipt = order_service.order_receipt(
        session, order, now=now, payment=payment, access_token=placed.access_token, placed=placed
    )
    return JSONResponse(
        receipt.model_dump(mode="json", by_alias=True),
        status_code=201,
        headers={"Location": f"/api/v1/orders/{order.id}"},
    )
