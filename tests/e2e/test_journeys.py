"""Journeys through the compiled app in headless Chromium: the listing, logging in, Arabic RTL,
and the page guard."""

from __future__ import annotations

import re
import secrets
import sqlite3
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from bilten.i18n import format_datetime, translate_plural
from tests.e2e.scan_support import api
from tests.e2e.support import (
    LiveApp,
    catalog,
    log_in,
    open_page,
    sign_in_after_signing_up,
    wait_for_cookie,
    wait_loaded,
)

pytestmark = pytest.mark.e2e

ENGLISH = catalog("en")
ARABIC = catalog("ar")

ATTENDEE = ("attendee@demo.bilten.org", "Demo-attendee-2026")
ADMIN = ("admin@demo.bilten.org", "Demo-admin-2026")
ORGANIZER = ("organizer@demo.bilten.org", "Demo-organizer-2026")


def _events(live_app: LiveApp, status: str) -> list[tuple[str, datetime, str]]:
    """(title, start in UTC, time zone) of the demo events with this status, straight from the database."""
    with sqlite3.connect(live_app.database_path) as db:
        rows = db.execute(
            "SELECT title, starts_at, timezone FROM event WHERE status = ? ORDER BY starts_at", (status,)
        ).fetchall()
    return [(title, datetime.fromisoformat(starts).replace(tzinfo=UTC), tz) for title, starts, tz in rows]


def test_home_lists_published_events_but_not_drafts(page: Page, live_app: LiveApp) -> None:
    published = _events(live_app, "published")
    drafts = _events(live_app, "draft")
    assert published and drafts, "the demo data should hold published and draft events"

    open_page(page, "/", "home")

    cards = page.locator(".event-card")
    expect(cards).to_have_count(len(published))
    title, starts_at, timezone = published[0]
    card = cards.filter(has_text=title)
    expect(card).to_be_visible()
    # The start is shown in the event's own time zone, in the reader's language.
    expect(card).to_contain_text(format_datetime(starts_at, timezone, "en"))
    for draft_title, _, _ in drafts:
        expect(page.get_by_text(draft_title)).to_have_count(0)

    # The text search narrows the list down.
    page.locator("#search-text").fill(title)
    page.locator("#search-submit").click()
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text(title)

    # A card leads to the event's page with its ticket types.
    cards.first.get_by_role("link", name=title).click()
    page.wait_for_url(re.compile(r"/events/[0-9a-f-]{36}/?$"))
    wait_loaded(page, "event")
    expect(page.locator("#event-title")).to_have_text(title)
    expect(page.locator(".ticket-type").first).to_be_visible()
    expect(page.locator(".ticket-type").first).to_contain_text(re.compile(r"\d+ left|Sold out"))


def test_attendee_logs_in_and_sees_account(page: Page) -> None:
    log_in(page, *ATTENDEE, next_path="/account")

    page.wait_for_url(re.compile(r"/account/?$"))
    wait_loaded(page, "account")
    expect(page.locator("#account-email")).to_have_text(ATTENDEE[0])
    expect(page.locator("#account-role")).to_have_text(ENGLISH["role.attendee"])
    # The navbar now offers the account and no admin area.
    expect(page.locator("#nav-account")).to_be_visible()
    expect(page.locator("#nav-admin")).to_have_count(0)


def test_wrong_password_shows_translated_error(page: Page) -> None:
    log_in(page, ATTENDEE[0], "not-the-password-123")

    expect(page.locator("#login-error")).to_contain_text(ENGLISH["error.invalid_credentials"])
    assert re.search(r"/login/?$", page.url)


def test_arabic_turns_the_page_right_to_left_and_sticks(page: Page, context: BrowserContext) -> None:
    open_page(page, "/", "home")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")

    page.locator("#lang-ar").click()

    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    expect(page.locator("#app-root")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", level=1)).to_have_text(ARABIC["home.title"])
    wait_for_cookie(context, "bilten_locale", "ar")

    page.reload()
    wait_loaded(page, "home")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("#app-root")).to_have_attribute("lang", "ar")
    expect(page.get_by_role("heading", level=1)).to_have_text(ARABIC["home.title"])
    expect(page.locator("#nav-login")).to_have_text(ARABIC["nav.login"])


def test_switching_language_on_an_event_page_reformats_it_in_place(page: Page, live_app: LiveApp) -> None:
    """The event page's state keeps its own locale: a switch reformats dates and the live badges
    at once, without a reload."""
    title, starts_at, timezone = _events(live_app, "published")[0]
    open_page(page, "/", "home")
    page.locator(".event-card").filter(has_text=title).get_by_role("link", name=title).click()
    page.wait_for_url(re.compile(r"/events/[0-9a-f-]{36}/?$"))
    wait_loaded(page, "event")
    expect(page.locator("#event-starts")).to_have_text(format_datetime(starts_at, timezone, "en"))
    badge = page.locator(".tickets-left").first
    expect(badge).to_have_text(re.compile(r"^\d+ left$|^Sold out$"))
    left = badge.get_attribute("data-left")
    page.evaluate("window.__sameDocument = true")

    page.locator("#lang-ar").click()

    expect(page.locator("#event-starts")).to_have_text(format_datetime(starts_at, timezone, "ar"))
    arabic = translate_plural("event.left", int(left), "ar") if int(left) > 0 else ARABIC["event.sold_out"]
    expect(badge).to_have_text(arabic)
    assert page.evaluate("window.__sameDocument") is True


