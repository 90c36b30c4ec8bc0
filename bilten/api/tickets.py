"""`/api/v1/tickets/...` and `/api/v1/me/orders`: the buyer's tickets."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import Depends, Request
from pydantic import BaseModel, Field
from sqlmodel import Session

from bilten import ratelimit
from bilten.api.deps import Caller, get_caller, get_client_address, get_now, get_order_link, get_session
from bilten.api.errors import error_responses
from bilten.api.routing import api_router
from bilten.i18n import normalize_locale
from bilten.services import ticket_transfer, tickets
from bilten.services.tickets import OrderView, TicketView

router = api_router(prefix="/api/v1", tags=["tickets"], responses=error_responses(401, 403, 404, 409, 422))


class HolderIn(BaseModel):
    holder_name: str = Field(max_length=1000)


@router.put("/tickets/{ticket_id}/holder", response_model=TicketView)
def set_holder(
    ticket_id: uuid.UUID,
    body: HolderIn,
    link: str = Depends(get_order_link),
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> TicketView:
    user = caller.user(session)
    return tickets.set_ticket_holder(
        session,
        ticket_id=ticket_id,
        holder_name=body.holder_name,
        now=now,
        user=user,
        access_token=link,
    )


@router.post("/tickets/{ticket_id}/reissue", response_model=TicketView)
def reissue(
    ticket_id: uuid.UUID,
    link: str = Depends(get_order_link),
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> TicketView:
    user = caller.user(session)
    return tickets.reissue_ticket(session, ticket_id=ticket_id, now=now, user=user, access_token=link)


class TransferIn(BaseModel):
    email: str = Field(max_length=1000, description="the new holder's email address")
    name: str = Field(max_length=1000, description="the new holder's name (at most 200 characters)")


async def _transfer_within_limits(body: TransferIn, address: str = Depends(get_client_address)) -> None:
    await ratelimit.check(ratelimit.TRANSFER, address=address, account=body.email.strip().lower())


@router.post(
    "/tickets/{ticket_id}/transfer",
    response_model=ticket_transfer.TransferResult,
    dependencies=[Depends(_transfer_within_limits)],
    responses=error_responses(429),
)
def transfer(
    ticket_id: uuid.UUID,
    body: TransferIn,
    request: Request,
    link: str = Depends(get_order_link),
    caller: Caller = Depends(get_caller),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> ticket_transfer.TransferResult:
    """Hand a ticket to someone else (order link, account, or the holder's own link after an earlier
    transfer): the old code is revoked at once; the new holder gets a new code by email."""
    user = caller.user(session)
    result = ticket_transfer.transfer_ticket(
        session,
        ticket_id=ticket_id,
        email=body.email,
        name=body.name,
        now=now,
        user=user,
        access_token=link,
        locale=normalize_locale(request.headers.get("accept-language"), ""),
    )
    return result


@router.get("/held-tickets/{transfer_id}", response_model=ticket_transfer.HeldTicketView)
def held_ticket(
    transfer_id: uuid.UUID,
    link: str = Depends(get_order_link),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> ticket_transfer.HeldTicketView:
    """A ticket received by transfer, for its holder's link (`token`): its code while it is valid."""
    return ticket_transfer.held_ticket(session, transfer_id=transfer_id, access_token=link, now=now)


@router.get("/me/orders", response_model=list[OrderView])
def my_orders(
    request: Request, caller: Caller = Depends(get_caller), session: Session = Depends(get_session)
) -> list[OrderView]:
    """The caller's orders; the event's title and ticket types in Accept-Language's language where
    the organizer gave one, else in the event's main language."""
    user = caller.require(session)
    reader = normalize_locale(request.headers.get("accept-language"), "")
    return [
        tickets.in_language(view, reader or view.event_main_language) for view in tickets.my_orders(session, user=user)
    ]
