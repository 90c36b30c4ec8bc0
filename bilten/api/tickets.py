"""`/api/v1/tickets/...` and `/api/v1/me/orders`: the buyer's tickets."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import Depends, Request
from pydantic import BaseModel, Field
from sqlmodel import Session

from bilten.api.deps import Caller, get_caller, get_now, get_order_link, get_session
from bilten.api.errors import error_responses
from bilten.api.routing import api_router
from bilten.i18n import normalize_locale
from bilten.services import tickets
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
