"""An organizer gives an event a German title in the editor's language tabs; a buyer browsing in
German sees it on the listing and the event page, a buyer browsing in Italian (no Italian title
given) sees the event's main-language title."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.support import LiveApp, catalog, log_in, open_page, wait_loaded

pytestmark = pytest.mark.e2e

ORGANIZER = ("organizer@demo.bilten.org", "Demo-organizer-2026")
GERMAN_TITLE = "Hafenlichter – Sommernacht"


@pytest.fixture
def organizers_event(live_app: LiveApp) -> Iterator[tuple[str, str]]:
    """A published demo event of the organizer's organization, without translations (restored
    after): (event id, its main-language title)."""
    with sqlite3.connect(live_app.database_path) as db:
        event_id, title, translations = db.execute(
            "SELECT e.id, e.title, e.translations FROM event e"
            " JOIN membership m ON m.organization_id = e.organization_id"
            " JOIN user_account u ON u.id = m.user_id"
            " WHERE u.email = ? AND e.status = 'published' ORDER BY e.starts_at DESC LIMIT 1",
            (ORGANIZER[0],),
        ).fetchone()
    try:
        yield str(uuid.UUID(event_id)), title
    finally:
        with sqlite3.connect(live_app.database_path) as db:
            db.execute("UPDATE event SET translations = ? WHERE id = ?", (translations, event_id))


def test_a_german_title_reaches_german_buyers_and_italian_buyers_get_the_main_language(
    page: Page, browser: Browser, live_app: LiveApp, organizers_event
):
    event_id, main_title = organizers_event
    log_in(page, *ORGANIZER, next_path="/organizer")
    wait_loaded(page, "organizer")
    open_page(page, f"/organizer/events/{event_id}/edit", "event-edit")

    # The main language's tab is not offered (its texts are the fields above); German is.
    expect(page.locator("#field-main-language")).to_have_value("en")
    expect(page.locator("#language-tab-en")).to_have_count(0)
    # Choosing German as the main language hides German's tab and offers English's; back to English.
    page.locator("#field-main-language").select_option("de")
    expect(page.locator("#language-tab-de")).to_have_count(0)
    expect(page.locator("#language-tab-en")).to_be_visible()
    page.locator("#field-main-language").select_option("en")
    expect(page.locator("#language-tab-en")).to_have_count(0)
    page.locator("#language-tab-de").click()
    expect(page.locator("#language-tab-de")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#language-panel-de")).to_be_visible()
    expect(page.locator("#language-panel-fr")).to_be_hidden()
    page.locator("#field-title__de").fill(GERMAN_TITLE)
    page.locator("#field-venue_notes__de").fill("Einlass über Tor B.")
    page.locator("#save-details").click()
    expect(page.get_by_text(catalog("en")["editor.saved"])).to_be_visible()
    # Reloaded from the database: the German tab holds what was saved.
    page.reload()
    wait_loaded(page, "event-edit")
    page.locator("#language-tab-de").click()
    expect(page.locator("#field-title__de")).to_have_value(GERMAN_TITLE)

    readers = {}
    for locale in ("de-DE", "it-IT"):
        context = browser.new_context(
            base_url=live_app.base_url, locale=locale, viewport={"width": 1280, "height": 900}
        )
        readers[locale[:2]] = context.new_page()
    try:
        german = readers["de"]
        open_page(german, "/", "home")
        expect(german.locator(f'a[href="/events/{event_id}"]').first).to_contain_text(GERMAN_TITLE)
        open_page(german, f"/events/{event_id}", "event")
        expect(german.locator("#event-title")).to_have_text(GERMAN_TITLE)
        expect(german.get_by_role("heading", name=catalog("de")["event.venue_notes"])).to_be_visible()
        expect(german.locator("#event-venue-notes")).to_have_text("Einlass über Tor B.")

        italian = readers["it"]
        open_page(italian, f"/events/{event_id}", "event")
        expect(italian.locator("#event-title")).to_have_text(main_title)
        expect(italian.get_by_role("heading", name=catalog("it")["event.about"])).to_be_visible()  # the page is Italian
        # The German reader switches to Italian on the open page: the main-language title, at once.
        german.locator("#lang-it").click()
        expect(german.locator("#event-title")).to_have_text(main_title)
    finally:
        for reader in readers.values():
            reader.context.close()
