"""Outgoing webhooks in headless Chromium: the demo organizer adds an endpoint on the webhooks page
(the secret shown once), a guest pays for a ticket, the app's own worker POSTs the signed
order.paid to a local receiver, and the "Send again" button sends the same delivery once more."""

from __future__ import annotations

import json
import re
import sqlite3
import time
import uuid

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.support import LiveApp, catalog, choose_tickets, log_in, open_page, reserve_as_guest, wait_loaded
from tests.webhook_support import Receiver, readme_verifier

pytestmark = pytest.mark.e2e

ENGLISH = catalog("en")
ORGANIZER = ("organizer@demo.bilten.org", "Demo-organizer-2026")
DEMO_ORGANIZATION = "Bilten Demo Productions"


def _event_id(live_app: LiveApp, title: str) -> str:
    with sqlite3.connect(live_app.database_path) as db:
        (raw,) = db.execute("SELECT id FROM event WHERE title = ?", (title,)).fetchone()
    return str(uuid.UUID(raw))


def _wait_for(receiver: Receiver, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while len(receiver.requests) < count:
        assert time.monotonic() < deadline, f"the receiver got {len(receiver.requests)} of {count} webhooks"
        time.sleep(0.2)


def test_owner_adds_an_endpoint_and_sends_a_delivery_again(browser: Browser, live_app: LiveApp) -> None:
    owner_context = browser.new_context(base_url=live_app.base_url, locale="en-US")
    buyer_context = browser.new_context(base_url=live_app.base_url, locale="en-US")
    with Receiver() as receiver:
        try:
            owner = owner_context.new_page()
            log_in(owner, *ORGANIZER, next_path="/organizer")
            owner.wait_for_url(re.compile(r"/organizer/?$"))
            wait_loaded(owner, "organizer")
            owner.locator(".my-organization", has_text=DEMO_ORGANIZATION).locator(".webhooks-link").click()
            owner.wait_for_url(re.compile(r"/organizer/organizations/[0-9a-f-]{36}/webhooks/?$"))
            wait_loaded(owner, "webhooks")
            expect(owner.locator("h1")).to_have_text(DEMO_ORGANIZATION)

            # A URL that is no http(s) address: a clear error, nothing added.
            owner.locator("#field-webhook-url").fill("ftp://example.org/hooks")
            owner.locator("#webhook-add").click()
            expect(owner.locator("#webhook-error")).to_have_text(ENGLISH["error.webhook_url_invalid"])

            owner.locator("#field-webhook-url").fill(receiver.url)  # demo mode: local targets allowed
            owner.locator("#webhook-add").click()
            expect(owner.locator("#webhook-secret")).to_have_text(re.compile(r"^whsec_[0-9a-f]{48}$"))
            secret = owner.locator("#webhook-secret").inner_text()
            expect(owner.locator(".webhook-endpoint")).to_contain_text(receiver.url)

            buyer = buyer_context.new_page()
            open_page(buyer, f"/events/{_event_id(live_app, 'Riverside Jazz Night')}", "event")
            choose_tickets(buyer, "Standing", 1)
            reserve_as_guest(buyer, "webhook.guest@example.org")
            buyer.locator("#test-mode-panel").locator("#pay-test").click()
            expect(buyer.locator("#order-confirmed")).to_be_visible()

            _wait_for(receiver, 1)  # the app's own worker delivered it
            first = receiver.requests[0]
            body = json.loads(first.body)
            assert body["type"] == "order.paid" and first.headers["x-bilten-event"] == "order.paid"
            timestamp = int(first.headers["x-bilten-signature"].split(",")[0].removeprefix("t="))
            assert readme_verifier()(secret, first.headers["x-bilten-signature"], first.body, now=timestamp)

            owner.reload()
            wait_loaded(owner, "webhooks")
            row = owner.locator(".webhook-delivery", has_text="order.paid")
            expect(row).to_contain_text(ENGLISH["webhooks.status.succeeded"])
            expect(row).to_contain_text("HTTP 200")
            row.locator(".send-again").click()
            expect(owner.get_by_text(ENGLISH["webhooks.sent_again"])).to_be_visible()

            _wait_for(receiver, 2)
            assert receiver.requests[1].headers["x-bilten-delivery"] == body["id"]  # the same delivery
            assert json.loads(receiver.requests[1].body) == body
        finally:
            owner_context.close()
            buyer_context.close()
