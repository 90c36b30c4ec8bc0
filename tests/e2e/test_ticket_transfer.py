"""Ticket transfer in the browser: the buyer hands a ticket on from the order page (a dialog with
the new holder's email and name, then a confirmation), sees it marked transferred, and the new
holder opens their own page from the emailed link and sees the new code; an offline door, after
its sync, refuses the old code and lets the new one in."""

from __future__ import annotations

import base64
import io
import re
import sqlite3
import time
import uuid
from email import policy
from email.parser import BytesParser

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from tests.e2e.scan_support import as_organizer, buy_tickets
from tests.e2e.support import ORDER_URL, LiveApp, catalog, choose_tickets, log_in, open_page, wait_loaded
from tests.e2e.test_scan_page import phone, scan_by_hand, sign_in, wait_for_ticket_data

pytestmark = pytest.mark.e2e

ENGLISH = catalog("en")
ATTENDEE = ("attendee@demo.bilten.org", "Demo-attendee-2026")
NEW_HOLDER = "robin.transfer@example.net"


def _holder_link(live_app: LiveApp, email: str) -> str:
    """The link in the new holder's email, read from the .eml files the app's worker writes."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for path in sorted(live_app.mail_dir.glob("*.eml")):
            with path.open("rb") as file:
                message = BytesParser(policy=policy.default).parse(file)
            if message["To"] != email:
                continue
            text = message.get_body(preferencelist=("plain",)).get_content()
            url = re.search(r"https?://\S+/held-tickets/[0-9a-f-]{36}\?token=[A-Za-z0-9_=-]+", text).group(0)
            return url.removeprefix(live_app.base_url)
        time.sleep(0.2)
    raise AssertionError(f"no transfer email for {email} in {live_app.mail_dir}")


def test_buyer_transfers_a_ticket_and_the_new_holder_opens_it(page: Page, live_app: LiveApp) -> None:
    log_in(page, *ATTENDEE)
    page.wait_for_url(re.compile(r"/my-tickets/?$"))
    with sqlite3.connect(live_app.database_path) as db:
        (raw_event,) = db.execute("SELECT id FROM event WHERE title = 'Community Open Day'").fetchone()
    open_page(page, f"/events/{uuid.UUID(raw_event)}", "event")
    choose_tickets(page, "Free entry", 1)
    page.locator("#reserve").click()
    page.wait_for_url(ORDER_URL)
    wait_loaded(page, "order")
    order_id = re.search(r"/orders/([0-9a-f-]{36})", page.url).group(1)

    ticket = page.locator(".ticket").first
    ticket.locator(".transfer").click()
    dialog = page.locator("#transfer-dialog")
    expect(dialog).to_contain_text(ENGLISH["transfer.explain"])
    dialog.locator("input[name=email]").fill("not an address")
    dialog.locator("input[name=name]").fill("Robin New")
    dialog.locator("input[name=email]").evaluate("input => input.type = 'text'")  # past the browser's own check
    dialog.locator("#transfer-confirm").click()
    expect(dialog.locator("#transfer-error")).to_be_visible()  # the service's clear error, in the dialog
    dialog.locator("input[name=email]").fill(NEW_HOLDER)
    dialog.locator("#transfer-confirm").click()
    expect(dialog).to_have_count(0)
    expect(ticket.locator(".ticket-status")).to_have_text(ENGLISH["ticket.status.transferred"])
    expect(ticket.locator(".ticket-void")).to_be_visible()
    expect(ticket.locator(".transfer")).to_have_count(0)
    with sqlite3.connect(live_app.database_path) as db:
        rows = db.execute(
            "SELECT status, holder_email, code FROM ticket WHERE order_id = ? ORDER BY issued_at",
            (uuid.UUID(order_id).hex,),
        ).fetchall()
    assert [(status, email) for status, email, _ in rows] == [("transferred", ""), ("valid", NEW_HOLDER)]
    new_code = rows[1][2]

    open_page(page, _holder_link(live_app, NEW_HOLDER), "held_ticket")
    held = page.locator("#held-ticket")
    expect(held.locator(".ticket-holder")).to_have_text("Robin New")
    src = held.locator("img.ticket-qr").get_attribute("src")
    (barcode,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))))
    assert barcode.text == new_code
    expect(held.locator(".transfer")).to_have_count(1)  # the new holder may hand it on in turn


def test_an_offline_door_answers_cancelled_for_the_old_code_after_its_sync(browser, live_app: LiveApp) -> None:
    (old,) = buy_tickets(live_app.base_url, holder="Tess Transfer")
    handed = as_organizer(
        live_app.base_url, "POST", f"/api/v1/tickets/{old.id}/transfer", {"email": NEW_HOLDER, "name": "Robin New"}
    )
    assert handed["status"] == "transferred"
    with sqlite3.connect(live_app.database_path) as db:
        (new_code,) = db.execute(
            "SELECT code FROM ticket WHERE replaces_ticket_id = ?", (uuid.UUID(old.id).hex,)
        ).fetchone()
    context = phone(browser, live_app)
    page = context.new_page()
    try:
        sign_in(page)
        wait_for_ticket_data(page)  # the sync: the old ticket is on the revocation list
        context.set_offline(True)
        expect(page.locator("#scan-offline-banner")).to_be_visible()
        refused = scan_by_hand(page, old.code)
        assert refused["result"] == "cancelled" and refused["offline"] == "true", refused
        accepted = scan_by_hand(page, new_code)
        assert accepted["result"] == "valid" and accepted["offline"] == "true", accepted
    finally:
        context.close()


def test_a_signed_in_buyer_transfers_from_my_tickets(page: Page, live_app: LiveApp) -> None:
    log_in(page, *ATTENDEE)
    page.wait_for_url(re.compile(r"/my-tickets/?$"))
    with sqlite3.connect(live_app.database_path) as db:
        (raw_event,) = db.execute("SELECT id FROM event WHERE title = 'Community Open Day'").fetchone()
    open_page(page, f"/events/{uuid.UUID(raw_event)}", "event")
    choose_tickets(page, "Free entry", 1)
    page.locator("#reserve").click()
    page.wait_for_url(ORDER_URL)
    order_id = re.search(r"/orders/([0-9a-f-]{36})", page.url).group(1)

    open_page(page, "/my-tickets", "my-tickets")
    order = page.locator(f'.my-order[data-order-id="{order_id}"]')
    order.locator(".transfer").click()
    dialog = page.locator("#transfer-dialog")
    dialog.locator("input[name=email]").fill(ATTENDEE[0])  # to oneself: refused, said in the dialog
    dialog.locator("input[name=name]").fill("Me Again")
    dialog.locator("#transfer-confirm").click()
    expect(dialog.locator("#transfer-error")).to_contain_text(ENGLISH["error.transfer_same_holder"])
    dialog.locator("input[name=email]").fill("sam.friend@example.net")
    dialog.locator("#transfer-confirm").click()
    expect(dialog).to_have_count(0)
    expect(order.locator(".ticket-status")).to_have_text(ENGLISH["ticket.status.transferred"])
    expect(order.locator(".transfer")).to_have_count(0)
