"""The event page's voucher field without a browser: a link's code prices the tickets and shows the
hidden types it unlocks, the order carries it, and wrong codes run into the per-address limit."""

from __future__ import annotations

import pytest
from reflex.istate.data import RouterData
from sqlmodel import select

import bilten.bilten  # noqa: F401 - registers the routes, and so the pages' `event_id` vars
from bilten.i18n import translate
from bilten.models import Order, TicketType, Voucher, VoucherKind
from bilten.services.errors import RateLimited
from bilten.state.event import EventState
from tests.factories import make_event, make_organization
from tests.ratelimit_support import rate_limits_on


async def run(state, handler: str, *args):  # noqa: ANN001, ANN201
    """Run a handler as Reflex would, through every step of a generator."""
    result = type(state).event_handlers[handler].fn(state, *args)
    if hasattr(result, "__aiter__"):
        return [step async for step in result]
    return await result if hasattr(result, "__await__") else result


def open_page(root, event, address: str = "127.0.0.5", **query: str) -> None:  # noqa: ANN001
    path = f"/events/{event.id}"
    as_path = path + "".join(f"?{name}={value}" for name, value in query.items())
    root.router = RouterData.from_router_data(
        {"headers": {}, "pathname": path, "asPath": as_path, "query": {"event_id": str(event.id)}, "ip": address}
    )


@pytest.fixture
def shop(session, now):
    event = make_event(session, organization=make_organization(session, now=now), now=now, prices=(2500, 6000))
    standard, backstage = session.exec(
        select(TicketType).where(TicketType.event_id == event.id).order_by(TicketType.position)
    ).all()
    backstage.is_hidden = True
    backstage.name = "Backstage"
    session.add_all(
        [
            backstage,
            Voucher(event_id=event.id, code="HALF", kind=VoucherKind.PERCENT, value=50, max_uses=3, created_at=now),
            Voucher(
                event_id=event.id,
                code="CREW",
                kind=VoucherKind.PRICE,
                value=1000,
                max_uses=1,
                unlocks_hidden=True,
                ticket_type_ids=[str(backstage.id)],
                created_at=now,
            ),
        ]
    )
    session.commit()
    return {"event": event, "standard": standard, "backstage": backstage}


@pytest.mark.anyio
async def test_a_links_code_prices_the_tickets_and_the_order_carries_it(fresh_tab, session, shop):
    open_page(fresh_tab, shop["event"], voucher="half")
    page = await fresh_tab.get_state(EventState)
    follow_up = await run(page, "load")
    assert follow_up is not None and follow_up.fn is EventState.apply_link_voucher.fn  # chained after the load
    await run(page, "apply_link_voucher")
    assert page.voucher_applied == "HALF" and page.voucher_error == ""
    (standard,) = page.ticket_types
    assert (standard.price, standard.full_price) == ("€12.50", "€25.00")
    await run(page, "add_ticket", str(shop["standard"].id))
    await run(page, "add_ticket", str(shop["standard"].id))
    assert page.total == "€25.00"
    assert page.voucher_note == translate("voucher.applied_saving", "en", code="HALF", amount="€25.00")

    steps = await run(page, "reserve", {"email": "kim@example.org", "phone": "+49 30 1234567", "name": "Kim"})
    assert steps and page.checkout_error == ""
    order = session.exec(select(Order)).one()
    assert (order.total_minor, order.discount_minor) == (2500, 2500)


@pytest.mark.anyio
async def test_a_code_shows_the_hidden_types_it_unlocks_and_removing_it_hides_them(fresh_tab, shop):
    open_page(fresh_tab, shop["event"])
    page = await fresh_tab.get_state(EventState)
    await run(page, "load")
    assert [t.name for t in page.ticket_types] == ["Type 0"]
    await run(page, "apply_voucher", {"voucher": " crew "})
    assert [(t.name, t.price, t.full_price) for t in page.ticket_types] == [
        ("Type 0", "€25.00", ""),
        ("Backstage", "€10.00", "€60.00"),
    ]
    await run(page, "add_ticket", str(shop["backstage"].id))
    assert page.total == "€10.00"
    await run(page, "remove_voucher")
    assert [t.name for t in page.ticket_types] == ["Type 0"] and page.quantities == {}


@pytest.mark.anyio
async def test_wrong_codes_get_their_message_then_the_address_waits(fresh_tab, shop):
    with rate_limits_on(RATE_LIMIT_VOUCHER="3/minute"):
        open_page(fresh_tab, shop["event"], address="127.0.0.77")
        page = await fresh_tab.get_state(EventState)
        await run(page, "load")
        for guess in ("AAAA", "BBBB", "CCCC"):
            await run(page, "apply_voucher", {"voucher": guess})
            assert page.voucher_error == translate("error.voucher_invalid", "en") and page.voucher_applied == ""
        await run(page, "apply_voucher", {"voucher": "HALF"})  # even a right code waits now
        assert page.voucher_error.startswith(translate(RateLimited(60).key, "en", seconds=60).split("60")[0])
        assert page.voucher_applied == ""

        open_page(fresh_tab, shop["event"], address="127.0.0.78")  # another address is not held up
        await run(page, "apply_voucher", {"voucher": "HALF"})
        assert page.voucher_applied == "HALF" and page.voucher_error == ""
