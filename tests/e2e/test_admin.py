"""The admin area in headless Chromium: an admin disables an account, whose open browser session
ends at once, and the change shows up under "Recent changes"."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.scan_support import api
from tests.e2e.support import LiveApp, catalog, log_in, open_page, wait_loaded

pytestmark = pytest.mark.e2e

ENGLISH = catalog("en")
ADMIN = ("admin@demo.bilten.org", "Demo-admin-2026")
PASSWORD = "Quiet-meadow-58"


def test_admin_disables_an_account_and_its_session_ends(page: Page, browser: Browser, live_app: LiveApp) -> None:
    # Someone with an account of their own, signed in in another browser.
    email = f"member-{secrets.token_hex(3)}@example.org"
    api(live_app.base_url, "POST", "/api/v1/auth/register", {"email": email, "password": PASSWORD})
    member = browser.new_context(base_url=live_app.base_url, locale="en-US").new_page()
    log_in(member, email, PASSWORD)
    member.wait_for_url(re.compile(r"/my-tickets/?$"))

    log_in(page, *ADMIN, next_path="/admin")
    page.wait_for_url(re.compile(r"/admin/?$"))
    wait_loaded(page, "admin")
    page.locator("#user-search").fill(email)
    page.locator("#user-search").press("Enter")
    row = page.locator("#users-table tbody tr", has_text=email)
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-active", "true")

    row.locator(".toggle-user").click()
    dialog = page.locator("#toggle-dialog")
    expect(dialog).to_contain_text(ENGLISH["admin.confirm_disable_title"])
    page.locator("#confirm-toggle").click()

    expect(row).to_have_attribute("data-active", "false")
    expect(row.locator(".user-status")).to_have_text(ENGLISH["admin.disabled"])
    expect(page.get_by_text(ENGLISH["admin.user_disabled"].format(email=email))).to_be_visible()

    # The other browser is signed out at its next step, and cannot sign in again.
    member.goto("/account")
    member.wait_for_url(re.compile(r"/login/?\?next=/account/?$"))
    wait_loaded(member, "login")
    member.locator("#field-email").fill(email)
    member.locator("#field-password").fill(PASSWORD)
    member.locator("#login-submit").click()
    expect(member.get_by_text(ENGLISH["error.invalid_credentials"])).to_be_visible()
    member.context.close()

    # The change is listed with who made it.
    page.locator("#tab-changes").click()
    changes = page.locator("#changes-table")
    expect(changes.locator('tr[data-action="user.disabled"]').first).to_contain_text(email)
    expect(changes.locator('tr[data-action="user.disabled"]').first).to_contain_text(ADMIN[0])


def test_admin_sees_every_organizations_events_with_a_link_to_their_back_office(page: Page) -> None:
    log_in(page, *ADMIN, next_path="/admin?tab=events")
    page.wait_for_url(re.compile(r"/admin/?\?tab=events$"))
    wait_loaded(page, "admin")
    table = page.locator("#events-table")
    expect(table.locator("tbody tr").first).to_be_visible()
    expect(table.locator("tbody tr").first.locator(".event-sold")).to_have_text(re.compile(r"^\d+ / \d+$"))

    page.locator("#event-search").fill("jazz")
    page.locator("#event-search").press("Enter")
    expect(table.locator("tbody tr")).to_have_count(1)
    table.locator(".event-office-link").click()
    page.wait_for_url(re.compile(r"/organizer/events/[0-9a-f-]+/?$"))
    wait_loaded(page, "back-office")
    expect(page.locator("#forbidden")).to_have_count(0)

    open_page(page, "/admin?tab=organizations", "admin")
    expect(page.locator("#organizations-table tbody tr").first).to_be_visible()
