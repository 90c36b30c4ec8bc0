"""Managing two-factor sign-in in headless Chromium: new recovery codes and turning it off on the
account page, and an admin resetting it for someone who lost their phone."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page, expect

from bilten.services.two_factor import time_step, totp_code
from tests.e2e.scan_support import api
from tests.e2e.support import LiveApp, catalog, log_in, wait_loaded

pytestmark = pytest.mark.e2e

ENGLISH = catalog("en")
ADMIN = ("admin@demo.bilten.org", "Demo-admin-2026")
PASSWORD = "Long-enough-pass-42"


def enrolled_account(live_app: LiveApp) -> tuple[str, str, int, list[str]]:
    """A new account with two-factor sign-in set up over the API: its email, secret, the time step
    its confirming code used up, and its recovery codes."""
    email = f"tfa-{secrets.token_hex(4)}@example.org"
    base = live_app.base_url
    api(base, "POST", "/api/v1/auth/register", {"email": email, "password": PASSWORD})
    tokens = api(base, "POST", "/api/v1/auth/login", {"email": email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    secret = api(base, "POST", "/api/v1/auth/two-factor/setup", headers=headers)["secret"]
    step = time_step(datetime.now(UTC))
    confirmed = api(base, "POST", "/api/v1/auth/two-factor/confirm", {"code": totp_code(secret, step)}, headers=headers)
    return email, secret, step, confirmed["recovery_codes"]


def test_new_recovery_codes_then_turning_it_off(page: Page, live_app: LiveApp) -> None:
    email, secret, used_step, recovery = enrolled_account(live_app)
    log_in(page, email, PASSWORD, next_path="/account")
    page.locator("#field-otp").fill(recovery[0])
    page.locator("#login-submit").click()
    page.wait_for_url(re.compile(r"/account/?$"))
    wait_loaded(page, "account")
    expect(page.locator("#two-factor-status")).to_contain_text("(9 ")

    # A wrong code is refused with a translated message; a fresh one gives ten new codes.
    page.locator("#recovery-codes-code").fill("000000")
    page.locator("#recovery-codes-new").click()
    expect(page.locator("#two-factor-error")).to_contain_text(ENGLISH["error.invalid_code"])
    # The next step's code: newer than the one used up, within the one-step drift (seconds later).
    page.locator("#recovery-codes-code").fill(totp_code(secret, used_step + 1))
    page.locator("#recovery-codes-new").click()
    codes = page.locator("#recovery-codes li")
    expect(codes).to_have_count(10)
    new_code = codes.first.inner_text()
    expect(page.locator("#two-factor-status")).to_contain_text("(10 ")

    # Turning it off: a wrong password is refused, then the password and a new recovery code work.
    page.locator("#two-factor-disable-password").fill("Not-my-password-1")
    page.locator("#two-factor-disable-code").fill(new_code)
    page.locator("#two-factor-disable").click()
    expect(page.locator("#two-factor-error")).to_contain_text(ENGLISH["error.invalid_credentials"])
    page.locator("#two-factor-disable-password").fill(PASSWORD)
    page.locator("#two-factor-disable-code").fill(new_code)
    page.locator("#two-factor-disable").click()
    expect(page.locator("#two-factor-start")).to_be_visible()
    expect(page.locator("#two-factor-status")).to_have_count(0)

    # Signing in again takes the password only.
    page.locator("#logout").click()
    page.wait_for_url(re.compile(r"^http://[^/]+/$"))
    log_in(page, email, PASSWORD, next_path="/account")
    page.wait_for_url(re.compile(r"/account/?$"))


def test_an_admin_resets_two_factor_for_a_lost_phone(page: Page, browser: Browser, live_app: LiveApp) -> None:
    email, secret, used_step, _ = enrolled_account(live_app)
    member = browser.new_context(base_url=live_app.base_url, locale="en-US").new_page()
    log_in(member, email, PASSWORD, next_path="/account")
    member.locator("#field-otp").fill(totp_code(secret, used_step + 1))
    member.locator("#login-submit").click()
    member.wait_for_url(re.compile(r"/account/?$"))

    log_in(page, *ADMIN, next_path="/admin")
    page.wait_for_url(re.compile(r"/admin/?$"))
    wait_loaded(page, "admin")
    page.locator("#user-search").fill(email)
    page.locator("#user-search").press("Enter")
    row = page.locator("#users-table tbody tr", has_text=email)
    expect(row).to_have_count(1)

    row.locator(".reset-two-factor").click()
    dialog = page.locator("#reset-two-factor-dialog")
    expect(dialog).to_contain_text(ENGLISH["admin.confirm_reset_two_factor_title"])
    expect(dialog).to_contain_text(email)
    page.locator("#confirm-reset-two-factor").click()
    expect(page.get_by_text(ENGLISH["admin.two_factor_reset_done"].format(email=email))).to_be_visible()
    # The admin's own row offers no reset: an admin turns theirs off on the account page.
    own_row = page.locator("#users-table tbody tr", has_text=ADMIN[0])
    expect(own_row.locator(".reset-two-factor")).to_have_count(0)

    # The member's browser is signed out, and they sign in with the password alone.
    member.goto("/account")
    member.wait_for_url(re.compile(r"/login/?\?next=/account/?$"))
    log_in(member, email, PASSWORD, next_path="/account")
    member.wait_for_url(re.compile(r"/account/?$"))
    wait_loaded(member, "account")
    expect(member.locator("#two-factor-start")).to_be_visible()
    member.context.close()
