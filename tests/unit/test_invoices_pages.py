"""Invoice downloads in the pages' state: the buyer's order page and the back office's order
details (the links lead to GET /api/v1/orders/{id}/invoice.pdf with the order's link token)."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlparse

import pytest
from sqlmodel import select

from bilten.back_office.orders import OfficeOrdersState
from bilten.models import Invoice, InvoiceKind, Role, TicketType
from bilten.services import invoices, orders
from tests.factories import make_event, make_organization, make_user
from tests.unit.test_back_office_state import open_office, run


@pytest.fixture
def sold(session, now):
    organizer = make_user(session, role=Role.ORGANIZER, now=now)
    org = make_organization(session, members=(organizer,), now=now)
    event = make_event(session, organization=org, now=now, prices=(2500,))
    ticket_type = session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    placed = orders.place_order(
        session, items=[(ticket_type.id, 1)], email="fan@example.org", phone="+49 30 1234567", now=now
    )
    orders.start_payment(session, order_id=placed.order.id, now=now, access_token=placed.access_token)
    orders.pay_with_test_provider(
        session, order_id=placed.order.id, succeeded=True, now=now, access_token=placed.access_token
    )
    return {"organizer": organizer, "event": event, "order": placed.order}


def reads(session, url: str, kind: InvoiceKind) -> Invoice:
    """What the endpoint behind the link would answer (the same service call, the link's token)."""
    parsed = urlparse(url)
    order_id = uuid.UUID(parsed.path.split("/")[4])
    query = parse_qs(parsed.query)
    assert parsed.path == f"/api/v1/orders/{order_id}/invoice.pdf"
    return invoices.order_invoice(
        session, order_id=order_id, user=None, access_token=query["token"][0], kind=query.get("kind", ["invoice"])[0]
    )


@pytest.mark.anyio
async def test_the_back_office_offers_the_invoice_then_the_credit_note(fresh_tab, session, now, sold):
    open_office(fresh_tab, session, sold["organizer"], str(sold["event"].id), now, tab="orders")
    orders_tab = await fresh_tab.get_state(OfficeOrdersState)
    await run(orders_tab, "load")
    await run(orders_tab, "open_detail", str(sold["order"].id))
    detail = orders_tab.detail
    invoice = session.exec(select(Invoice)).one()
    assert detail.invoice_label == f"Invoice {invoice.number}" and detail.credit_note_url == ""
    assert reads(session, detail.invoice_url, InvoiceKind.INVOICE).id == invoice.id

    await run(orders_tab, "ask_cancel", str(sold["order"].id))
    await run(orders_tab, "confirm_cancel")
    detail = orders_tab.detail
    note = session.exec(select(Invoice).where(Invoice.kind == InvoiceKind.CREDIT_NOTE)).one()
    assert detail.credit_note_label == f"Credit note {note.number}"
    assert reads(session, detail.credit_note_url, InvoiceKind.CREDIT_NOTE).id == note.id
