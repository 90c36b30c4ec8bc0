"""Invoices on SQLite: tax math and rounding, gross vs net prices, numbering, credit notes,
snapshots, the organizer's legal details and their validation."""

import io

import pytest
from pypdf import PdfReader
from sqlmodel import select

from bilten.models import (
    AuditEntry,
    Invoice,
    InvoiceKind,
    InvoiceSequence,
    Membership,
    Order,
    Role,
    TeamRole,
    TicketType,
)
from bilten.notifications.invoice_pdf import invoice_pdf
from bilten.services import invoices, orders
from bilten.services.errors import Forbidden, NotFound, ValidationFailed
from tests.factories import make_event, make_organization, make_user


def link(order_id):
    return orders.order_access_token(order_id)


@pytest.fixture
def shop(session, now):
    organizer = make_user(session, role=Role.ORGANIZER, now=now)
    org = make_organization(session, members=(organizer,), now=now)
    event = make_event(session, organization=org, now=now, prices=(2500, 1190, 0), quantity=50)
    standard, reduced, free = session.exec(
        select(TicketType).where(TicketType.event_id == event.id).order_by(TicketType.position)
    ).all()
    standard.tax_rate_bp, reduced.tax_rate_bp = 1900, 700
    session.add_all([standard, reduced])
    session.commit()
    return {"organizer": organizer, "org": org, "event": event, "standard": standard, "reduced": reduced, "free": free}


def buy(session, now, items, **kwargs):
    placed = orders.place_order(
        session, items=items, email="buyer@example.org", phone="+49 30 1234567", now=now, **kwargs
    )
    if placed.order.total_minor:
        orders.start_payment(session, order_id=placed.order.id, now=now, access_token=link(placed.order.id))
        orders.pay_with_test_provider(
            session, order_id=placed.order.id, succeeded=True, now=now, access_token=link(placed.order.id)
        )
    return session.get(Order, placed.order.id)


def settings(session, shop, now, **changes):
    values = {
        "legal_name": "Konzert GmbH",
        "address": "Hauptstr. 1\n10115 Berlin",
        "vat_id": "DE123456789",
        "prices_include_tax": True,
        "number_prefix": "KG",
        **changes,
    }
    return invoices.update_invoice_settings(
        session, actor=shop["organizer"], organization_id=shop["org"].id, now=now, **values
    )


# -- tax math -------------------------------------------------------------------------------------


def test_net_of_gross_rounds_half_to_even_per_line():
    assert invoices.net_of_gross(11900, 1900) == 10000
    assert invoices.net_of_gross(1000, 1900) == 840  # 840.336...
    # 0.5 exactly: 21 / 1.10 isn't, but 105 at 5 % is 100 exactly and 21 at 5 % is 20; 0.5 ties:
    assert invoices.net_of_gross(25, 2500) == 20  # 20.0
    assert invoices._div_half_even(5, 2) == 2 and invoices._div_half_even(7, 2) == 4  # ties to even
    assert invoices.tax_on_net(250, 1900) == 48  # 47.5 -> 48 (even)
    assert invoices.tax_on_net(350, 1900) == 66  # 66.5 -> 66 (even)
    assert invoices.net_of_gross(0, 1900) == 0 and invoices.net_of_gross(999, 0) == 999


def test_lines_always_add_up_to_what_was_paid():
    line = invoices.invoice_line("Standard", 3, 3 * 1999, 1900)
    assert line["net"] + line["tax"] == line["gross"] == 5997
    assert line["net"] == 5039 and line["tax"] == 958
    totals = invoices.tax_totals([line, invoices.invoice_line("Reduced", 1, 1070, 700), line])
    assert totals == [
        {"tax_rate_bp": 700, "net": 1000, "tax": 70, "gross": 1070},
        {"tax_rate_bp": 1900, "net": 10078, "tax": 1916, "gross": 11994},
    ]


def test_net_prices_charge_tax_on_top_and_the_net_comes_back_exactly():
    for price in range(0, 5000, 7):
        for rate in (0, 700, 1900, 2100, 2250, 10000):
            gross = invoices.charged_unit_price(price, rate, prices_include_tax=False)
            assert invoices.net_of_gross(gross, rate) == price
    assert invoices.charged_unit_price(2500, 1900, prices_include_tax=True) == 2500


@pytest.mark.parametrize(
    ("text", "basis_points"), [("19", 1900), ("7,5", 750), ("0", 0), ("100", 10000), ("", 0), ("5.55 %", 555)]
)
def test_tax_rates_are_read_as_percent(text, basis_points):
    assert invoices.parse_tax_rate(text) == basis_points
    assert invoices.parse_tax_rate(invoices.format_tax_rate(basis_points)) == basis_points


