"""Phone first: every page at 390 x 844 (a phone held upright, touch), in English and in Arabic.

The header stays one short row for every role and opens a keyboard-operable menu; nothing scrolls
sideways; tab strips show every tab; buttons, form controls and menu links are at least 44 px in
both directions; and the site installs as a web app (its manifest and icons at the root), while
the door scanner keeps its own manifest.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.support import LiveApp, catalog, log_in, open_page, wait_loaded

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
MAX_HEADER_HEIGHT = 80
MIN_TARGET = 44
LANGUAGES = ("en", "ar")
RIVERSIDE = "Riverside Jazz Night"
ACCOUNTS = {
    "buyer": ("attendee@demo.bilten.org", "Demo-attendee-2026"),
    "organizer": ("organizer@demo.bilten.org", "Demo-organizer-2026"),
    "admin": ("admin@demo.bilten.org", "Demo-admin-2026"),
    "door staff": ("staff@demo.bilten.org", "Demo-staff-2026"),
}
# The compact menu's links per role (ids `menu-<name>`), in order.
MENU_LINKS = {
    "anonymous": ["home", "login", "register"],
    "buyer": ["home", "my-tickets", "account"],
    "organizer": ["home", "organizer", "my-tickets", "account"],
    "admin": ["home", "organizer", "admin", "my-tickets", "account"],
    "door staff": ["home", "my-tickets", "account"],
}
OFFICE_TABS = ("sales", "orders", "checkin", "staff", "exports")
ADMIN_TABS = ("users", "organizations", "events", "notifications", "changes")

# What a tap lands on: visible buttons, form controls, tabs, and the links of the header and its
# menu. Links inside running text (a paragraph's "forgot your password?") are left out: WCAG 2.5.8
# exempts targets "in a sentence or block of text", whose size the line height sets. Elements
# hidden from assistive technology are left out too: Radix renders a native <select>/<input> behind
# its own select and checkbox (aria-hidden, not tappable) so that forms submit their values. A text
# field is measured by the Radix box around its <input>, an upload's hidden file input by its drop zone.
TARGETS = (
    "button, [role=button], [role=tab], [role=checkbox], [role=radio], [role=switch], [role=combobox],"
    " input:not([type=hidden]), select, textarea, #site-header a, .site-menu a"
)
MEASURE_TARGETS = """(selector) => {
  const found = [];
  for (const el of document.querySelectorAll(selector)) {
    if (el.closest('[aria-hidden="true"]')) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.pointerEvents === "none" || Number(style.opacity) === 0) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    // A text field's <input> fills the Radix root around it, which is what the finger meets; the
    // file <input> of an upload area is a 1 px clipped stand-in (tabindex -1) for its drop zone.
    const target = el.closest(".rt-TextFieldRoot")
      || (el.type === "file" && el.tabIndex < 0 && el.parentElement.closest('[tabindex="0"]'))
      || el;
    const size = target.getBoundingClientRect();
    found.push({
      what: `${el.tagName.toLowerCase()}#${el.id}.${String(el.className).slice(0, 40)} "${(el.innerText || el.getAttribute("aria-label") || "").trim().slice(0, 30)}"`,
      width: size.width,
      height: size.height,
    });
  }
  return found;
}"""


def _event_id(live_app: LiveApp, title: str) -> str:
    with sqlite3.connect(live_app.database_path) as db:
        (raw,) = db.execute("SELECT id FROM event WHERE title = ?", (title,)).fetchone()
    return str(uuid.UUID(raw))


def _api(live_app: LiveApp, method: str, path: str, body: dict | None = None, headers: dict | None = None) -> dict:
    request = urllib.request.Request(
        live_app.url(path),
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local test server
        return json.loads(response.read())


def _guest_order_path(live_app: LiveApp, event_id: str) -> str:
    with sqlite3.connect(live_app.database_path) as db:
        (type_id,) = db.execute(
            "SELECT id FROM ticket_type WHERE event_id = ? AND NOT is_hidden ORDER BY position",
            (uuid.UUID(event_id).hex,),
        ).fetchone()
    placed = _api(
        live_app,
        "POST",
        "/api/v1/orders",
        {
            "items": [{"ticket_type_id": str(uuid.UUID(type_id)), "quantity": 1}],
            "email": "phone.guest@example.org",
            "phone": "+49 30 1234567",
            "name": "Pia Phone",
        },
    )
    return f"/orders/{placed['id']}?token={placed['access_token']}"


@pytest.fixture(scope="module")
def phones(browser: Browser, live_app: LiveApp) -> Iterator[dict[str, BrowserContext]]:
    """One phone per role, signed in once for the whole module."""
    contexts: dict[str, BrowserContext] = {}
    try:
        for role in ("anonymous", *ACCOUNTS):
            context = browser.new_context(
                base_url=live_app.base_url, locale="en-US", viewport=PHONE, is_mobile=True, has_touch=True
            )
            contexts[role] = context
            if role in ACCOUNTS:
                page = context.new_page()
                log_in(page, *ACCOUNTS[role], next_path="/account")
                page.wait_for_url(re.compile(r"/account/?$"))
                wait_loaded(page, "account")
                page.close()
        yield contexts
    finally:
        for context in contexts.values():
            context.close()


def _speak(context: BrowserContext, live_app: LiveApp, language: str) -> None:
    """The language cookie the language switch writes (the account's own setting stays untouched)."""
    context.add_cookies([{"name": "bilten_locale", "value": language, "url": live_app.base_url}])


def _no_sideways_scroll(page: Page, where: str) -> None:
    widths = page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{where} scrolls sideways: {widths[0]} px wide in a {widths[1]} px window"


def _header_height(page: Page) -> float:
    box = page.locator("#site-header").bounding_box()
    assert box is not None
    return box["height"]


def _small_targets(page: Page) -> list[dict]:
    """Targets under 44 x 44 px once the layout has settled: a box still growing into place (web
    fonts arriving, the menu opening) is measured again, for up to 3 s; a small one stays small."""
    page.evaluate("document.fonts.ready.then(() => true)")
    found = _measure_small_targets(page)
    for _ in range(30):
        if not found:
            break
        page.wait_for_timeout(100)
        found = _measure_small_targets(page)
    return found


def _measure_small_targets(page: Page) -> list[dict]:
    found = page.evaluate(MEASURE_TARGETS, TARGETS)
    assert found, "no interactive element measured"
    # Half a pixel for sub-pixel layout (a 44 px box can measure 43.99).
    return [t for t in found if t["width"] < MIN_TARGET - 0.5 or t["height"] < MIN_TARGET - 0.5]


def _open_menu(page: Page) -> None:
    button = page.locator("#menu-button")
    expect(button).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "false")
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#site-menu")).to_be_visible()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_header_is_one_short_row_with_a_menu_for_every_role(
    phones: dict[str, BrowserContext], live_app: LiveApp, language: str
) -> None:
    texts = catalog(language)
    heights = {}
    for role, context in phones.items():
        _speak(context, live_app, language)
        page = context.new_page()
        open_page(page, "/", "home")
        expect(page.locator("#app-root")).to_have_attribute("dir", "rtl" if language == "ar" else "ltr")
        heights[role] = _header_height(page)
        # The wide header's links are out of sight; the menu button names itself in the reader's language.
        expect(page.locator("#nav-home")).to_be_hidden()
        button = page.locator("#menu-button")
        expect(button).to_have_attribute("aria-label", texts["nav.open_menu"])
        expect(button).to_have_attribute("aria-controls", "site-menu")
        _open_menu(page)
        menu = page.locator("#site-menu")
        links = menu.locator("a")
        expect(links).to_have_count(len(MENU_LINKS[role]))
        for index, name in enumerate(MENU_LINKS[role]):
            expect(links.nth(index)).to_have_attribute("id", f"menu-{name}")
            box = links.nth(index).bounding_box()
            assert box and 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"], (
                f"{role}: menu-{name} off-screen"
            )
        expect(menu.locator("#menu-logout")).to_have_count(0 if role == "anonymous" else 1)
        expect(menu.get_by_role("group", name=texts["nav.language"]).locator("button")).to_have_count(6)
        small = _small_targets(page)
        assert not small, f"{role} ({language}): {small}"
        _no_sideways_scroll(page, f"home with the menu open ({role}, {language})")
        # A link of the menu leads to its page, and the menu is gone there.
        target = MENU_LINKS[role][-1]
        menu.locator(f"#menu-{target}").click()
        page.wait_for_url(re.compile(rf"/{target}/?$"))
        wait_loaded(page, target)
        expect(page.locator("#site-menu")).to_have_count(0)
        expect(page.locator("#menu-button")).to_have_attribute("aria-expanded", "false")
        page.close()
    print(f"\nheader height at 390 px ({language}): {heights}")
    for role, height in heights.items():
        assert height <= MAX_HEADER_HEIGHT, f"{role} ({language}): header {height} px tall"


