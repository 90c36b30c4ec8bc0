"""What the e2e tests share: the running app's address and a few page helpers."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import BrowserContext, Page

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


def wait_for_cookie(context: BrowserContext, name: str, value: str, timeout: float = 10.0) -> None:
    """Wait until the browser stored a cookie (Reflex writes state cookies when the update arrives)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(c["name"] == name and c["value"] == value for c in context.cookies()):
            return
        time.sleep(0.05)
    raise AssertionError(f"cookie {name}={value} never set; cookies: {[c['name'] for c in context.cookies()]}")