@pytest.mark.parametrize("text", ["-1", "100.01", "7.555", "abc", "NaN", "1e3"])
def test_bad_tax_rates_are_refused_with_a_clear_error(text):
    with pytest.raises(ValidationFailed) as refused:
        invoices.parse_tax_rate(text)
    assert refused.value.key == "error.invoice.tax_rate"


# -- issuing --------------------------------------------------------------------------------------


def test_a_paid_order_gets_a_numbered_invoice_with_tax_lines(session, now, shop):
    settings(session, shop, now)
    order = buy(session, now, [(shop["standard"].id, 2), (shop["reduced"].id, 1)], name="Lina Buyer")
    invoice = session.exec(select(Invoice).where(Invoice.order_id == order.id)).one()
    assert invoice.kind == InvoiceKind.INVOICE and invoice.sequence_number == 1
    assert invoice.number == f"KG-{now.year}-00001"
    assert invoice.gross_minor == order.total_minor == 6190
    assert invoice.net_minor == 4202 + 1112 and invoice.tax_minor == 798 + 78
    assert [(t["tax_rate_bp"], t["net"], t["tax"]) for t in invoice.tax_totals] == [(700, 1112, 78), (1900, 4202, 798)]
    assert invoice.seller == {"name": "Konzert GmbH", "address": "Hauptstr. 1\n10115 Berlin", "vat_id": "DE123456789"}
    assert invoice.buyer["email"] == "buyer@example.org" and invoice.buyer["name"] == "Lina Buyer"
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "invoice.issued")).one()

    second = buy(session, now, [(shop["standard"].id, 1)])
    assert session.exec(select(Invoice).where(Invoice.order_id == second.id)).one().sequence_number == 2


def test_free_orders_get_no_invoice_and_draw_no_number(session, now, shop):
    order = buy(session, now, [(shop["free"].id, 2)])
    assert order.status == "paid"
    assert session.exec(select(Invoice)).all() == []
    assert session.exec(select(InvoiceSequence)).all() == []


def test_an_organization_with_net_prices_charges_tax_on_top(session, now, shop):
    settings(session, shop, now, prices_include_tax=False)
    order = buy(session, now, [(shop["standard"].id, 2)])
    assert order.total_minor == 2 * (2500 + 475)
    invoice = session.exec(select(Invoice).where(Invoice.order_id == order.id)).one()
    assert (invoice.net_minor, invoice.tax_minor, invoice.gross_minor) == (5000, 950, 5950)
    assert invoice.prices_include_tax is False


def test_billing_details_from_checkout_are_on_the_invoice(session, now, shop):
    billing = {"company": "  ACME   AG ", "address": "Via Roma 1\nMilano", "vat_id": "IT01234567890"}
    order = buy(session, now, [(shop["standard"].id, 1)], billing=billing)
    invoice = session.exec(select(Invoice).where(Invoice.order_id == order.id)).one()
    assert invoice.buyer["company"] == "ACME AG" and invoice.buyer["vat_id"] == "IT01234567890"
    with pytest.raises(ValidationFailed) as refused:
        buy(session, now, [(shop["standard"].id, 1)], billing={"iban": "x"})
    assert refused.value.key == "error.invoice.billing_field"
    with pytest.raises(ValidationFailed) as refused:
        buy(session, now, [(shop["standard"].id, 1)], billing={"company": "x" * 201})
    assert refused.value.key == "error.invoice.billing_too_long"


def test_the_invoice_is_a_snapshot_later_edits_do_not_change_it(session, now, shop):
    settings(session, shop, now)
    order = buy(session, now, [(shop["standard"].id, 1)])
    settings(session, shop, now, legal_name="Renamed Ltd", vat_id="")
    ticket_type = session.get(TicketType, shop["standard"].id)
    ticket_type.name, ticket_type.tax_rate_bp = "Changed", 0
    session.add(ticket_type)
    session.commit()
    invoice = session.exec(select(Invoice).where(Invoice.order_id == order.id)).one()
    assert invoice.seller["name"] == "Konzert GmbH" and invoice.lines[0]["description"] == "Type 0"
    assert invoice.lines[0]["tax_rate_bp"] == 1900