def test_the_menu_works_from_the_keyboard_and_switches_the_language(browser: Browser, live_app: LiveApp) -> None:
    context = browser.new_context(
        base_url=live_app.base_url, locale="en-US", viewport=PHONE, is_mobile=True, has_touch=True
    )
    try:
        page = context.new_page()
        open_page(page, "/login", "login")
        button = page.locator("#menu-button")
        button.focus()
        page.keyboard.press("Enter")
        expect(button).to_have_attribute("aria-expanded", "true")
        # Focus moves into the menu (Radix puts it on the first button, links skipped); Tab walks the links.
        expect(page.locator("#site-menu")).to_be_visible()
        assert page.evaluate("() => document.activeElement.closest('#site-menu') !== null")
        page.locator("#menu-home").focus()
        page.keyboard.press("Tab")
        expect(page.locator("#menu-login")).to_be_focused()
        page.keyboard.press("Escape")
        expect(page.locator("#site-menu")).to_have_count(0)
        expect(button).to_have_attribute("aria-expanded", "false")
        expect(button).to_be_focused()

        # Reading Arabic from the menu: the page turns right to left and the menu stays one tap away.
        _open_menu(page)
        page.locator("#menu-lang-ar").click()
        expect(page.locator("#app-root")).to_have_attribute("dir", "rtl")
        expect(page.locator("html")).to_have_attribute("lang", "ar")
        expect(page.locator("#menu-lang-ar")).to_have_attribute("aria-pressed", "true")
        expect(page.locator("#menu-login")).to_have_text(catalog("ar")["nav.login"])
        page.keyboard.press("Escape")
        expect(button).to_have_attribute("aria-label", catalog("ar")["nav.open_menu"])
        assert _header_height(page) <= MAX_HEADER_HEIGHT
        # Enter on a link of the menu follows it.
        _open_menu(page)
        page.locator("#menu-register").focus()
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/register/?$"))
        wait_loaded(page, "register")
        expect(page.locator("#site-menu")).to_have_count(0)
    finally:
        context.close()


