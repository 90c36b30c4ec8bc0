"""A reader switches an event page to German, then to French: every text, the date (without
seconds) and the "N left" counts, worded by CLDR's plural rules, follow at once."""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from bilten.i18n import format_datetime, translate_plural
from tests.e2e.support import LiveApp, catalog, open_page

pytestmark = pytest.mark.e2e


@pytest.fixture
def one_seat_left(live_app: LiveApp) -> Iterator[tuple[str, str, datetime, str]]:
    """A published demo event whose first visible ticket type has exactly one seat left (restored after):
    (event id, ticket type id, start in UTC, time zone)."""
    with sqlite3.connect(live_app.database_path) as db:
        event_id, type_id, quantity, reserved, starts, timezone = db.execute(
            "SELECT e.id, t.id, t.quantity, t.reserved, e.starts_at, e.timezone FROM ticket_type t"
            " JOIN event e ON e.id = t.event_id WHERE e.status = 'published' AND NOT t.is_hidden"
            " ORDER BY e.starts_at, t.id LIMIT 1"
        ).fetchone()
        db.execute("UPDATE ticket_type SET quantity = ? WHERE id = ?", (reserved + 1, type_id))
    try:
        start = datetime.fromisoformat(starts).replace(tzinfo=UTC)
        yield str(uuid.UUID(event_id)), str(uuid.UUID(type_id)), start, timezone
    finally:
        with sqlite3.connect(live_app.database_path) as db:
            db.execute("UPDATE ticket_type SET quantity = ? WHERE id = ?", (quantity, type_id))


def test_event_page_in_german_and_french_with_plural_counts(page: Page, live_app: LiveApp, one_seat_left) -> None:
    event_id, type_id, starts_at, timezone = one_seat_left
    open_page(page, f"/events/{event_id}", "event")
    badge = page.locator(f'[data-ticket-type-id="{type_id}"] .tickets-left')
    expect(badge).to_have_text("1 left")
    others = page.locator(f'.ticket-type:not([data-ticket-type-id="{type_id}"]) .tickets-left[data-left]')

    for locale in ("de", "fr"):
        texts = catalog(locale)
        page.locator(f"#lang-{locale}").click()

        expect(page.get_by_role("heading", name=texts["event.about"])).to_be_visible()
        starts = format_datetime(starts_at, timezone, locale)
        expect(page.locator("#event-starts")).to_have_text(starts)
        assert not re.search(r"\d:\d\d:\d\d", starts)
        expect(badge).to_have_text(translate_plural("event.left", 1, locale))
        for index in range(others.count()):
            left = int(others.nth(index).get_attribute("data-left") or 0)
            if left > 0:
                expect(others.nth(index)).to_have_text(translate_plural("event.left", left, locale))

    # French words a single seat in the singular and several in the plural.
    assert translate_plural("event.left", 1, "fr") == "1 restant" != translate_plural("event.left", 2, "fr")
    expect(page.locator("#app-root")).to_have_attribute("lang", "fr")
