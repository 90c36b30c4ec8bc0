"""Over a rate limit, the browser says so in a translated toast, and nothing is sent."""

from __future__ import annotations

import email
import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import LiveApp, catalog, open_page

pytestmark = pytest.mark.e2e

TARGET = "staff@demo.bilten.org"  # a real account (so links are really mailed) no other journey resets


def reset_emails_to(live_app: LiveApp, address: str) -> int:
    count = 0
    for path in live_app.mail_dir.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes())
        count += message["To"] == address and "reset" in message["Subject"].lower()
    return count


def test_a_fourth_reset_link_for_one_address_within_the_hour_gets_a_toast(page: Page, live_app: LiveApp) -> None:
    english = catalog("en")
    for _ in range(3):  # RATE_LIMIT_PASSWORD_RESET_ACCOUNT is 3 an hour in the test app
        open_page(page, "/forgot-password", "forgot-password")
        page.locator("#field-email").fill(TARGET)
        page.locator("#forgot-submit").click()
        expect(page.locator("#reset-requested")).to_have_text(english["forgot.sent"])

    open_page(page, "/forgot-password", "forgot-password")
    page.locator("#field-email").fill(TARGET)
    page.locator("#forgot-submit").click()
    before_the_wait = english["error.rate_limited_minutes"].split("{minutes}")[0]  # "... Please wait "
    expect(page.locator("[data-sonner-toast]").filter(has_text=before_the_wait)).to_have_text(
        re.compile(re.escape(before_the_wait) + r"(59|60) minutes")
    )
    expect(page.locator("#reset-requested")).to_have_count(0)  # the form stays

    # One email for the lot (the service sends at most one a minute); the fourth did not even ask.
    deadline = time.monotonic() + 15
    while reset_emails_to(live_app, TARGET) < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)  # the mail worker had time for another, had there been one
    assert reset_emails_to(live_app, TARGET) == 1
