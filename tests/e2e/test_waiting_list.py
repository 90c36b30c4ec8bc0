"""The waiting list through the compiled app: a person joins on a sold-out event page, a seat frees
(a buyer cancels), the offer email's link shows their held seat, they buy it in test mode and get
their ticket; the organizer sees them on the back office's Waiting list tab and downloads the CSV.
The join form and the person's page pass axe-core (as tests/e2e/test_accessibility.py checks)."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import urllib.request
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.support import ORDER_URL, LiveApp, catalog, emailed_link, log_in, open_page, wait_loaded
from tests.e2e.test_accessibility import describe, violations

pytestmark = pytest.mark.e2e

ENGLISH = catalog("en")
ORGANIZER = ("organizer@demo.bilten.org", "Demo-organizer-2026")
EVENT = "Desert Lights Festival"
TYPE = "VIP"
WAITER = "wanda.waiting@example.org"


def _api(live_app: LiveApp, path: str, body: dict, headers: dict | None = None) -> dict:
    request = urllib.request.Request(
        live_app.url(path),
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the local test server
        return json.loads(response.read())


def _accessible(page) -> None:  # noqa: ANN001 - a Playwright page
    found = violations(page)
    assert not found, describe(found)


def _sell_out_but_one(live_app: LiveApp) -> tuple[str, str]:
    """Leave one VIP seat, then a buyer (through the API) holds it: the type is sold out."""
    with sqlite3.connect(live_app.database_path) as db:
        event_hex, type_hex = db.execute(
            "SELECT event.id, ticket_type.id FROM ticket_type JOIN event ON event.id = ticket_type.event_id "
            "WHERE event.title = ? AND ticket_type.name = ?",
            (EVENT, TYPE),
        ).fetchone()
        db.execute("UPDATE ticket_type SET quantity = reserved + 1 WHERE id = ?", (type_hex,))
    event_id, type_id = str(uuid.UUID(event_hex)), str(uuid.UUID(type_hex))
    order = _api(
        live_app,
        "/api/v1/orders",
        {
            "items": [{"ticket_type_id": type_id, "quantity": 1}],
            "email": "holder@example.org",
            "phone": "+971 4 1234567",
        },
    )
    return event_id, order["id"] + ":" + order["access_token"]


def test_a_waiting_person_gets_the_freed_seat_and_buys_it(browser: Browser, live_app: LiveApp, tmp_path: Path) -> None:
    event_id, held = _sell_out_but_one(live_app)
    context = browser.new_context(base_url=live_app.base_url, locale="en-US", accept_downloads=True)
    try:
        page = context.new_page()
        open_page(page, f"/events/{event_id}", "event")
        form = page.locator("#waiting-form")
        expect(form).to_be_visible()
        expect(form).to_contain_text(ENGLISH["waiting_list.join_title"])
        expect(page.locator("#waiting-type")).to_have_count(0)  # one sold-out type: nothing to choose
        _accessible(page)
        page.locator("#waiting-email").fill(WAITER)
        page.locator("#waiting-name").fill("Wanda")
        page.locator("#waiting-join").click()
        page.wait_for_url(re.compile(r"/waiting-list/[0-9a-f]{32}\S+$"))
        wait_loaded(page, "waiting-list")
        expect(page.locator("#waiting-status")).to_contain_text(f"You are number 1 in line for {TYPE}")
        _accessible(page)

        # The buyer holding the last seat cancels: the seat goes to Wanda, held, and she is emailed.
        order_id, token = held.split(":")
        _api(live_app, f"/api/v1/orders/{order_id}/cancel", {}, {"X-Order-Token": token})
        link = emailed_link(live_app, WAITER, r"/waiting-list/[0-9a-f]{32}[A-Za-z0-9_-]+")
        assert page.url.endswith(link)
        open_page(page, link, "waiting-list")
        expect(page.locator("#waiting-status")).to_contain_text(f"A {TYPE} ticket is held for you until")
        _accessible(page)

        # Nobody else can have it meanwhile: the public page shows it sold out.
        other = context.new_page()
        open_page(other, f"/events/{event_id}", "event")
        vip = other.locator(".ticket-type").filter(has=other.get_by_text(TYPE, exact=True))
        expect(vip.locator(".tickets-left")).to_have_text(ENGLISH["event.sold_out"])
        other.close()

        # The organizer asks every buyer something: the offer page asks it too, and needs it.
        organizer = _api(live_app, "/api/v1/auth/login", {"email": ORGANIZER[0], "password": ORGANIZER[1]})
        question = {"label": "Dietary needs", "kind": "text", "required": True, "per_ticket": True}
        _api(
            live_app,
            f"/api/v1/events/{event_id}/questions",
            question,
            {"Authorization": f"Bearer {organizer['access_token']}"},
        )
        open_page(page, link, "waiting-list")
        expect(page.locator("#offer-questions")).to_contain_text("Dietary needs")
        page.locator("#offer-phone").fill("+971 4 7654321")
        page.locator("#offer-buy").click()
        expect(page.locator("#offer-questions .answer-error")).to_contain_text("Dietary needs")
        expect(page.locator("#waiting-status")).to_contain_text(f"A {TYPE} ticket is held for you until")
        page.locator("#offer-questions input").fill("Vegan")
        page.locator("#offer-buy").click()
        page.wait_for_url(ORDER_URL)
        wait_loaded(page, "order")
        page.locator("#test-mode-panel #pay-test").click()
        expect(page.locator("#order-confirmed")).to_be_visible()
        expect(page.locator("img.ticket-qr")).to_have_count(1)

        open_page(page, link, "waiting-list")
        expect(page.locator("#waiting-status")).to_have_text(ENGLISH["waiting_list.status.redeemed"])

        # The organizer finds her on the Waiting list tab and downloads the list.
        office = context.new_page()
        path = f"/organizer/events/{event_id}"
        log_in(office, *ORGANIZER, next_path=path)
        office.wait_for_url(re.compile(re.escape(path) + "/?$"))
        wait_loaded(office, "back-office")
        office.locator("#tab-waiting_list").click()
        office.locator('#section-waiting_list[data-section-loaded="true"]').wait_for()
        row = office.locator("#waiting-table tbody tr").filter(has_text=WAITER)
        expect(row).to_have_attribute("data-state", "redeemed")
        with office.expect_download(timeout=15_000) as caught:
            office.locator("#waiting-csv").click()
        download = caught.value
        assert download.failure() is None and download.suggested_filename.endswith(".csv")
        target = tmp_path / download.suggested_filename
        download.save_as(target)
        rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
        assert [(r["email"], r["state"], r["name"]) for r in rows] == [(WAITER, "redeemed", "Wanda")]
    finally:
        context.close()
