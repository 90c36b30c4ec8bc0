"""Buying journeys through the compiled app: reserve, pay in test mode (and be declined), see the
tickets' QR codes, live "N left" in another browser, My tickets and holder names, and resetting a
forgotten password."""

from __future__ import annotations

import base64
import io
import re
import sqlite3
import time
import uuid
from datetime import datetime, timedelta
from email import policy
from email.parser import BytesParser

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, expect
from pypdf import PdfReader

from bilten.services.ticket_references import format_reference
from tests.e2e.support import (
    ORDER_URL,
    LiveApp,
    catalog,
    choose_tickets,
    log_in,
    open_page,
    reserve_as_guest,
    ticket_row,
    wait_loaded,
)

pytestmark = pytest.mark.e2e

ENGLISH = catalog("en")
ATTENDEE = ("attendee@demo.bilten.org", "Demo-attendee-2026")


def _db(live_app: LiveApp) -> sqlite3.Connection:
    return sqlite3.connect(live_app.database_path)


def _event_id(live_app: LiveApp, title: str) -> str:
    with _db(live_app) as db:
        (raw,) = db.execute("SELECT id FROM event WHERE title = ?", (title,)).fetchone()
    return str(uuid.UUID(raw))


def _order_id(page: Page) -> str:
    return re.search(r"/orders/([0-9a-f-]{36})", page.url).group(1)


def _seats_left(row: Locator) -> int:
    return int(re.search(r"(\d+) left", row.locator(".tickets-left").inner_text()).group(1))


def _qr_payloads(page: Page) -> list[str]:
    """What the QR images on the page say, decoded as a door scanner would."""
    payloads = []
    for src in page.locator("img.ticket-qr").evaluate_all("images => images.map(image => image.src)"):
        assert src.startswith("data:image/png;base64,")
        image = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        (barcode,) = zxingcpp.read_barcodes(image)
        payloads.append(barcode.text)
    return payloads


def _valid_codes(live_app: LiveApp, order_id: str) -> set[str]:
    with _db(live_app) as db:
        rows = db.execute(
            "SELECT code FROM ticket WHERE order_id = ? AND status = 'valid'", (uuid.UUID(order_id).hex,)
        ).fetchall()
    return {code for (code,) in rows}


def test_guest_buys_two_tickets_while_another_browser_sees_the_seats_go(browser: Browser, live_app: LiveApp) -> None:
    event_path = f"/events/{_event_id(live_app, 'Riverside Jazz Night')}"
    buyer_context = browser.new_context(base_url=live_app.base_url, locale="en-US")
    watcher_context = browser.new_context(base_url=live_app.base_url, locale="en-US")
    try:
        watcher = watcher_context.new_page()
        open_page(watcher, event_path, "event")
        watched_row = ticket_row(watcher, "Standing")
        before = _seats_left(watched_row)
        watcher.evaluate("window.__sameDocument = true")  # gone if the page reloads

        buyer = buyer_context.new_page()
        open_page(buyer, event_path, "event")
        expect(buyer.locator("#reserve")).to_be_disabled()  # nothing chosen yet
        choose_tickets(buyer, "Standing", 2)
        expect(buyer.locator("#checkout-total")).to_have_text("€50.00")
        buyer.locator("#billing-toggle").click()  # optional company details for the invoice
        buyer.locator("#billing-company").fill("Gina Guest GmbH")
        reserve_as_guest(buyer, "gina.guest@example.org")

        # The other browser's count drops in place: no reload, no navigation.
        expect(watched_row.locator(".tickets-left")).to_have_text(f"{before - 2} left")
        assert watcher.evaluate("window.__sameDocument") is True

        # The reservation: held with a countdown, paid through the clearly labelled test mode.
        expect(buyer.locator("#order-status")).to_have_text(ENGLISH["order.status.pending"])
        expect(buyer.locator("#hold-countdown")).to_have_text(re.compile(r"^1[45]:\d\d$"))
        panel = buyer.locator("#test-mode-panel")
        expect(panel).to_contain_text(ENGLISH["order.test_mode_title"])
        panel.locator("#pay-test").click()

        expect(buyer.locator("#order-confirmed")).to_be_visible()
        expect(buyer.locator("#order-status")).to_have_text(ENGLISH["order.status.paid"])
        expect(buyer.locator("img.ticket-qr")).to_have_count(2)
        assert sorted(_qr_payloads(buyer)) == sorted(_valid_codes(live_app, _order_id(buyer)))

        # The downloads arrive when clicked (tests/e2e/test_downloads.py reads them through).
        for link_id, suffix in (("#download-pdf", ".pdf"), ("#download-ics", ".ics"), ("#download-invoice", ".pdf")):
            with buyer.expect_download() as caught:
                buyer.locator(link_id).click()
            assert caught.value.failure() is None and caught.value.suggested_filename.endswith(suffix)
        # The invoice (services/invoices.py): numbered from the organization's series, a real PDF.
        assert re.fullmatch(r"[A-Z0-9]+-\d{4}-\d{5}\.pdf", caught.value.suggested_filename)
        invoice = caught.value.path().read_bytes()
        assert invoice.startswith(b"%PDF-")
        assert "Gina Guest GmbH" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(invoice)).pages)
        expect(buyer.locator("#order-confirmed")).to_be_visible()  # still on the order page

        # Paid seats stay taken.
        expect(watched_row.locator(".tickets-left")).to_have_text(f"{before - 2} left")
    finally:
        buyer_context.close()
        watcher_context.close()


