"""Every file the app offers arrives when a person clicks its link: the order's PDF tickets and
calendar entry, and the back office's export. Each test clicks as a person does and catches the
browser's download (a link taken by the client-side router shows the app's 404 page instead)."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import uuid
from pathlib import Path

import icalendar
import pytest
from playwright.sync_api import Browser, BrowserContext, Download, Locator, Page, expect
from pypdf import PdfReader

from bilten.services.ticket_references import format_reference
from tests.e2e.scan_support import as_organizer
from tests.e2e.support import LiveApp, catalog, choose_tickets, log_in, open_page, reserve_as_guest, wait_loaded

pytestmark = pytest.mark.e2e

ENGLISH = catalog("en")
ORGANIZER = ("organizer@demo.bilten.org", "Demo-organizer-2026")
RIVERSIDE = "Riverside Jazz Night"


@pytest.fixture
def downloads(browser: Browser, live_app: LiveApp) -> BrowserContext:
    context = browser.new_context(
        base_url=live_app.base_url, locale="en-US", accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    yield context
    context.close()


def _event_id(live_app: LiveApp, title: str) -> str:
    with sqlite3.connect(live_app.database_path) as db:
        (raw,) = db.execute("SELECT id FROM event WHERE title = ?", (title,)).fetchone()
    return str(uuid.UUID(raw))


def _order_references(live_app: LiveApp, order_id: str) -> set[str]:
    """The order's valid tickets' references as people see them (K7QM-4XHT-2P)."""
    with sqlite3.connect(live_app.database_path) as db:
        rows = db.execute(
            "SELECT reference FROM ticket WHERE order_id = ? AND status = 'valid'", (uuid.UUID(order_id).hex,)
        ).fetchall()
    return {format_reference(reference) for (reference,) in rows}


def _click_download(page: Page, link: Locator, tmp_path: Path) -> tuple[Download, bytes]:
    """Click as a person does; the browser must start a download (not navigate to a page)."""
    with page.expect_download(timeout=15_000) as caught:
        link.click()
    download = caught.value
    assert download.failure() is None
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    return download, target.read_bytes()


def _buy_and_pay(page: Page, live_app: LiveApp, email: str) -> str:
    open_page(page, f"/events/{_event_id(live_app, RIVERSIDE)}", "event")
    choose_tickets(page, "Standing", 2)
    reserve_as_guest(page, email)
    page.locator("#test-mode-panel #pay-test").click()
    expect(page.locator("#order-confirmed")).to_be_visible()
    return re.search(r"/orders/([0-9a-f-]{36})", page.url).group(1)


def test_buyer_clicks_download_pdf_and_gets_the_tickets(
    downloads: BrowserContext, live_app: LiveApp, tmp_path: Path
) -> None:
    page = downloads.new_page()
    order_id = _buy_and_pay(page, live_app, "pdf.clicker@example.org")
    order_url = page.url
    # Each ticket shows its reference next to its QR, for the typed fallback at the door.
    references = _order_references(live_app, order_id)
    expect(page.locator(".ticket .ticket-reference")).to_have_count(2)
    assert set(page.locator(".ticket .ticket-reference").all_inner_texts()) == references

    download, body = _click_download(page, page.get_by_role("link", name=ENGLISH["order.download_pdf"]), tmp_path)

    assert download.suggested_filename.endswith(".pdf")
    assert body.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
    assert RIVERSIDE in text and "Standing" in text
    for reference in references:
        assert reference in text
    # The page stayed where it was: no router 404, no navigation.
    assert page.url == order_url
    expect(page.locator("#order-confirmed")).to_be_visible()


def test_buyer_clicks_add_to_calendar_and_gets_the_event(
    downloads: BrowserContext, live_app: LiveApp, tmp_path: Path
) -> None:
    page = downloads.new_page()
    _buy_and_pay(page, live_app, "ics.clicker@example.org")

    download, body = _click_download(page, page.get_by_role("link", name=ENGLISH["order.add_calendar"]), tmp_path)

    assert download.suggested_filename.endswith(".ics")
    calendar = icalendar.Calendar.from_ical(body)
    (event,) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == RIVERSIDE
    assert event.decoded("DTSTART") < event.decoded("DTEND")
    expect(page.locator("#order-confirmed")).to_be_visible()


def test_buyer_clicks_the_credit_note_once_the_organizer_refunded_the_order(
    downloads: BrowserContext, live_app: LiveApp, tmp_path: Path
) -> None:
    page = downloads.new_page()
    order_id = _buy_and_pay(page, live_app, "credit.clicker@example.org")
    order_url = page.url
    expect(page.locator("#download-invoice")).to_be_visible()
    expect(page.locator("#download-credit-note")).to_have_count(0)  # paid: no credit note (yet)

    as_organizer(live_app.base_url, "POST", f"/api/v1/orders/{order_id}/cancel")  # refunded in test mode
    page.reload()
    wait_loaded(page, "order")
    expect(page.locator("#order-ended")).to_be_visible()
    expect(page.locator("#download-invoice")).to_be_visible()  # the invoice stays beside it

    link = page.get_by_role("link", name=ENGLISH["order.download_credit_note"])
    download, body = _click_download(page, link, tmp_path)

    assert re.fullmatch(r"[A-Z0-9]+-\d{4}-\d{5}\.pdf", download.suggested_filename)
    assert body.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
    assert ENGLISH["invoice.credit_note_title"] in text and RIVERSIDE in text
    assert page.url == order_url
    expect(page.locator("#order-ended")).to_be_visible()


def test_organizer_clicks_the_export_download_and_gets_the_attendees(
    downloads: BrowserContext, live_app: LiveApp, tmp_path: Path
) -> None:
    buyer = downloads.new_page()
    order_id = _buy_and_pay(buyer, live_app, "export.row@example.org")
    buyer.close()

    page = downloads.new_page()
    path = f"/organizer/events/{_event_id(live_app, RIVERSIDE)}"
    log_in(page, *ORGANIZER, next_path=path)
    page.wait_for_url(re.compile(re.escape(path) + "/?$"))
    wait_loaded(page, "back-office")
    page.locator("#tab-exports").click()
    page.locator('#section-exports[data-section-loaded="true"]').wait_for()
    page.locator("#export-start").click()
    newest = page.locator("#exports-table tbody tr").first
    expect(newest).to_have_attribute("data-status", "done", timeout=30_000)

    download, body = _click_download(page, newest.get_by_role("link", name=ENGLISH["exports.download"]), tmp_path)

    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    ours = [row for row in rows if row["order_id"] == order_id]
    assert len(ours) == 2
    assert {row["buyer_email"] for row in ours} == {"export.row@example.org"}
    assert {row["reference"] for row in ours} == set(_order_references(live_app, order_id))
    expect(page.locator("#office-title")).to_have_text(RIVERSIDE)
