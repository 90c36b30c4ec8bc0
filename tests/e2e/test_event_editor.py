"""An organizer creates an event with two ticket types through the editor pages and publishes it;
buyers find it on the home page with both types, its picture and its description rendered safely;
a buyer in a second browser buys a ticket and the organizer's dashboard shows the sale within a
second, without reload."""

from __future__ import annotations

import io
import re
import sqlite3
import uuid
from datetime import datetime, timedelta

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.e2e.support import (
    LiveApp,
    catalog,
    choose_tickets,
    log_in,
    number_in,
    open_page,
    reserve_as_guest,
    seconds_until_text,
    wait_loaded,
)

pytestmark = pytest.mark.e2e

ENGLISH = catalog("en")
ORGANIZER = ("organizer@demo.bilten.org", "Demo-organizer-2026")
STAFF = ("staff@demo.bilten.org", "Demo-staff-2026")
TITLE = "Editor Test Festival"


def png_bytes() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (640, 360), (20, 110, 190)).save(output, "PNG")
    return output.getvalue()


def add_ticket_type(page: Page, name: str, price: str, quantity: str, *, hidden: bool = False) -> None:
    page.locator("#add-type").click()
    form = page.locator("#type-form")
    expect(form).to_be_visible()
    page.locator("#type-name").fill(name)
    page.locator("#type-price").fill(price)
    page.locator("#type-quantity").fill(quantity)
    if hidden:
        page.locator("#type-hidden").click()
    page.locator("#save-type").click()
    expect(page.locator("#ticket-type-list")).to_contain_text(name)
    expect(form).to_be_hidden()


