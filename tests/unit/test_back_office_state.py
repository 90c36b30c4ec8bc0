"""The back office's handlers without a browser: the frame's access check, each tab's load, and
the actions going through `service_call` (session, acting user, `now`, a refusal as a toast)."""

from __future__ import annotations

import uuid

import pytest
from reflex.istate.data import RouterData
from sqlmodel import select

import bilten.bilten  # noqa: F401 - registers the route, and so the back office's `event_id` var
from bilten.back_office import BackOfficeState
from bilten.back_office.checkin import OfficeCheckinState
from bilten.back_office.dashboard import OfficeDashboardState
from bilten.back_office.exports import OfficeExportsState
from bilten.back_office.frame.state import section_loader
from bilten.back_office.orders import OfficeOrdersState
from bilten.back_office.staff import OfficeStaffState
from bilten.models import CheckIn, Membership, Role, TeamRole
from bilten.services import accounts
from bilten.state.auth import SESSION_COOKIE, AuthState
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.scanning_helpers import door_with_tickets


async def run(state, handler: str, *args):  # noqa: ANN001, ANN201
    return await type(state).event_handlers[handler].fn(state, *args)


def run_sync(state, handler: str, *args):  # noqa: ANN001, ANN201 - the handlers that are plain functions
    return type(state).event_handlers[handler].fn(state, *args)


def open_office(root, session, user, event_id: str, now, *, tab: str = "") -> None:  # noqa: ANN001
    """As the browser opens /organizer/events/<event_id>[?tab=...], signed in as `user`."""
    headers = {}
    if user is not None:
        _, token = accounts.log_in_web(session, email=user.email, password=DEFAULT_PASSWORD, now=now)
        headers = {"cookie": f"{SESSION_COOKIE}={token}"}
    path = f"/organizer/events/{event_id}"
    root.router = RouterData.from_router_data(
        {
            "headers": headers,
            "pathname": path,
            "asPath": path + (f"?tab={tab}" if tab else ""),
            "query": {"event_id": event_id},
        }
    )


@pytest.fixture
def door(session, now):
    return door_with_tickets(session, now=now, count=3)


@pytest.mark.anyio
async def test_an_organizer_gets_the_figures_the_buttons_and_every_tab(fresh_tab, session, now, door):
    open_office(fresh_tab, session, door.organizer, str(door.event.id), now)
    office = await fresh_tab.get_state(BackOfficeState)
    follow_up = await run(office, "load")
    assert office.loaded and office.ready and office.can_manage and not office.not_found
    assert office.event.title == door.event.title and office.timezone == door.event.timezone
    assert follow_up == [OfficeDashboardState.watch]  # the sales tab loads nothing more
    dashboard = await fresh_tab.get_state(OfficeDashboardState)
    assert dashboard.sales_totals.sold == 3 and dashboard.sales_totals.capacity == 100

    assert run_sync(office, "set_tab", "orders") is OfficeOrdersState.load
    orders = await fresh_tab.get_state(OfficeOrdersState)
    await run(orders, "load")
    (order,) = orders.orders
    assert orders.loaded and order.buyer_email == "fan@example.org" and order.tickets == 3
    await run(orders, "open_detail", order.id)
    assert orders.detail_open and orders.detail.buyer_name == "Dana Fan" and len(orders.detail_tickets) == 3
    await run(orders, "open_detail", "not-an-id")  # ignored, not a crash
    assert orders.detail.id == order.id

    checkin = await fresh_tab.get_state(OfficeCheckinState)
    await run(checkin, "load")
    assert len(checkin.attendees) == 3 and not any(a.checked_in for a in checkin.attendees)
    first = checkin.attendees[0]
    await run(checkin, "check_in", first.ticket_id)
    assert checkin.attendees[0].checked_in
    assert len(session.exec(select(CheckIn)).all()) == 1
    await run(checkin, "undo", checkin.attendees[0].checkin_id)
    assert not checkin.attendees[0].checked_in
    assert await run(checkin, "check_in", str(uuid.uuid4())) is None  # not on this page: nothing happens

    staff = await fresh_tab.get_state(OfficeStaffState)
    await run(staff, "load")
    assert [row.email for row in staff.staff] == [door.staff.email]
    await run(staff, "remove", str(door.staff.id))
    assert staff.staff == []

    exports = await fresh_tab.get_state(OfficeExportsState)
    await run(exports, "load")
    assert exports.loaded and exports.exports == []


@pytest.mark.anyio
async def test_a_viewer_sees_the_figures_but_no_buttons_and_no_staff_tab(fresh_tab, session, now, door):
    viewer = make_user(session, role=Role.ORGANIZER, now=now)
    session.add(
        Membership(
            organization_id=door.event.organization_id, user_id=viewer.id, team_role=TeamRole.VIEWER, created_at=now
        )
    )
    session.commit()
    open_office(fresh_tab, session, viewer, str(door.event.id), now, tab="staff")
    office = await fresh_tab.get_state(BackOfficeState)
    await run(office, "load")
    assert office.ready and not office.can_manage and office.tab == "sales"
    assert run_sync(office, "set_tab", "staff") is None and office.tab == "sales"

    checkin = await fresh_tab.get_state(OfficeCheckinState)
    await run(checkin, "load")
    toast = await run(checkin, "check_in", checkin.attendees[0].ticket_id)
    assert toast is not None  # the service refuses: a translated toast, and nobody got in
    assert session.exec(select(CheckIn)).all() == []


@pytest.mark.anyio
@pytest.mark.parametrize("event_id", ["not-an-id", str(uuid.uuid4())])
async def test_an_unknown_or_malformed_event_is_not_found(fresh_tab, session, now, door, event_id):
    open_office(fresh_tab, session, door.organizer, event_id, now)
    office = await fresh_tab.get_state(BackOfficeState)
    assert await run(office, "load") is None
    assert office.loaded and office.not_found and not office.ready

    orders = await fresh_tab.get_state(OfficeOrdersState)
    assert await run(orders, "load") is not None  # a "not found" toast
    assert orders.loaded and orders.orders == []


@pytest.mark.anyio
async def test_outsiders_are_denied_and_strangers_sent_to_log_in(fresh_tab, session, now, door):
    outsider = make_user(session, role=Role.ORGANIZER, now=now)
    open_office(fresh_tab, session, outsider, str(door.event.id), now)
    office = await fresh_tab.get_state(BackOfficeState)
    await run(office, "load")
    auth = await fresh_tab.get_state(AuthState)
    assert auth.denied and office.loaded and not office.ready and not office.not_found

    stranger_tab = type(fresh_tab)(_reflex_internal_init=True)
    open_office(stranger_tab, session, None, str(door.event.id), now)
    office = await stranger_tab.get_state(BackOfficeState)
    redirect = await run(office, "load")
    assert redirect is not None and not office.ready  # the login redirect, back here afterwards


def test_every_tab_but_sales_has_its_loader():
    assert [section_loader(tab) for tab in ("sales", "orders", "checkin", "staff", "exports")] == [
        None,
        OfficeOrdersState.load,
        OfficeCheckinState.load,
        OfficeStaffState.load,
        OfficeExportsState.load,
    ]


@pytest.mark.anyio
async def test_a_link_to_a_tab_opens_it_and_loads_its_rows(fresh_tab, session, now, door):
    open_office(fresh_tab, session, door.organizer, str(door.event.id), now, tab="orders")
    office = await fresh_tab.get_state(BackOfficeState)
    assert await run(office, "load") == [OfficeOrdersState.load, OfficeDashboardState.watch]
    assert office.tab == "orders"
