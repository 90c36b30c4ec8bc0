"""Accounts under abuse, in headless Chromium: a locked owner follows the emailed unlock link and
signs in while guessing goes on; a new account confirms its address and then founds an organization."""

from __future__ import annotations

import re
import secrets
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.scan_support import api
from tests.e2e.support import LiveApp, catalog, emailed_link, log_in, open_page, wait_loaded

pytestmark = pytest.mark.e2e

ENGLISH = catalog("en")
PASSWORD = "Quiet-meadow-58"


def _wrong_login(live_app: LiveApp, email: str) -> int:
    request = urllib.request.Request(
        live_app.url("/api/v1/auth/login"),
        data=f'{{"email": "{email}", "password": "Wrong-guess-123"}}'.encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        urllib.request.urlopen(request, timeout=20)
    except urllib.error.HTTPError as exc:
        return exc.code
    raise AssertionError("a wrong password was accepted")


def test_a_locked_owner_unlocks_by_email_and_signs_in_despite_more_guesses(page: Page, live_app: LiveApp) -> None:
    email = f"door-{secrets.token_hex(3)}@example.org"
    api(live_app.base_url, "POST", "/api/v1/auth/register", {"email": email, "password": PASSWORD})
    assert [_wrong_login(live_app, email) for _ in range(11)] == [401] * 10 + [429]

    # The owner cannot get in with the right password...
    log_in(page, email, PASSWORD)
    expect(page.locator("#login-error")).to_have_text(ENGLISH["error.too_many_attempts"].format(minutes=15))

    # ...until they follow the link emailed with the lock. The attacker goes on meanwhile.
    link = emailed_link(live_app, email, r"/login\?unlock=[A-Za-z0-9_-]+")
    open_page(page, link, "login")
    expect(page.locator("#login-notice")).to_have_text(ENGLISH["login.unlocked"].format(email=email))
    assert [_wrong_login(live_app, email) for _ in range(11)] == [401] * 10 + [429]
    page.locator("#field-email").fill(email)
    page.locator("#field-password").fill(PASSWORD)
    page.locator("#login-submit").click()
    expect(page.locator("#nav-account")).to_be_visible()
    expect(page.locator("#nav-login")).to_have_count(0)


def test_a_confirmation_link_already_used_or_forged_is_refused(page: Page, live_app: LiveApp) -> None:
    open_page(page, "/verify-email?token=forged", "verify-email")
    expect(page.locator("#verify-result")).to_have_text(ENGLISH["verify.failed"])
    open_page(page, "/login?unlock=forged", "login")
    expect(page.locator("#login-error")).to_have_text(ENGLISH["login.unlock_invalid"])


def _sign_up(page: Page, email: str, password: str) -> str:
    open_page(page, "/register", "register")
    page.locator("#field-full_name").fill("Sam Stranger")
    page.locator("#field-email").fill(email)
    page.locator("#field-password").fill(password)
    page.locator("#field-password_confirm").fill(password)
    page.locator("#register-submit").click()
    page.wait_for_url(re.compile(r"/login/?\?.*registered=1"))
    wait_loaded(page, "login")
    return page.locator("#app-root").inner_text()


def test_signing_up_with_a_taken_address_looks_the_same_and_tells_the_owner(page: Page, live_app: LiveApp) -> None:
    taken = f"owner-{secrets.token_hex(3)}@example.org"
    api(live_app.base_url, "POST", "/api/v1/auth/register", {"email": taken, "password": PASSWORD})
    fresh = f"fresh-{secrets.token_hex(3)}@example.org"
    shown_for_fresh = _sign_up(page, fresh, "Other-meadow-77")
    fresh_url = page.url
    shown_for_taken = _sign_up(page, taken, "Other-meadow-77")
    assert shown_for_taken == shown_for_fresh and page.url == fresh_url
    expect(page.locator("#login-notice")).to_have_text(ENGLISH["login.after_register"])
    # Only the owner learns about it, by email.
    assert emailed_link(live_app, taken, r"/forgot-password") == "/forgot-password"


def test_the_account_page_shows_the_unconfirmed_address_until_the_link_is_followed(
    page: Page, live_app: LiveApp
) -> None:
    email = f"new-{secrets.token_hex(3)}@example.org"
    api(live_app.base_url, "POST", "/api/v1/auth/register", {"email": email, "password": PASSWORD})
    log_in(page, email, PASSWORD, next_path="/account")
    page.wait_for_url(re.compile(r"/account/?$"))
    wait_loaded(page, "account")
    expect(page.locator("#email-unconfirmed")).to_have_text(ENGLISH["account.email_unconfirmed"])
    page.locator("#resend-verification").click()  # a link went out a moment ago: not yet another
    expect(page.get_by_text(ENGLISH["error.too_many_requests"].format(minutes=1))).to_be_visible()
    open_page(page, emailed_link(live_app, email, r"/verify-email\?token=[A-Za-z0-9_-]+"), "verify-email")
    expect(page.locator("#verify-result")).to_have_text(ENGLISH["verify.done"])
    page.locator("#verify-to-account").click()
    page.wait_for_url(re.compile(r"/account/?$"))
    wait_loaded(page, "account")
    expect(page.locator("#email-confirmed")).to_have_text(ENGLISH["account.email_confirmed"])
    expect(page.locator("#resend-verification")).to_have_count(0)
