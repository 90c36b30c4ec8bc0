"""The two pagings of the long lists, on the states that use them (no database needed)."""

import pytest
from reflex.state import State

from bilten.back_office.checkin import OfficeCheckinState
from bilten.back_office.orders import OfficeOrdersState


def turn(state, handler):  # the pager buttons' handlers are plain functions
    return type(state).event_handlers[handler].fn(state)


@pytest.mark.anyio
async def test_numbered_pages_move_within_their_bounds_and_say_where_they_are():
    root = State(_reflex_internal_init=True)
    orders = await root.get_state(OfficeOrdersState)
    orders.page, orders.pages, orders.total = 1, 3, 60
    assert not orders.has_previous and orders.has_next
    assert turn(orders, "previous_page") is None and orders.page == 1
    assert turn(orders, "next_page") is OfficeOrdersState.load and orders.page == 2
    orders.page = 3
    assert turn(orders, "next_page") is None and orders.page == 3 and orders.has_previous
    assert orders.range_text == "Page 3 of 3 · 60 orders"

    attendees = await root.get_state(OfficeCheckinState)  # the same paging, its own wording
    attendees.page, attendees.pages, attendees.total = 2, 2, 30
    assert attendees.range_text == "Page 2 of 2 · 30 tickets"
    assert turn(attendees, "previous_page") is OfficeCheckinState.load and attendees.page == 1