def test_organizer_publishes_an_event_a_buyer_buys_and_the_dashboard_shows_it_live(
    page: Page, browser: Browser, live_app: LiveApp
):
    log_in(page, *ORGANIZER, next_path="/organizer")
    wait_loaded(page, "organizer")
    page.locator("#new-event").click()
    wait_loaded(page, "event-new")

    starts = (datetime.now() + timedelta(days=40)).replace(hour=19, minute=30, second=0, microsecond=0)
    page.locator("#field-title").fill(TITLE)
    page.locator("#field-description").fill("Live **jazz** all night. <b>raw</b> [x](javascript:alert(1))")
    page.locator("#field-venue_name").fill("Tempelhof Hangar 4")
    page.locator("#field-city").fill("Berlin")
    page.locator("#field-starts_at").fill(starts.strftime("%Y-%m-%dT%H:%M"))
    page.locator("#field-ends_at").fill((starts + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M"))
    # A bad end first: a clear error, nothing created.
    page.locator("#field-ends_at").fill((starts - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    page.locator("#create-event").click()
    expect(page.locator("#details-error")).to_contain_text(ENGLISH["error.event_ends_before_start"])
    page.locator("#field-ends_at").fill((starts + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M"))
    page.locator("#create-event").click()

    page.wait_for_url("**/organizer/events/*/edit")
    edit_url = page.url.removeprefix(page.url.split("/organizer")[0])
    wait_loaded(page, "event-edit")
    expect(page.locator("#editor-title")).to_have_text(TITLE)
    expect(page.locator("#event-status")).to_have_attribute("data-status", "draft")
    # The preview shows the Markdown, with raw HTML as text and no javascript: link.
    preview = page.locator("#description-preview")
    expect(preview.locator("strong")).to_have_text("jazz")
    expect(preview).to_contain_text("<b>raw</b>")
    expect(preview.locator("a")).to_have_count(0)

    # The picture: a script renamed .png is refused with a clear error, a real PNG is kept.
    upload = page.locator("#event-image-upload input[type=file]")
    upload.set_input_files(
        files=[{"name": "evil.png", "mimeType": "image/png", "buffer": b"<script>alert(1)</script>"}]
    )
    expect(page.locator("#image-error")).to_contain_text(ENGLISH["error.image_unsupported"])
    upload.set_input_files(files=[{"name": "poster.png", "mimeType": "image/png", "buffer": png_bytes()}])
    expect(page.locator("#event-image")).to_have_attribute("src", re.compile(r"^/api/media/[0-9a-f]{32}\.png$"))
    expect(page.locator("#image-error")).to_have_count(0)
    assert page.request.get(page.locator("#event-image").get_attribute("src")).headers["content-type"] == "image/png"

    add_ticket_type(page, "Early bird", "19.50", "150")
    add_ticket_type(page, "Regular", "29", "300")
    add_ticket_type(page, "Crew", "0", "20", hidden=True)
    expect(page.locator("#ticket-type-list tbody tr")).to_have_count(3)
    # A minimum above the maximum is refused with the translated message.
    page.locator("#ticket-type-list tbody tr", has_text="Regular").locator(".edit-type").click()
    expect(page.locator("#type-name")).to_have_value("Regular")
    expect(page.locator("#type-price")).to_have_value("29.00")
    page.locator("#type-min").fill("5")
    page.locator("#type-max").fill("2")
    page.locator("#save-type").click()
    expect(page.locator("#type-error")).to_contain_text(ENGLISH["error.order_limits_invalid"].split("{")[0])
    page.get_by_role("button", name=ENGLISH["editor.close_form"]).click()

    page.locator("#publish").click()
    expect(page.locator("#event-status")).to_have_attribute("data-status", "published")

    open_page(page, "/", "home")
    card = page.locator(".event-card", has_text=TITLE)
    expect(card).to_be_visible()
    card.get_by_role("link", name=TITLE).click()
    wait_loaded(page, "event")
    expect(page.locator("#event-title")).to_have_text(TITLE)
    types = page.locator("#ticket-types .ticket-type")
    expect(types).to_have_count(2)
    expect(types.nth(0)).to_contain_text("Early bird")
    expect(types.nth(0)).to_contain_text("19.50")
    expect(types.nth(1)).to_contain_text("Regular")
    description = page.locator("#event-description")
    expect(description.locator("strong")).to_have_text("jazz")
    expect(description).to_contain_text("<b>raw</b>")
    expect(description.locator("a")).to_have_count(0)
    expect(description.locator("b")).to_have_count(0)
    expect(page.locator("#event-image")).to_have_attribute("src", re.compile(r"^/api/media/[0-9a-f]{32}\.png$"))
    event_path = page.url.removeprefix(page.url.split("/events/")[0])

    # The organizer watches the event's dashboard while a buyer in a second browser buys a ticket:
    # the sale shows within a second, without reload.
    open_page(page, edit_url.removesuffix("/edit"), "back-office")
    sold = number_in(page, "#total-sold")
    buyer_context = browser.new_context(base_url=live_app.base_url, locale="en-US")
    try:
        buyer = buyer_context.new_page()
        open_page(buyer, event_path, "event")
        choose_tickets(buyer, "Regular", 1)
        reserve_as_guest(buyer, f"fan-{uuid.uuid4().hex[:6]}@example.org")
        buyer.locator("#test-mode-panel #pay-test").click()
        expect(buyer.locator("#order-confirmed")).to_be_visible()
        latency = seconds_until_text(page, "#total-sold", str(sold + 1))
        assert latency < 1.0, f"the sale reached the dashboard {latency:.2f} s after the buyer saw it confirmed"
    finally:
        buyer_context.close()

    # Cancelling asks first, then the event is cancelled and its page says so.
    open_page(page, edit_url, "event-edit")
    page.locator("#cancel-event").click()
    page.locator("#confirm-cancel-event").click()
    expect(page.locator("#event-status")).to_have_attribute("data-status", "cancelled")
    expect(page.locator("#cancelled-note")).to_be_visible()


def test_door_staff_cannot_open_the_editor(page: Page):
    log_in(page, *STAFF, next_path="/organizer/events/new")
    wait_loaded(page, "event-new")
    expect(page.locator("#forbidden")).to_be_visible()
    expect(page.locator("#event-form")).to_have_count(0)


def test_an_organizer_cannot_open_another_organizations_event_in_the_editor(page: Page, live_app: LiveApp):
    with sqlite3.connect(live_app.database_path) as db:
        (raw,) = db.execute("SELECT id FROM event WHERE title = ?", ("Harbor Sunset Cruise",)).fetchone()
    log_in(page, *ORGANIZER, next_path="/organizer")
    wait_loaded(page, "organizer")
    open_page(page, f"/organizer/events/{uuid.UUID(raw)}/edit", "event-edit")
    expect(page.locator("#forbidden")).to_be_visible()
    expect(page.locator("#event-form")).to_have_count(0)
    open_page(page, f"/organizer/events/{uuid.uuid4()}/edit", "event-edit")
    expect(page.locator("#not-found")).to_be_visible()
