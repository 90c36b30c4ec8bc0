"""Invoices on PostgreSQL: payments racing for the next number, a failed payment returning its
number, and `GET /api/v1/orders/{id}/invoice.pdf` as buyers, strangers and organizers use it."""

import io
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from pypdf import PdfReader
from sqlalchemy.pool import QueuePool
from sqlmodel import Session, select

from bilten.db import make_engine
from bilten.i18n import translate
from bilten.models import Invoice, InvoiceKind, Order, OrderStatus, Role, TicketType
from bilten.services import invoices, orders
from bilten.services.errors import TryAgain
from tests.factories import DEFAULT_PASSWORD, make_event, make_organization, make_user

PAYERS = 20


def pdf_text(content: bytes) -> str:
    """The PDF's text as poppler's pdftotext reads it (pypdf where poppler is not installed)."""
    try:
        return subprocess.run(["pdftotext", "-", "-"], input=content, capture_output=True, check=True).stdout.decode()
    except FileNotFoundError:
        return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
def shop(pg_session, clock):
    organizer = make_user(pg_session, role=Role.ORGANIZER, now=clock.now)
    org = make_organization(pg_session, members=(organizer,), now=clock.now)
    event = make_event(pg_session, organization=org, now=clock.now, prices=(2500,), quantity=100)
    ticket_type = pg_session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    ticket_type.tax_rate_bp = 1900
    pg_session.add(ticket_type)
    pg_session.commit()
    invoices.update_invoice_settings(
        pg_session,
        actor=organizer,
        organization_id=org.id,
        legal_name="Konzert GmbH",
        address="Hauptstr. 1\n10115 Berlin",
        vat_id="DE123456789",
        prices_include_tax=True,
        number_prefix="KG",
        now=clock.now,
    )
    return {"organizer": organizer, "org": org, "event": event, "type": ticket_type}


def pending_order(session, shop, now, n=0):
    placed = orders.place_order(
        session, items=[(shop["type"].id, 1)], email=f"buyer{n}@example.org", phone="+49 30 1234567", now=now
    )
    orders.start_payment(session, order_id=placed.order.id, now=now, access_token=placed.access_token)
    return placed.order.id


def pay(session, order_id, now):
    token = orders.order_access_token(order_id)
    return orders.pay_with_test_provider(session, order_id=order_id, succeeded=True, now=now, access_token=token)


def test_twenty_payments_racing_get_numbers_one_to_twenty(pg_url, pg_session, shop, clock):
    order_ids = [pending_order(pg_session, shop, clock.now, n) for n in range(PAYERS)]
    engine = make_engine(pg_url)
    engine.pool = QueuePool(engine.pool._creator, pool_size=PAYERS, max_overflow=0, timeout=60)
    start = threading.Barrier(PAYERS)

    def pay_at_once(order_id):
        start.wait()
        with Session(engine, expire_on_commit=False) as session:
            for _ in range(5):  # a lock wait cut short is answered "try again", as a provider retries
                try:
                    return pay(session, order_id, clock.now).result
                except TryAgain:
                    continue
        return "gave up"

    with ThreadPoolExecutor(max_workers=PAYERS) as pool:
        results = list(pool.map(pay_at_once, order_ids))
    engine.dispose()

    assert results == ["paid"] * PAYERS
    pg_session.expire_all()
    numbers = pg_session.exec(select(Invoice.sequence_number).order_by(Invoice.sequence_number)).all()
    assert numbers == list(range(1, PAYERS + 1))
    assert len({i.order_id for i in pg_session.exec(select(Invoice)).all()}) == PAYERS


