"""Invoice downloads in the pages' state: the buyer's order page and the back office's order
details (the links lead to GET /api/v1/orders/{id}/invoice.pdf with the order's link token)."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlparse

import pytest
from reflex.istate.data import RouterData
from sqlmodel import select

from bilten.back_office.orders import OfficeOrdersState
from bilten.i18n import translate
from bilten.models import Invoice, InvoiceKind, Role, TicketType
from bilten.services import accounts, invoices, orders
from bilten.state.auth import SESSION_COOKIE
from bilten.state.order import OrderState
from tests.factories import DEFAULT_PASSWORD, make_event, make_organization, make_user
from tests.unit.test_back_office_state import open_office
from tests.unit.test_event_translations_state import run


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


@pytest.mark.anyio
async def test_the_buyers_order_page_offers_the_credit_note_once_the_order_is_refunded(fresh_tab, session, now, sold):
    order = sold["order"]
    path = f"/orders/{order.id}"
    token = orders.order_access_token(order.id)
    fresh_tab.router = RouterData.from_router_data(
        {"headers": {}, "pathname": path, "asPath": f"{path}?token={token}", "query": {"order_id": str(order.id)}}
    )
    page = await fresh_tab.get_state(OrderState)
    await run(page, "load")
    invoice = session.exec(select(Invoice)).one()
    assert page.summary.phase == "paid" and page.summary.credit_note_url == ""  # none yet
    assert reads(session, page.summary.invoice_url, InvoiceKind.INVOICE).id == invoice.id

    orders.cancel_order(session, order_id=order.id, now=now, actor=sold["organizer"])
    await run(page, "load")
    note = session.exec(select(Invoice).where(Invoice.kind == InvoiceKind.CREDIT_NOTE)).one()
    assert page.summary.phase == "refunded"
    assert reads(session, page.summary.invoice_url, InvoiceKind.INVOICE).id == invoice.id  # both, side by side
    assert reads(session, page.summary.credit_note_url, InvoiceKind.CREDIT_NOTE).id == note.id


@pytest.mark.anyio
async def test_an_owner_enters_the_legal_details_on_the_team_page(fresh_tab, session, now, sold):
    from bilten.state.invoice_settings import InvoiceSettingsState
    from tests.unit.test_event_translations_state import open_page

    organizer = sold["organizer"]
    org_id = str(sold["event"].organization_id)
    _, token = accounts.log_in_web(session, email=organizer.email, password=DEFAULT_PASSWORD, now=now)
    path = f"/organizer/organizations/{org_id}/team"
    open_page(fresh_tab, path, cookie=f"{SESSION_COOKIE}={token}", organization_id=org_id)
    state = await fresh_tab.get_state(InvoiceSettingsState)
    await run(state, "load")
    assert state.loaded and state.form.number_prefix == "INV" and state.form.prices_include_tax

    form = {
        "legal_name": "Konzert GmbH",
        "address": "Ring 1",
        "vat_id": "de 1234",
        "number_prefix": "kg",
        "prices": "net",
    }
    await run(state, "save", {**form, "number_prefix": "K-G"})
    assert state.error == translate("error.invoice.prefix", "en")
    await run(state, "save", form)
    assert state.error == "" and state.form.vat_id == "DE1234" and not state.form.prices_include_tax
    saved = invoices.settings_of(session, sold["event"].organization_id)
    assert (saved.legal_name, saved.number_prefix, saved.prices_include_tax) == ("Konzert GmbH", "KG", False)

    stranger = make_user(session, role=Role.ORGANIZER, now=now)
    _, token = accounts.log_in_web(session, email=stranger.email, password=DEFAULT_PASSWORD, now=now)
    open_page(fresh_tab, path, cookie=f"{SESSION_COOKIE}={token}", organization_id=org_id)
    await run(state, "load")
    assert not state.loaded
    await run(state, "save", {**form, "legal_name": "Stolen"})
    assert invoices.settings_of(session, sold["event"].organization_id).legal_name == "Konzert GmbH"


@pytest.mark.anyio
async def test_the_event_editor_reads_and_saves_the_tax_rate(fresh_tab, session, now, sold):
    from bilten.state.event_editor import EventEditorState
    from tests.unit.test_event_translations_state import open_page

    event = sold["event"]
    _, token = accounts.log_in_web(session, email=sold["organizer"].email, password=DEFAULT_PASSWORD, now=now)
    open_page(
        fresh_tab, f"/organizer/events/{event.id}/edit", cookie=f"{SESSION_COOKIE}={token}", event_id=str(event.id)
    )
    editor = await fresh_tab.get_state(EventEditorState)
    await run(editor, "load_edit")
    ticket_type = session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    await run(editor, "edit_type", str(ticket_type.id))
    assert editor.type_form.tax_rate == "0"
    form = {
        "name": "Standard",
        "price": "25",
        "currency": "EUR",
        "quantity": "100",
        "min_per_order": "1",
        "max_per_order": "10",
        "tax_rate": "7,5",
    }
    await run(editor, "save_type", {**form, "tax_rate": "120"})
    assert editor.type_error == translate("error.invoice.tax_rate", "en")
    await run(editor, "save_type", form)
    assert editor.type_error == ""
    session.expire_all()
    assert session.get(TicketType, ticket_type.id).tax_rate_bp == 750
    await run(editor, "edit_type", str(ticket_type.id))
    assert editor.type_form.tax_rate == "7.5"