def test_declined_test_payment_can_be_tried_again(page: Page, live_app: LiveApp) -> None:
    open_page(page, f"/events/{_event_id(live_app, 'Lisbon Indie Film Premiere')}", "event")
    choose_tickets(page, "Ticket", 1)
    reserve_as_guest(page, "declined.once@example.org")

    page.locator("#decline-test").click()
    expect(page.locator("#payment-declined")).to_contain_text(ENGLISH["order.declined"])
    expect(page.locator("#order-status")).to_have_text(ENGLISH["order.status.pending"])  # seats still held
    expect(page.locator("#test-mode-panel")).to_have_count(0)

    page.locator("#retry-payment").click()
    page.locator("#test-mode-panel #pay-test").click()

    expect(page.locator("#order-confirmed")).to_be_visible()
    expect(page.locator("img.ticket-qr")).to_have_count(1)
    with _db(live_app) as db:
        statuses = [
            status
            for (status,) in db.execute(
                "SELECT status FROM payment WHERE order_id = ? ORDER BY created_at", (uuid.UUID(_order_id(page)).hex,)
            )
        ]
    assert statuses == ["failed", "confirmed"]


def test_attendee_gets_a_free_ticket_finds_it_and_names_the_holder(page: Page, live_app: LiveApp) -> None:
    log_in(page, *ATTENDEE)
    page.wait_for_url(re.compile(r"/my-tickets/?$"))

    open_page(page, f"/events/{_event_id(live_app, 'Community Open Day')}", "event")
    expect(page.locator("#buyer-email")).to_have_value(ATTENDEE[0])  # prefilled from the account
    expect(page.get_by_text(ENGLISH["checkout.phone_optional"])).to_be_visible()
    choose_tickets(page, "Free entry", 1)
    expect(page.locator("#checkout-total")).to_have_text(ENGLISH["event.free"])
    page.locator("#reserve").click()  # no phone: optional when signed in
    page.wait_for_url(ORDER_URL)
    wait_loaded(page, "order")
    expect(page.locator("#order-confirmed")).to_be_visible()  # free: paid at once
    order_id = _order_id(page)

    page.locator("#nav-my-tickets").click()
    page.wait_for_url(re.compile(r"/my-tickets/?$"))
    wait_loaded(page, "my-tickets")
    order = page.locator(f'.my-order[data-order-id="{order_id}"]')
    expect(order).to_contain_text("Community Open Day")
    expect(order.locator("img.ticket-qr")).to_have_count(1)
    with _db(live_app) as db:
        (reference,) = db.execute(
            "SELECT reference FROM ticket WHERE order_id = ?", (uuid.UUID(order_id).hex,)
        ).fetchone()
    expect(order.locator(".ticket-reference")).to_have_text(format_reference(reference))  # typed if the QR fails

    order.locator(".order-link").click()
    page.wait_for_url(re.compile(rf"/orders/{order_id}/?$"))  # the owner needs no token
    wait_loaded(page, "order")
    ticket = page.locator(".ticket").first
    ticket.locator(".holder-input input").fill("Jamie Holder")
    ticket.locator(".holder-save").click()
    expect(ticket.locator(".ticket-holder")).to_have_text("Jamie Holder")
    with _db(live_app) as db:
        (holder,) = db.execute(
            "SELECT holder_name FROM ticket WHERE order_id = ?", (uuid.UUID(order_id).hex,)
        ).fetchone()
    assert holder == "Jamie Holder"

    open_page(page, "/my-tickets", "my-tickets")
    expect(order.locator(".ticket-holder")).to_have_text("Jamie Holder")