def _tabs_all_reachable(page: Page, tabs: tuple[str, ...], where: str) -> None:
    strip = page.get_by_role("tablist")
    for tab in tabs:
        trigger = page.locator(f"#tab-{tab}")
        trigger.scroll_into_view_if_needed()
        box = trigger.bounding_box()
        assert box is not None, f"{where}: tab {tab} has no box"
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], f"{where}: tab {tab} off-screen: {box}"
    # The strip wraps rather than scrolls: nothing of it is hidden beyond its edge.
    assert strip.evaluate("el => el.scrollWidth <= el.clientWidth"), f"{where}: the tab strip hides tabs"


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_page_scrolls_sideways_and_targets_are_big_enough(
    phones: dict[str, BrowserContext], live_app: LiveApp, language: str
) -> None:
    event_id = _event_id(live_app, RIVERSIDE)
    order_path = _guest_order_path(live_app, event_id)
    pages = {
        "anonymous": [
            ("/", "home"),
            (f"/events/{event_id}", "event"),
            (order_path, "order"),
            ("/login", "login"),
            ("/register", "register"),
            ("/scan", "scan"),
        ],
        "buyer": [("/my-tickets", "my-tickets"), ("/account", "account")],
        "organizer": [
            ("/organizer", "organizer"),
            (f"/organizer/events/{event_id}/edit", "event-edit"),
            ("/organizer/events/new", "event-new"),
            (f"/organizer/events/{event_id}", "back-office"),
        ],
        "admin": [("/admin", "admin"), ("/admin/notifications", "admin-notifications")],
        "door staff": [("/scan", "scan")],
    }
    small: dict[str, list[dict]] = {}
    for role, visits in pages.items():
        context = phones[role]
        _speak(context, live_app, language)
        page = context.new_page()
        for path, name in visits:
            open_page(page, path, name)
            where = f"{name} ({role}, {language})"
            _no_sideways_scroll(page, where)
            if name != "scan":
                assert _header_height(page) <= MAX_HEADER_HEIGHT, where
            if found := _small_targets(page):
                small[where] = found
            tabs = {"back-office": OFFICE_TABS, "admin": ADMIN_TABS}.get(name, ())
            if tabs:
                _tabs_all_reachable(page, tabs, where)
            for tab in tabs:
                page.locator(f"#tab-{tab}").click()
                page.locator(f'#section-{tab}:not([data-section-loaded="false"])').wait_for()
                _no_sideways_scroll(page, f"{where}, tab {tab}")
                if found := _small_targets(page):
                    small[f"{where}, tab {tab}"] = found
        page.close()
    assert not small, "targets under 44 x 44 px:\n" + "\n".join(f"{k}: {v}" for k, v in small.items())


