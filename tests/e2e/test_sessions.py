"""The browser session as a script on the page would see it: the token stays out of reach."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, WebSocket, expect

from tests.e2e.support import log_in, open_page, wait_loaded

pytestmark = pytest.mark.e2e

ATTENDEE = ("attendee@demo.bilten.org", "Demo-attendee-2026")


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
    log_in(page, *ATTENDEE)
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
