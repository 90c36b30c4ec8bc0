"""The transfer dialog's handlers, shared by the order page, My tickets and the holder's page
(state/transfer.py), without a browser: each page hands a ticket on and shows it again as it is now;
a refusal stays in the dialog."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from reflex.istate.data import RouterData
from sqlmodel import select

import bilten.bilten  # noqa: F401 - registers the routes, and so the pages' route vars
from bilten.models import Order, Ticket
from bilten.services import accounts, ticket_transfer
from bilten.state.auth import SESSION_COOKIE
from bilten.state.held_ticket import HeldTicketState
from bilten.state.my_tickets import MyTicketsState
from bilten.state.order import OrderState
from bilten.state.transfer import TicketTransferState
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.scanning_helpers import door_with_tickets, link


def open_page(root, path: str, *, cookie: str = "", token: str = "", **params: str) -> None:  # noqa: ANN001
    """The tab as the browser opens `path` (?token= the signed link; params: the route's arguments)."""
    headers = {"accept-language": "en", **({"cookie": cookie} if cookie else {})}
    query = {**params, **({"token": token} if token else {})}
    as_path = f"{path}?{urlencode({'token': token})}" if token else path
    root.router = RouterData.from_router_data({"headers": headers, "pathname": path, "asPath": as_path, "query": query})


async def run(state, handler: str, *args):  # noqa: ANN001, ANN201
    result = type(state).event_handlers[handler].fn(state, *args)
    return await result if hasattr(result, "__await__") else result


def received(session, old_id) -> Ticket:  # noqa: ANN001
    return session.exec(select(Ticket).where(Ticket.replaces_ticket_id == old_id)).one()


def test_the_three_pages_share_one_transfer_dialog_state():
    for state_cls in (OrderState, MyTicketsState, HeldTicketState):
        assert issubclass(state_cls, TicketTransferState)
        for name in ("open_transfer", "transfer_dialog_changed", "transfer"):
            handler = state_cls.event_handlers[name].fn
            assert handler.__module__ == "bilten.state.transfer", f"{state_cls.__name__} defines {name} again"


@pytest.mark.anyio
async def test_the_buyer_hands_a_ticket_on_from_the_order_page_and_the_holder_hands_it_on_again(
    fresh_tab, session, now
):
    door = door_with_tickets(session, now=now, count=2)
    old = door.tickets[0]
    order_id = str(old.order_id)
    open_page(fresh_tab, f"/orders/{order_id}", order_id=order_id, token=link(old.order_id))
    page = await fresh_tab.get_state(OrderState)
    await run(page, "load")
    await run(page, "open_transfer", str(old.id))
    assert page.transfer_open_id == str(old.id)

    await run(page, "transfer", {"ticket_id": str(old.id), "email": "fan@example.org", "name": "Same"})
    assert page.transfer_error and page.transfer_open_id == str(old.id)  # refused: the dialog stays open
    await run(page, "transfer", {"ticket_id": str(old.id), "email": "kim@example.net", "name": "Kim Friend"})
    assert page.transfer_error == "" and page.transfer_open_id == ""
    shown = {t.id: t.status_label for t in page.tickets}  # read again in the transfer's session
    assert shown == {str(old.id): "Transferred", str(door.tickets[1].id): "Valid"}

    new = received(session, old.id)
    held_path = f"/held-tickets/{new.transfer_id}"
    open_page(
        fresh_tab, held_path, transfer_id=str(new.transfer_id), token=ticket_transfer.holder_token(new.transfer_id)
    )
    holder = await fresh_tab.get_state(HeldTicketState)
    await run(holder, "load")
    assert holder.ticket.valid and holder.ticket.qr.startswith("data:image/png")
    await run(holder, "transfer", {"ticket_id": str(new.id), "email": "lou@example.net", "name": "Lou Next"})
    assert holder.transfer_error == ""
    assert not holder.ticket.valid and holder.ticket.qr == ""  # this link now shows it handed on


@pytest.mark.anyio
async def test_a_signed_in_buyer_hands_a_ticket_on_from_my_tickets(fresh_tab, session, now):
    buyer = make_user(session, now=now)
    door = door_with_tickets(session, now=now, count=1)
    (old,) = door.tickets
    order = session.get_one(Order, old.order_id)
    order.user_id = buyer.id  # bought while signed in
    session.add(order)
    session.commit()
    _, token = accounts.log_in_web(session, email=buyer.email, password=DEFAULT_PASSWORD, now=now)
    open_page(fresh_tab, "/my-tickets", cookie=f"{SESSION_COOKIE}={token}")
    page = await fresh_tab.get_state(MyTicketsState)
    await run(page, "load")
    assert [t.valid for t in page.orders[0].tickets] == [True]

    await run(page, "transfer", {"ticket_id": str(old.id), "email": "kim@example.net", "name": "Kim Friend"})
    assert page.transfer_error == ""
    assert [t.status_label for t in page.orders[0].tickets] == ["Transferred"]
    assert page._qr == {}  # drawn again: the handed-on ticket no longer gets in
