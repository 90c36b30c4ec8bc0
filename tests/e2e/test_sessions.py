"""The browser session as a script on the page would see it (the token stays out of reach), and
signing in with two-factor codes."""

from __future__ import annotations

import json
import re
import secrets
import urllib.request
from datetime import UTC, datetime

import pytest
from playwright.sync_api import BrowserContext, Page, WebSocket, expect

from bilten.services.two_factor import time_step, totp_code
from tests.e2e.support import LiveApp, catalog, log_in, open_page, wait_loaded

pytestmark = pytest.mark.e2e

ATTENDEE = ("attendee@demo.bilten.org", "Demo-attendee-2026")
ENGLISH = catalog("en")


class Frames:
    """Every websocket frame the page sends or receives, and how many sockets it opened."""

    def __init__(self, page: Page) -> None:
        self.texts: list[str] = []
        self.sockets = 0
        page.on("websocket", self._opened)
        # Keep a handle on the page's websockets, so the test can drop the connection.
        page.add_init_script(
            "const Native = window.WebSocket; window.__sockets = [];"
            "window.WebSocket = function (...args) { const s = new Native(...args); window.__sockets.push(s); return s; };"
            "window.WebSocket.prototype = Native.prototype; Object.assign(window.WebSocket, Native);"
        )

    def _opened(self, socket: WebSocket) -> None:
        self.sockets += 1
        socket.on("framereceived", self._frame)
        socket.on("framesent", self._frame)

    def _frame(self, payload: str | bytes) -> None:
        self.texts.append(payload if isinstance(payload, str) else payload.decode("utf-8", "replace"))


def session_cookie(context: BrowserContext) -> dict:
    found = [c for c in context.cookies() if c["name"] == "bilten_session"]
    assert len(found) == 1, context.cookies()
    return found[0]


def test_no_script_can_read_the_session_token(page: Page, context: BrowserContext) -> None:
    frames = Frames(page)
    log_in(page, *ATTENDEE, next_path="/account")
    page.wait_for_url(re.compile(r"/account/?$"))
    wait_loaded(page, "account")
    expect(page.locator("#account-email")).to_have_text(ATTENDEE[0])

    cookie = session_cookie(context)
    token = cookie["value"]
    assert len(token) >= 40
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    assert token not in page.evaluate("document.cookie")
    assert "bilten_session" not in page.evaluate("document.cookie")
    # Nothing the page stores or exchanges over the websocket holds it.
    storage = page.evaluate("JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
    assert token not in storage
    assert frames.texts, "the page should have talked to the server"
    assert not [t for t in frames.texts if token in t]

    # A reload opens a new websocket, which brings the cookie: still signed in.
    page.reload()
    wait_loaded(page, "account")
    expect(page.locator("#account-email")).to_have_text(ATTENDEE[0])

    # A dropped connection reconnects (a new websocket handshake) and stays signed in.
    opened = frames.sockets
    page.evaluate("window.__sockets.forEach((s) => s.close())")
    deadline_ms = 15_000
    waited = 0
    while frames.sockets <= opened and waited < deadline_ms:
        page.wait_for_timeout(100)
        waited += 100
    assert frames.sockets > opened, "the websocket did not reconnect"
    open_page(page, "/my-tickets", "my-tickets")
    expect(page).to_have_url(re.compile(r"/my-tickets/?$"))
    assert not [t for t in frames.texts if token in t]

    # Logging out goes through the server, which clears the HttpOnly cookie and ends the session.
    open_page(page, "/account", "account")
    page.locator("#logout").click()
    page.wait_for_url(re.compile(r"^http://[^/]+/$"))
    assert not [c for c in context.cookies() if c["name"] == "bilten_session"]
    page.goto("/account")
    page.wait_for_url(re.compile(r"/login/?\?next=/account/?$"))

    # The old token, put back by hand, is dead on the server.
    context.add_cookies([{**cookie, "value": token}])
    page.goto("/account")
    page.wait_for_url(re.compile(r"/login/?\?next=/account/?$"))


def register_by_api(live_app: LiveApp, email: str, password: str) -> None:
    request = urllib.request.Request(
        live_app.url("/api/v1/auth/register"),
        data=json.dumps({"email": email, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the local test server
        assert response.status == 201


def test_enrol_in_two_factor_then_sign_in_with_a_code(page: Page, live_app: LiveApp) -> None:
    email, password = f"tfa-{secrets.token_hex(4)}@example.org", "Long-enough-pass-42"
    register_by_api(live_app, email, password)
    log_in(page, email, password, next_path="/account")
    page.wait_for_url(re.compile(r"/account/?$"))
    wait_loaded(page, "account")

    page.locator("#two-factor-start").click()
    secret_box = page.locator("#two-factor-secret")
    expect(secret_box).to_have_text(re.compile(r"^[A-Z2-7]{32}$"))
    secret = secret_box.inner_text()
    expect(page.locator("#two-factor-qr")).to_have_attribute("src", re.compile(r"^data:image/svg\+xml;base64,"))
    page.locator("#two-factor #field-code").fill(totp_code(secret, time_step(datetime.now(UTC))))
    page.locator("#two-factor-confirm").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    expect(page.locator("#two-factor-status")).to_contain_text(ENGLISH["account.two_factor_on"])

    page.locator("#logout").click()
    page.wait_for_url(re.compile(r"^http://[^/]+/$"))

    log_in(page, email, password)
    otp = page.locator("#field-otp")
    expect(otp).to_be_visible()
    assert re.search(r"/login/?$", page.url)
    otp.fill("000000")
    page.locator("#login-submit").click()
    expect(page.locator("#login-error")).to_contain_text(ENGLISH["error.invalid_code"])
    # The code that confirmed the enrolment was used up: the next time step's code signs in.
    otp.fill(totp_code(secret, time_step(datetime.now(UTC)) + 1))
    page.locator("#login-submit").click()
    page.wait_for_url(re.compile(r"/my-tickets/?$"))  # a buyer lands on their tickets
    open_page(page, "/account", "account")
    expect(page.locator("#account-email")).to_have_text(email)
    expect(page.locator(".sign-in-method").first).to_have_text(ENGLISH["account.method.two_factor"])
    expect(page.locator(".session-row .current")).to_have_count(1)