def test_language_choice_follows_the_account(browser: Browser, live_app: LiveApp) -> None:
    """A signed-in user's choice is stored on the account and applied at the next login elsewhere."""
    email = f"reader-{secrets.token_hex(4)}@example.org"
    password = "Quiet-river-" + secrets.token_hex(4)

    first = browser.new_context(base_url=live_app.base_url)
    page = first.new_page()
    open_page(page, "/register?next=/account", "register")
    page.locator("#field-full_name").fill("Layla Reader")
    page.locator("#field-email").fill(email)
    page.locator("#field-password").fill(password)
    page.locator("#field-password_confirm").fill(password)
    page.locator("#register-submit").click()
    sign_in_after_signing_up(page, email, password)
    page.wait_for_url(re.compile(r"/account/?$"))
    wait_loaded(page, "account")
    expect(page.locator("#account-email")).to_have_text(email)
    page.locator("#lang-ar").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    first.close()

    second = browser.new_context(base_url=live_app.base_url)
    page = second.new_page()
    log_in(page, email, password, next_path="/account")
    page.wait_for_url(re.compile(r"/account/?$"))
    wait_loaded(page, "account")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", level=1)).to_have_text(ARABIC["account.title"])
    second.close()

    # A choice made in this browser before logging in wins over the account's.
    third = browser.new_context(base_url=live_app.base_url)
    page = third.new_page()
    open_page(page, "/", "home")
    page.locator("#lang-en").click()
    wait_for_cookie(third, "bilten_locale", "en")  # English was already shown: wait for the choice itself
    log_in(page, email, password, next_path="/account")
    page.wait_for_url(re.compile(r"/account/?$"))
    wait_loaded(page, "account")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.get_by_role("heading", level=1)).to_have_text(ENGLISH["account.title"])
    third.close()


def test_browser_language_is_used_until_the_reader_chooses(browser: Browser, live_app: LiveApp) -> None:
    context = browser.new_context(base_url=live_app.base_url, locale="ar-EG")
    page = context.new_page()
    open_page(page, "/", "home")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", level=1)).to_have_text(ARABIC["home.title"])
    assert not [c for c in context.cookies() if c["name"] == "bilten_locale"]
    context.close()


def test_attendee_is_not_allowed_into_admin(page: Page) -> None:
    log_in(page, *ATTENDEE)
    page.wait_for_url(re.compile(r"/my-tickets/?$"))

    open_page(page, "/admin", "admin")

    expect(page.locator("#forbidden")).to_be_visible()
    expect(page.locator("#forbidden")).to_contain_text(ENGLISH["error.forbidden"])
    expect(page.locator("#users-table")).to_have_count(0)


def test_anonymous_account_visit_goes_to_login(page: Page) -> None:
    page.goto("/account")

    page.wait_for_url(re.compile(r"/login/?\?next=/account/?$"))
    wait_loaded(page, "login")
    expect(page.locator("#login-form")).to_be_visible()


def test_admin_logs_in_via_next_and_sees_users(page: Page) -> None:
    page.goto("/admin")
    page.wait_for_url(re.compile(r"/login/?\?next=/admin/?$"))
    wait_loaded(page, "login")

    page.locator("#field-email").fill(ADMIN[0])
    page.locator("#field-password").fill(ADMIN[1])
    page.locator("#login-submit").click()

    page.wait_for_url(re.compile(r"/admin/?$"))
    wait_loaded(page, "admin")
    table = page.locator("#users-table")
    expect(table).to_be_visible()
    expect(table).to_contain_text(ATTENDEE[0])
    expect(table).to_contain_text(ORGANIZER[0])
    expect(page.locator("#forbidden")).to_have_count(0)

    page.locator("#user-search").fill("organizer@")
    page.locator("#user-search").press("Enter")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text(ORGANIZER[0])


def test_organizer_sees_own_events_with_status(page: Page, live_app: LiveApp) -> None:
    log_in(page, *ORGANIZER, next_path="/organizer")
    page.wait_for_url(re.compile(r"/organizer/?$"))
    wait_loaded(page, "organizer")

    table = page.locator("#organizer-events")
    draft_title = _events(live_app, "draft")[0][0]
    draft_row = table.locator("tr", has_text=draft_title)
    expect(draft_row).to_be_visible()
    expect(draft_row).to_contain_text(ENGLISH["status.draft"])
    expect(draft_row).to_contain_text(re.compile(r"\d+ / \d+"))


@pytest.mark.parametrize(
    ("who", "lands_on", "page_name"),
    [
        (ORGANIZER, "/organizer", "organizer"),
        (("staff@demo.bilten.org", "Demo-staff-2026"), "/scan", "scan"),
        (ADMIN, "/admin", "admin"),
        (ATTENDEE, "/my-tickets", "my-tickets"),
    ],
)
def test_signing_in_lands_each_person_where_they_work(page: Page, who, lands_on: str, page_name: str) -> None:  # noqa: ANN001
    log_in(page, *who)
    page.wait_for_url(re.compile(re.escape(lands_on) + "/?$"))
    wait_loaded(page, page_name)


def test_signing_in_from_a_page_goes_back_to_it(page: Page, live_app: LiveApp) -> None:
    """A buyer sent to the login page from an event comes back to that event, not to a default."""
    events = api(live_app.base_url, "GET", "/api/v1/events")
    path = f"/events/{events[0]['id']}"
    log_in(page, *ORGANIZER, next_path=path)
    page.wait_for_url(re.compile(re.escape(path) + "/?$"))
    wait_loaded(page, "event")