def test_the_site_installs_as_a_web_app_and_the_scanner_keeps_its_own(
    phones: dict[str, BrowserContext], live_app: LiveApp
) -> None:
    with urllib.request.urlopen(live_app.url("/manifest.webmanifest"), timeout=10) as response:  # noqa: S310
        assert response.headers.get_content_type() in ("application/manifest+json", "application/json")
        manifest = json.loads(response.read())
    assert manifest["name"] and manifest["short_name"] == "Bilten"
    assert manifest["start_url"] == "/" and manifest["scope"] == "/" and manifest["display"] == "standalone"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["background_color"])
    seen = set()
    for icon in manifest["icons"]:
        with urllib.request.urlopen(live_app.url(icon["src"]), timeout=10) as response:  # noqa: S310
            assert response.headers.get_content_type() == icon["type"] == "image/png"
            image = Image.open(io.BytesIO(response.read()))
        assert image.format == "PNG"
        assert f"{image.width}x{image.height}" == icon["sizes"]
        seen.add((icon["sizes"], icon["purpose"]))
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= seen

    event_id = _event_id(live_app, RIVERSIDE)
    page = phones["organizer"].new_page()
    for path, name in [
        ("/", "home"),
        (f"/events/{event_id}", "event"),
        ("/login", "login"),
        ("/account", "account"),
        ("/organizer", "organizer"),
        (f"/organizer/events/{event_id}", "back-office"),
        ("/my-tickets", "my-tickets"),
    ]:
        open_page(page, path, name)
        expect(page.locator('head link[rel="manifest"]')).to_have_count(1)
        expect(page.locator('head link[rel="manifest"]')).to_have_attribute("href", "/manifest.webmanifest")
    # The door scanner: only its own manifest (scope /scan, started at /scan/), its own worker.
    open_page(page, "/scan", "scan")
    expect(page.locator('head link[rel="manifest"]')).to_have_count(1)
    expect(page.locator('head link[rel="manifest"]')).to_have_attribute("href", "/manifest.json")
    page.close()
    with urllib.request.urlopen(live_app.url("/manifest.json"), timeout=10) as response:  # noqa: S310
        assert json.loads(response.read())["start_url"] == "/scan/"


def test_logging_out_from_the_menu(browser: Browser, live_app: LiveApp) -> None:
    context = browser.new_context(
        base_url=live_app.base_url, locale="en-US", viewport=PHONE, is_mobile=True, has_touch=True
    )
    try:
        page = context.new_page()
        log_in(page, *ACCOUNTS["buyer"], next_path="/my-tickets")
        page.wait_for_url(re.compile(r"/my-tickets/?$"))
        wait_loaded(page, "my-tickets")
        _open_menu(page)
        page.locator("#menu-logout").click()
        page.wait_for_url(re.compile(r"/$"))
        wait_loaded(page, "home")
        _open_menu(page)
        expect(page.locator("#menu-login")).to_be_visible()
        expect(page.locator("#menu-account")).to_have_count(0)
    finally:
        context.close()