def test_a_refund_issues_a_credit_note_that_references_the_invoice(session, now, shop):
    settings(session, shop, now)
    order = buy(session, now, [(shop["standard"].id, 2)])
    orders.cancel_order(session, order_id=order.id, now=now, actor=shop["organizer"])
    invoice, note = session.exec(select(Invoice).order_by(Invoice.sequence_number)).all()
    assert note.kind == InvoiceKind.CREDIT_NOTE and note.refers_to_id == invoice.id
    assert note.number == f"KG-{now.year}-00002"  # one series for invoices and credit notes
    assert (note.net_minor, note.tax_minor, note.gross_minor) == (-invoice.net_minor, -invoice.tax_minor, -5000)
    assert all(line["gross"] < 0 for line in note.lines)
    assert invoices.refers_to_number(session, note) == invoice.number


def test_only_the_buyer_and_the_events_organizers_read_invoices(session, now, shop):
    order = buy(session, now, [(shop["standard"].id, 1)])
    other = buy(session, now, [(shop["standard"].id, 1)])
    found = invoices.order_invoice(session, order_id=order.id, user=None, access_token=link(order.id))
    assert found.order_id == order.id
    assert invoices.order_invoice(session, order_id=order.id, user=shop["organizer"]).id == found.id
    with pytest.raises(NotFound):
        invoices.order_invoice(session, order_id=order.id, user=None, access_token=link(other.id))
    viewer = make_user(session, role=Role.ORGANIZER, now=now)  # reads the event's orders, changes nothing
    session.add(
        Membership(organization_id=shop["org"].id, user_id=viewer.id, team_role=TeamRole.VIEWER, created_at=now)
    )
    session.commit()
    assert invoices.order_invoice(session, order_id=order.id, user=viewer).id == found.id
    rival = make_user(session, role=Role.ORGANIZER, now=now)
    make_organization(session, members=(rival,), now=now)
    with pytest.raises(NotFound):
        invoices.order_invoice(session, order_id=order.id, user=rival)
    with pytest.raises(NotFound):  # no credit note yet
        invoices.order_invoice(session, order_id=order.id, user=None, access_token=link(order.id), kind="credit_note")


def test_the_pdf_is_in_the_buyers_language(session, now, shop):
    settings(session, shop, now)
    order = buy(session, now, [(shop["standard"].id, 2)], locale="de", billing={"company": "Müller KG"})
    invoice = session.exec(select(Invoice).where(Invoice.order_id == order.id)).one()
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(invoice_pdf(invoice))).pages)
    assert "Rechnung" in text and invoice.number in text and "Konzert GmbH" in text and "Müller KG" in text
    assert "USt. 19 % auf 42,02 €: 7,98 €" in text and "Gesamtbetrag: 50,00 €" in text


# -- legal details --------------------------------------------------------------------------------


def test_legal_details_are_checked_and_only_managers_change_them(session, now, shop):
    saved = settings(session, shop, now, vat_id="de 123 456 789", number_prefix="kg26")
    assert saved.vat_id == "DE123456789" and saved.number_prefix == "KG26"
    assert invoices.read_invoice_settings(session, actor=shop["organizer"], organization_id=shop["org"].id) == saved
    for changes, key in (
        ({"number_prefix": "KG-2026"}, "error.invoice.prefix"),
        ({"number_prefix": ""}, "error.invoice.prefix"),
        ({"vat_id": "DE/123"}, "error.invoice.vat_id"),
        ({"legal_name": "x" * 201}, "error.invoice.details_too_long"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            settings(session, shop, now, **changes)
        assert refused.value.key == key
    stranger = make_user(session, role=Role.ORGANIZER, now=now)
    with pytest.raises((Forbidden, NotFound)):
        invoices.update_invoice_settings(
            session,
            actor=stranger,
            organization_id=shop["org"].id,
            legal_name="Mine",
            address="",
            vat_id="",
            prices_include_tax=True,
            number_prefix="X",
            now=now,
        )


def test_a_voucher_discount_is_what_the_invoice_bills(session, now, shop):
    from bilten.models import VoucherKind
    from bilten.services import vouchers
    from bilten.services.vouchers import VoucherFields

    fields = VoucherFields(code="SPRING", kind=VoucherKind.PERCENT, value=20, max_uses=4)
    vouchers.create_voucher(session, actor=shop["organizer"], event_id=shop["event"].id, fields=fields, now=now)
    settings(session, shop, now, prices_include_tax=False)  # net prices: tax on top of the discounted price
    order = buy(session, now, [(shop["standard"].id, 2)], voucher="SPRING")
    assert order.total_minor == 2 * (2000 + 380)
    invoice = session.exec(select(Invoice).where(Invoice.order_id == order.id)).one()
    assert (invoice.net_minor, invoice.tax_minor, invoice.gross_minor) == (4000, 760, 4760)
    assert invoice.lines[0]["unit_net"] == 2000
