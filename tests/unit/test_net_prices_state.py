"""The event page of an organization with net prices: the ticket rows, the total and the tax note show
what placing the order charges, with and without a voucher."""

from __future__ import annotations

import pytest
from sqlmodel import select

import bilten.bilten  # noqa: F401 - registers the routes, and so the pages' `event_id` vars
from bilten.i18n import translate
from bilten.models import InvoiceSettings, Order, TicketType, Voucher, VoucherKind
from bilten.services.events import get_public_event
from bilten.state.event import EventState
from tests.factories import make_event, make_organization
from tests.unit.test_voucher_page_state import open_page, run

BUYER = {"email": "kim@example.org", "phone": "+49 30 1234567", "name": "Kim"}


def make_shop(session, now, *, net: bool):  # noqa: ANN001, ANN201
    org = make_organization(session, now=now)
    session.add(InvoiceSettings(organization_id=org.id, prices_include_tax=not net))
    event = make_event(session, organization=org, now=now, prices=(1000,))
    ticket_type = session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    ticket_type.tax_rate_bp = 1900
    session.add_all(
        [
            ticket_type,
            Voucher(event_id=event.id, code="SALE", kind=VoucherKind.PERCENT, value=15, max_uses=5, created_at=now),
            Voucher(event_id=event.id, code="FIVE", kind=VoucherKind.PRICE, value=500, max_uses=5, created_at=now),
        ]
    )
    session.commit()
    return event, ticket_type


@pytest.mark.anyio
@pytest.mark.parametrize(("net", "shown"), [(True, "€11.90"), (False, "€10.00")])
async def test_the_page_shows_what_the_order_charges(fresh_tab, session, now, net, shown):
    event, ticket_type = make_shop(session, now, net=net)
    detail = get_public_event(session, event_id=event.id)
    assert detail.model_dump(mode="json", by_alias=True)["ticket_types"][0]["price"] == (1190 if net else 1000)
    open_page(fresh_tab, event)
    page = await fresh_tab.get_state(EventState)
    await run(page, "load")
    (row,) = page.ticket_types
    assert (row.price, row.full_price) == (shown, "")
    assert row.tax_note == translate("event.tax_included", "en", rate="19") == "incl. 19% VAT"
    assert page.event.price.endswith(shown)
    await run(page, "add_ticket", str(ticket_type.id))
    assert page.total == shown

    steps = await run(page, "reserve", BUYER)
    assert steps and page.checkout_error == ""
    assert session.exec(select(Order)).one().total_minor == (1190 if net else 1000)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("code", "unit", "total"),
    # 15 % off the net 10.00: 8.50 + 19 % = 10.115 -> 10.12 (half to even, as invoices round); a
    # fixed net price of 5.00: 5.95
    [("SALE", "€10.12", 3036), ("FIVE", "€5.95", 1785)],
)
async def test_with_a_voucher_the_shown_total_is_the_charged_total(fresh_tab, session, now, code, unit, total):
    event, ticket_type = make_shop(session, now, net=True)
    open_page(fresh_tab, event, voucher=code)
    page = await fresh_tab.get_state(EventState)
    await run(page, "load")
    await run(page, "apply_link_voucher")
    (row,) = page.ticket_types
    assert (row.price, row.full_price) == (unit, "€11.90")
    for _ in range(3):
        await run(page, "add_ticket", str(ticket_type.id))
    shown = page.total
    assert shown == f"€{total / 100:.2f}"
    saving = f"€{(3 * 1190 - total) / 100:.2f}"
    assert page.voucher_note == translate("voucher.applied_saving", "en", code=code, amount=saving)
    await run(page, "reserve", BUYER)
    assert page.checkout_error == ""
    placed = session.exec(select(Order)).one()
    assert f"€{placed.total_minor / 100:.2f}" == shown
    assert placed.discount_minor == 3 * 1190 - total
