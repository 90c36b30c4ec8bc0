"""What the e2e tests share: the running app's address and a few page helpers."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import BrowserContext, Locator, Page, expect

REPO_ROOT = Path(__file__).resolve().parents[2]
LOADED_TIMEOUT_MS = 20_000


def catalog(locale: str) -> dict[str, str]:
    """The UI texts the app shows in `locale` (tests assert on them rather than on copies)."""
    return json.loads((REPO_ROOT / "locales" / f"{locale}.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class LiveApp:
    base_url: str
    database_path: Path

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def mail_dir(self) -> Path:
        """Where the app writes its emails as .eml files (MAIL_OUTBOX_DIR in conftest's server env)."""
        return self.database_path.parent / "mail"


def emailed_link(live_app: LiveApp, recipient: str, path_pattern: str, timeout: float = 20.0) -> str:
    """The path and query of the first link matching `path_pattern` (e.g. r"/verify-email\\?token=\\S+")
    in an email to `recipient`, read from the .eml files the app's notification worker writes."""
    from email import policy
    from email.parser import BytesParser

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(live_app.mail_dir.glob("*.eml")):
            with path.open("rb") as file:
                message = BytesParser(policy=policy.default).parse(file)
            if message["To"] != recipient:
                continue
            text = message.get_body(preferencelist=("plain",)).get_content()
            found = re.search(re.escape(live_app.base_url) + path_pattern, text)
            if found:
                return found.group(0).removeprefix(live_app.base_url)
        time.sleep(0.2)
    raise AssertionError(f"no email to {recipient} with a link like {path_pattern}")


def wait_loaded(page: Page, name: str) -> None:
    """Wait until the page `name` rendered its data-loaded flag (its on_load handlers all ran)."""
    page.locator(f'#app-root[data-page="{name}"][data-loaded="true"]').wait_for(timeout=LOADED_TIMEOUT_MS)


def open_page(page: Page, path: str, name: str) -> None:
    page.goto(path)
    wait_loaded(page, name)


def log_in(page: Page, email: str, password: str, *, next_path: str = "") -> None:
    open_page(page, "/login" + (f"?next={next_path}" if next_path else ""), "login")
    page.locator("#field-email").fill(email)
    page.locator("#field-password").fill(password)
    page.locator("#login-submit").click()


def sign_in_after_signing_up(page: Page, email: str, password: str) -> None:
    """Signing up leads to the login page (the same answer whether or not the address had an
    account); the new account signs in there and goes on where it was headed."""
    page.wait_for_url(re.compile(r"/login/?\?.*registered=1"))
    wait_loaded(page, "login")
    expect(page.locator("#login-notice")).to_be_visible()
    page.locator("#field-email").fill(email)
    page.locator("#field-password").fill(password)
    page.locator("#login-submit").click()


def wait_for_cookie(context: BrowserContext, name: str, value: str, timeout: float = 10.0) -> None:
    """Wait until the browser stored a cookie (Reflex writes state cookies when the update arrives)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(c["name"] == name and c["value"] == value for c in context.cookies()):
            return
        time.sleep(0.05)
    raise AssertionError(f"cookie {name}={value} never set; cookies: {[c['name'] for c in context.cookies()]}")


# Buying, as a guest would on an event page.
ORDER_URL = re.compile(r"/orders/[0-9a-f-]{36}/?\?token=[A-Za-z0-9_-]+$")


def ticket_row(page: Page, name: str) -> Locator:
    return page.locator(".ticket-type").filter(has=page.get_by_text(name, exact=True))


def choose_tickets(page: Page, ticket_type: str, quantity: int) -> None:
    """Brings the row to `quantity` with the + and - buttons, from whatever the tab still shows
    (a tab that comes back to the same event page keeps what was chosen there)."""
    row = ticket_row(page, ticket_type)
    shown = int(row.locator(".qty-value").inner_text())
    button = row.locator(".qty-plus" if quantity > shown else ".qty-minus")
    for _ in range(abs(quantity - shown)):
        button.click()
    expect(row.locator(".qty-value")).to_have_text(str(quantity))


def reserve_as_guest(page: Page, email: str) -> None:
    page.locator("#buyer-email").fill(email)
    page.locator("#buyer-phone").fill("+49 30 1234567")
    page.locator("#buyer-name").fill("Gina Guest")
    page.locator("#reserve").click()
    page.wait_for_url(ORDER_URL)
    wait_loaded(page, "order")


# Live figures.
def number_in(page: Page, selector: str) -> int:
    locator = page.locator(selector)
    expect(locator).to_have_text(re.compile(r"^\d+$"))
    return int(locator.inner_text())


def seconds_until_text(page: Page, selector: str, text: str, timeout: float = 5.0) -> float:
    """Seconds until the element shows `text` (polled every 10 ms)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if page.locator(selector).inner_text() == text:
            return time.monotonic() - started
        page.wait_for_timeout(10)
    raise AssertionError(f"{selector} never showed {text!r}; it shows {page.locator(selector).inner_text()!r}")