def test_a_payment_that_fails_after_drawing_a_number_leaves_no_gap(pg_session, shop, clock, monkeypatch):
    first, second = (pending_order(pg_session, shop, clock.now, n) for n in range(2))
    real_audit = invoices.record_audit

    def broken_audit(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(invoices, "record_audit", broken_audit)  # fails after the number was drawn
    with pytest.raises(RuntimeError):
        pay(pg_session, first, clock.now)
    assert pg_session.get(Order, first).status == OrderStatus.PENDING  # rolled back: not paid either
    monkeypatch.setattr(invoices, "record_audit", real_audit)

    pay(pg_session, second, clock.now)
    pay(pg_session, first, clock.now)
    numbers = {i.order_id: i.number for i in pg_session.exec(select(Invoice)).all()}
    year = clock.now.year
    assert numbers == {second: f"KG-{year}-00001", first: f"KG-{year}-00002"}


def test_buyer_downloads_the_invoice_in_german_with_the_order_token(client, pg_session, shop, clock):
    body = {
        "items": [{"ticket_type_id": str(shop["type"].id), "quantity": 2}],
        "email": "kaeufer@example.org",
        "phone": "+49 30 1234567",
        "name": "Jana Käufer",
        "billing": {"company": "Müller KG", "address": "Ring 2\n50667 Köln", "vat_id": "DE987654321"},
    }
    placed = client.post("/api/v1/orders", json=body, headers={"Accept-Language": "de"}).json()
    token = {"token": placed["access_token"]}
    url = f"/api/v1/orders/{placed['id']}/invoice.pdf"
    assert client.get(url, params=token).status_code == 404  # not paid: no invoice yet
    client.post(f"/api/v1/orders/{placed['id']}/test-payment", json={"outcome": "succeeded"}, params=token)

    response = client.get(url, params=token)
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    number = f"KG-{clock.now.year}-00001"
    assert f'filename="{number}.pdf"' in response.headers["content-disposition"]
    text = pdf_text(response.content)
    for expected in (
        "Rechnung",
        number,
        "Konzert GmbH",
        "DE123456789",
        "Müller KG",
        "DE987654321",
        "USt. 19 % auf 42,02 €: 7,98 €",
        "Gesamtbetrag: 50,00 €",
    ):
        assert expected in text

    other = client.post(
        "/api/v1/orders",
        json={**body, "billing": None, "email": "other@example.org"},
        headers={"Accept-Language": "de"},
    ).json()
    assert client.get(url, params={"token": other["access_token"]}).status_code == 404
    assert client.get(url).status_code == 404
    assert client.get(url, params={**token, "kind": "bogus"}).status_code == 422


def test_refund_gives_a_credit_note_pdf_and_organizers_of_other_orgs_get_nothing(client, pg_session, shop, clock):
    order_id = pending_order(pg_session, shop, clock.now)
    pay(pg_session, order_id, clock.now)
    orders.cancel_order(pg_session, order_id=order_id, now=clock.now, actor=shop["organizer"])
    note = pg_session.exec(select(Invoice).where(Invoice.kind == InvoiceKind.CREDIT_NOTE)).one()
    invoice = pg_session.get(Invoice, note.refers_to_id)

    def bearer(user):
        tokens = client.post("/api/v1/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD}).json()
        return {"Authorization": f"Bearer {tokens['access_token']}"}

    url = f"/api/v1/orders/{order_id}/invoice.pdf"
    response = client.get(url, params={"kind": "credit_note"}, headers=bearer(shop["organizer"]))
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert "Credit note" in text and note.number in text and f"Cancels invoice {invoice.number}" in text
    assert "Total: -€25.00" in text.replace("−", "-")

    rival = make_user(pg_session, role=Role.ORGANIZER, now=clock.now)
    make_organization(pg_session, members=(rival,), now=clock.now)
    assert client.get(url, headers=bearer(rival)).status_code == 404
    assert client.get(url, params={"kind": "credit_note"}, headers=bearer(rival)).status_code == 404


def test_the_confirmation_email_carries_the_invoice_in_the_buyers_language(pg_engine, pg_session, shop, clock):
    from bilten.notifications.worker import Delivery
    from tests.integration.test_notifications_smtp import FAST, RunningWorkers, smtp_settings
    from tests.notifications_support import SmtpSink, parts, wait_until

    placed = orders.place_order(
        pg_session,
        items=[(shop["type"].id, 2)],
        email="kaeufer@example.org",
        phone="+49 30 1234567",
        locale="de",
        billing={"company": "Müller KG"},
        now=clock.now,
    )
    orders.start_payment(pg_session, order_id=placed.order.id, now=clock.now, access_token=placed.access_token)
    pay(pg_session, placed.order.id, clock.now)
    number = f"KG-{clock.now.year}-00001"

    with SmtpSink() as sink, RunningWorkers(Delivery(engine=pg_engine, settings=smtp_settings(sink), config=FAST)):
        wait_until(lambda: len(sink.messages) == 1, what="the tickets email")

    pdfs = {part.get_filename(): part.get_content() for part in parts(sink.messages[0])["application/pdf"]}
    assert set(pdfs) == {"tickets.pdf", f"{number}.pdf"}
    text = pdf_text(pdfs[f"{number}.pdf"])
    assert "Rechnung" in text and number in text and "Müller KG" in text and "Gesamtbetrag: 50,00 €" in text


def test_the_accountant_gets_a_zip_of_the_periods_invoices_and_totals(client, pg_session, shop, clock):
    import csv
    import zipfile
    from datetime import timedelta

    paid = [pending_order(pg_session, shop, clock.now, n) for n in range(2)]
    for order_id in paid:
        pay(pg_session, order_id, clock.now)
    orders.cancel_order(pg_session, order_id=paid[0], now=clock.now, actor=shop["organizer"])
    tokens = client.post(
        "/api/v1/auth/login", json={"email": shop["organizer"].email, "password": DEFAULT_PASSWORD}
    ).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    today = clock.now.date()
    url = f"/api/v1/organizations/{shop['org'].id}/invoices.zip"
    period = {"from": (today - timedelta(days=3)).isoformat(), "to": today.isoformat()}

    response = client.get(url, params=period, headers=headers)
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    year = clock.now.year
    numbers = [f"KG-{year}-0000{n}" for n in (1, 2, 3)]
    assert sorted(archive.namelist()) == sorted(["invoices.csv", "totals.csv", *(f"{n}.pdf" for n in numbers)])
    documents = list(csv.DictReader(io.StringIO(archive.read("invoices.csv").decode())))
    assert [(d["number"], d["kind"], d["gross"], d["refers_to"]) for d in documents] == [
        (numbers[0], "invoice", "25.00", ""),
        (numbers[1], "invoice", "25.00", ""),
        (numbers[2], "credit_note", "-25.00", numbers[0]),
    ]
    (totals,) = csv.DictReader(io.StringIO(archive.read("totals.csv").decode()))
    assert totals == {
        "month": clock.now.strftime("%Y-%m"),
        "currency": "EUR",
        "tax_rate_percent": "19",
        "net": "21.01",
        "tax": "3.99",
        "gross": "25.00",
        "documents": "3",
    }
    assert "Cancels invoice" in pdf_text(archive.read(f"{numbers[2]}.pdf"))

    earlier = {"from": (today - timedelta(days=40)).isoformat(), "to": (today - timedelta(days=10)).isoformat()}
    assert archive_names(client.get(url, params=earlier, headers=headers)) == ["invoices.csv", "totals.csv"]
    backwards = client.get(url, params={"from": period["to"], "to": period["from"]}, headers=headers)
    assert backwards.status_code == 422 and "366" in backwards.json()["error"]["message"]
    assert client.get(url, params={"from": "2026-13-01", "to": period["to"]}, headers=headers).status_code == 422
    assert client.get(url, params=period).status_code == 401

    rival = make_user(pg_session, role=Role.ORGANIZER, now=clock.now)
    make_organization(pg_session, members=(rival,), now=clock.now)
    rival_tokens = client.post("/api/v1/auth/login", json={"email": rival.email, "password": DEFAULT_PASSWORD}).json()
    refused = client.get(url, params=period, headers={"Authorization": f"Bearer {rival_tokens['access_token']}"})
    assert refused.status_code in (403, 404)


def archive_names(response) -> list[str]:
    import zipfile

    assert response.status_code == 200
    return sorted(zipfile.ZipFile(io.BytesIO(response.content)).namelist())


def test_legal_details_through_the_api_with_clear_errors(client, shop):
    tokens = client.post(
        "/api/v1/auth/login", json={"email": shop["organizer"].email, "password": DEFAULT_PASSWORD}
    ).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    url = f"/api/v1/organizations/{shop['org'].id}/invoice-settings"
    assert client.get(url, headers=headers).json()["legal_name"] == "Konzert GmbH"
    body = {
        "legal_name": "Neu GmbH",
        "address": "Ring 1",
        "vat_id": "DE1",
        "prices_include_tax": False,
        "number_prefix": "NG",
    }
    saved = client.put(url, json=body, headers=headers)
    assert saved.status_code == 200 and saved.json()["number_prefix"] == "NG" and not saved.json()["prices_include_tax"]
    bad = client.put(url, json={**body, "number_prefix": "N G!"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["message"] == (
        "The invoice number prefix has 1 to 12 letters (A-Z) or digits."
    )
    assert client.put(url, json=body).status_code == 401


def test_organizers_set_a_ticket_types_tax_rate_through_the_api(client, shop):
    tokens = client.post(
        "/api/v1/auth/login", json={"email": shop["organizer"].email, "password": DEFAULT_PASSWORD}
    ).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    url = f"/api/v1/events/{shop['event'].id}/ticket-types/{shop['type'].id}"
    ok = client.patch(url, json={"tax_rate_bp": 700}, headers=headers)
    assert ok.status_code == 200 and ok.json()["tax_rate_bp"] == 700
    for bad in (10_001, -1, "7"):
        refused = client.patch(url, json={"tax_rate_bp": bad}, headers=headers)
        assert refused.status_code == 422
    refused = client.patch(url, json={"tax_rate_bp": 10_001}, headers=headers)
    assert refused.json()["error"]["message"] == translate("error.invoice.tax_rate", "en")
