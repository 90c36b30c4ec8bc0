"""Vouchers in the browser: the organizer makes codes in the back office (one typed, a few random
ones downloaded as CSV), a buyer follows a link carrying a code, sees the discounted total and
pays, a wrong code gets its message, and the back office shows which order used which code."""

from __future__ import annotations

import csv
import io
import re
import secrets
import sqlite3
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.support import (
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
ORGANIZER = ("organizer@demo.bilten.org", "Demo-organizer-2026")
RIVERSIDE = "Riverside Jazz Night"  # Standing €25.00


def _event_id(live_app: LiveApp) -> str:
    with sqlite3.connect(live_app.database_path) as db:
        (raw,) = db.execute("SELECT id FROM event WHERE title = ?", (RIVERSIDE,)).fetchone()
    return str(uuid.UUID(raw))


def _open_vouchers_tab(page: Page, live_app: LiveApp) -> None:
    path = f"/organizer/events/{_event_id(live_app)}"
    log_in(page, *ORGANIZER, next_path=path)
    page.wait_for_url(re.compile(re.escape(path) + "/?$"))
    wait_loaded(page, "back-office")
    page.locator("#tab-vouchers").click()
    page.locator('#section-vouchers[data-section-loaded="true"]').wait_for()


def test_buyer_follows_a_voucher_link_pays_less_and_the_organizer_sees_the_order(
    browser: Browser, live_app: LiveApp, tmp_path: Path
) -> None:
    code = f"JAZZ{secrets.token_hex(2).upper()}"
    buyer_email = f"voucher-{secrets.token_hex(3)}@example.org"
    office_context = browser.new_context(
        base_url=live_app.base_url, locale="en-US", accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    buyer_context = browser.new_context(base_url=live_app.base_url, locale="en-US")
    try:
        # The organizer makes one code (20 % off, 5 uses) and three random ones, and downloads them.
        office = office_context.new_page()
        _open_vouchers_tab(office, live_app)
        office.locator("#field-voucher-code").fill(code.lower())
        office.locator("#field-voucher-value").fill("20")
        office.locator("#field-voucher-max-uses").fill("5")
        office.locator("#voucher-create").click()
        row = office.locator(f'#vouchers-table tr[data-code="{code}"]')
        expect(row.locator(".voucher-uses")).to_have_text("0 / 5")
        expect(row).to_contain_text("20 % off")

        office.locator("#field-voucher-count").fill("3")
        office.locator("#field-voucher-prefix").fill("band")
        office.locator("#field-voucher-value").fill("10")
        office.locator("#field-voucher-max-uses").fill("1")
        office.locator("#voucher-create").click()
        expect(office.locator('#vouchers-table tr[data-code^="BAND"]')).to_have_count(3)

        with office.expect_download(timeout=15_000) as caught:
            office.locator("#vouchers-csv").click()
        download = caught.value
        assert download.failure() is None and download.suggested_filename.endswith(".csv")
        target = tmp_path / download.suggested_filename
        download.save_as(target)
        rows = {r["code"]: r for r in csv.DictReader(io.StringIO(target.read_text()))}
        assert rows[code]["value"] == "20" and rows[code]["max_uses"] == "5"
        assert len([c for c in rows if c.startswith("BAND")]) == 3

        # A wrong code typed on the event page gets its message.
        buyer = buyer_context.new_page()
        event_path = f"/events/{_event_id(live_app)}"
        open_page(buyer, event_path, "event")
        buyer.locator("#voucher-code").fill("NOT-A-CODE")
        buyer.locator("#voucher-apply").click()
        expect(buyer.locator("#voucher-error")).to_contain_text(ENGLISH["error.voucher_invalid"])

        # The link carrying the code applies it; the price and total are discounted.
        open_page(buyer, f"{event_path}?voucher={code.lower()}", "event")
        expect(buyer.locator("#voucher-applied")).to_contain_text(code)
        standing = ticket_row(buyer, "Standing")
        expect(standing.locator(".ticket-price")).to_have_text("€20.00")
        expect(standing.locator(".ticket-full-price")).to_have_text("€25.00")
        choose_tickets(buyer, "Standing", 2)
        expect(buyer.locator("#checkout-total")).to_have_text("€40.00")
        expect(buyer.locator("#voucher-applied")).to_contain_text("€10.00")
        reserve_as_guest(buyer, buyer_email)
        expect(buyer.locator("#order-voucher")).to_have_text(f"Voucher {code}: €10.00 off")
        expect(buyer.locator("#order-total")).to_have_text("€40.00")
        buyer.locator("#test-mode-panel #pay-test").click()
        expect(buyer.locator("#order-confirmed")).to_be_visible()
        order_id = re.search(r"/orders/([0-9a-f-]{36})", buyer.url).group(1)
        with sqlite3.connect(live_app.database_path) as db:
            total, discount, status = db.execute(
                "SELECT total_minor, discount_minor, status FROM ticket_order WHERE id = ?", (uuid.UUID(order_id).hex,)
            ).fetchone()
        assert (total, discount, status) == (4000, 1000, "paid")

        # The back office shows the use and the order with its code.
        open_page(office, f"/organizer/events/{_event_id(live_app)}?tab=vouchers", "back-office")
        office.locator('#section-vouchers[data-section-loaded="true"]').wait_for()
        expect(office.locator(f'#vouchers-table tr[data-code="{code}"] .voucher-uses')).to_have_text("1 / 5")
        order_row = office.locator(f'#voucher-orders-table tr[data-order-id="{order_id}"]')
        expect(order_row).to_contain_text(buyer_email)
        expect(order_row.locator(".voucher-order-code")).to_have_text(code)
        expect(order_row.locator(".voucher-order-discount")).to_have_text("€10.00")
    finally:
        buyer_context.close()
        office_context.close()