def _reset_link(live_app: LiveApp, email: str) -> str:
    """The link in the reset email, read from the .eml file the app's notification worker writes
    (no SMTP server configured); the path and query, for this test's browser."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for path in sorted(live_app.mail_dir.glob("*.eml")):
            with path.open("rb") as file:
                message = BytesParser(policy=policy.default).parse(file)
            if message["To"] != email or "reset" not in message["Subject"].lower():
                continue
            text = message.get_body(preferencelist=("plain",)).get_content()
            url = re.search(r"https?://\S+/reset-password\?token=[A-Za-z0-9_-]+", text).group(0)
            assert url.startswith(live_app.base_url)
            return url.removeprefix(live_app.base_url)
        time.sleep(0.2)
    raise AssertionError(f"no reset email for {email} in {live_app.mail_dir}")


def test_forgotten_password_is_reset_through_the_emailed_link(page: Page, live_app: LiveApp) -> None:
    with _db(live_app) as db:
        (original_hash,) = db.execute(
            "SELECT password_hash FROM user_account WHERE email = ?", (ATTENDEE[0],)
        ).fetchone()
    new_password = "Fresh-harbour-lights-7"
    try:
        open_page(page, "/login", "login")
        page.locator("#forgot-link").click()
        page.wait_for_url(re.compile(r"/forgot-password/?$"))
        wait_loaded(page, "forgot-password")

        # An unknown address gets the same answer as a real one.
        page.locator("#field-email").fill("nobody-here@example.org")
        page.locator("#forgot-submit").click()
        expect(page.locator("#reset-requested")).to_have_text(ENGLISH["forgot.sent"])
        open_page(page, "/forgot-password", "forgot-password")
        page.locator("#field-email").fill(ATTENDEE[0])
        page.locator("#forgot-submit").click()
        expect(page.locator("#reset-requested")).to_have_text(ENGLISH["forgot.sent"])

        reset_path = _reset_link(live_app, ATTENDEE[0])
        assert not any(
            "nobody-here@example.org" in path.read_text(errors="replace") for path in live_app.mail_dir.glob("*.eml")
        )
        open_page(page, reset_path, "reset-password")
        page.locator("#field-new_password").fill(new_password)
        page.locator("#field-new_password_confirm").fill(new_password)
        page.locator("#reset-submit").click()
        expect(page.locator("#reset-done")).to_be_visible()

        page.locator("#to-login").click()
        page.wait_for_url(re.compile(r"/login/?$"))
        wait_loaded(page, "login")
        page.locator("#field-email").fill(ATTENDEE[0])
        page.locator("#field-password").fill(new_password)
        page.locator("#login-submit").click()
        page.wait_for_url(re.compile(r"/my-tickets/?$"))  # a buyer lands on their tickets
        open_page(page, "/account", "account")
        expect(page.locator("#account-email")).to_have_text(ATTENDEE[0])
    finally:
        # The other journeys log in with the demo password.
        with _db(live_app) as db:
            db.execute("UPDATE user_account SET password_hash = ? WHERE email = ?", (original_hash, ATTENDEE[0]))


def test_home_date_range_narrows_the_listing(page: Page, live_app: LiveApp) -> None:
    with _db(live_app) as db:
        starts = [
            (title, datetime.fromisoformat(value).date())
            for title, value in db.execute("SELECT title, starts_at FROM event WHERE status = 'published'")
        ]
    title, day = next((title, day) for title, day in starts if title == "Community Open Day")
    same_day = [other for other, other_day in starts if other_day == day]  # days are counted in UTC

    open_page(page, "/", "home")
    page.locator("#search-from").fill(day.isoformat())
    page.locator("#search-until").fill(day.isoformat())

    cards = page.locator(".event-card")
    expect(cards).to_have_count(len(same_day))
    expect(cards.filter(has_text=title)).to_have_count(1)

    page.locator("#search-from").fill((day + timedelta(days=1)).isoformat())  # after "until": nothing
    expect(page.locator("#no-events")).to_be_visible()
