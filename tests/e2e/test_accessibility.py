"""WCAG 2.2 AA in the browser: axe-core on every page a buyer, an organizer, an admin and door
staff reach, in English and in Arabic (right to left), with zero violations of any impact.

axe-core comes from the npm registry into `.tools/axe` (`make test-deps`), never from a CDN. One
browser context per role, signed in once; the language is the `bilten_locale` cookie, set before
each page is opened. The data (orders, a reset link) is made once for the whole module.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from bilten.state.i18n import LOCALE_COOKIE
from tests.e2e.scan_support import api, as_organizer, buy_tickets, event_id
from tests.e2e.support import ORDER_URL, REPO_ROOT, LiveApp, catalog, choose_tickets, emailed_link, log_in, wait_loaded

pytestmark = pytest.mark.e2e

AXE = REPO_ROOT / ".tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
AXE_SOURCE = AXE.read_text(encoding="utf-8") if AXE.exists() else ""
ORGANIZER = ("organizer@demo.bilten.org", "Demo-organizer-2026")
ADMIN = ("admin@demo.bilten.org", "Demo-admin-2026")
STAFF = ("staff@demo.bilten.org", "Demo-staff-2026")
RIVERSIDE = "Riverside Jazz Night"
LANGUAGES = ("en", "ar")
ENGLISH = catalog("en")
# WCAG 2.0, 2.1 and 2.2, levels A and AA (axe's tags), plus its best-practice rules.
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}
}


@dataclass(frozen=True)
class Data:
    """What the pages show, made once: ids and links into the running app."""

    event_id: str
    pending_order: str  # path with the guest token
    paid_order: str
    refunded_order: str  # paid, then refunded by the organizer: the invoice and credit note downloads
    reset_link: str
    held_ticket: str  # the new holder's link to a ticket received by transfer
    organization_id: str  # the demo organizer's organization (they own it)


@dataclass(frozen=True)
class Visit:
    """A page in one state: who opens it (a context role), where, and what to do once loaded."""

    role: str
    path: Callable[[Data], str]
    name: str
    then: Callable[[Page], None] | None = None


def _tab(tab: str) -> Callable[[Page], None]:
    def wait(page: Page) -> None:
        page.locator(f'#section-{tab}[data-section-loaded="true"]').wait_for()

    return wait


def _section(name: str) -> Callable[[Page], None]:
    def wait(page: Page) -> None:
        expect(page.locator(f"#section-{name}")).to_be_visible()

    return wait


def _checkout(page: Page) -> None:
    choose_tickets(page, "Standing", 1)
    expect(page.locator("#reserve")).to_be_enabled()


def _scan_ready(page: Page) -> None:
    expect(page.locator("#scan-event-title")).to_be_visible()


def _legal_details(page: Page) -> None:
    expect(page.locator("#field-legal-name")).to_be_visible()


PAGES: dict[str, Visit] = {
    "home": Visit("guest", lambda d: "/", "home"),
    "event": Visit("guest", lambda d: f"/events/{d.event_id}", "event"),
    "checkout": Visit("guest", lambda d: f"/events/{d.event_id}", "event", _checkout),
    "order-pending": Visit("guest", lambda d: d.pending_order, "order"),
    "order-paid": Visit("guest", lambda d: d.paid_order, "order"),
    "order-refunded": Visit("guest", lambda d: d.refunded_order, "order"),
    "login": Visit("guest", lambda d: "/login", "login"),
    "register": Visit("guest", lambda d: "/register", "register"),
    "forgot-password": Visit("guest", lambda d: "/forgot-password", "forgot-password"),
    "reset-password": Visit("guest", lambda d: d.reset_link, "reset-password"),
    "scan-sign-in": Visit("guest", lambda d: "/scan", "scan"),
    "held-ticket": Visit("guest", lambda d: d.held_ticket, "held_ticket"),
    "my-tickets": Visit("attendee", lambda d: "/my-tickets", "my-tickets"),
    "account": Visit("attendee", lambda d: "/account", "account"),
    "organizer": Visit("organizer", lambda d: "/organizer", "organizer"),
    "event-editor": Visit("organizer", lambda d: f"/organizer/events/{d.event_id}/edit", "event-edit"),
    "office-dashboard": Visit(
        "organizer", lambda d: f"/organizer/events/{d.event_id}?tab=sales", "back-office", _tab("sales")
    ),
    "office-orders": Visit(
        "organizer", lambda d: f"/organizer/events/{d.event_id}?tab=orders", "back-office", _tab("orders")
    ),
    "office-checkin": Visit(
        "organizer", lambda d: f"/organizer/events/{d.event_id}?tab=checkin", "back-office", _tab("checkin")
    ),
    "office-staff": Visit(
        "organizer", lambda d: f"/organizer/events/{d.event_id}?tab=staff", "back-office", _tab("staff")
    ),
    "office-questions": Visit(
        "organizer", lambda d: f"/organizer/events/{d.event_id}?tab=questions", "back-office", _tab("questions")
    ),
    "office-exports": Visit(
        "organizer", lambda d: f"/organizer/events/{d.event_id}?tab=exports", "back-office", _tab("exports")
    ),
    "office-vouchers": Visit(
        "organizer", lambda d: f"/organizer/events/{d.event_id}?tab=vouchers", "back-office", _tab("vouchers")
    ),
    "office-waiting-list": Visit(
        "organizer", lambda d: f"/organizer/events/{d.event_id}?tab=waiting_list", "back-office", _tab("waiting_list")
    ),
    "admin": Visit("admin", lambda d: "/admin", "admin", _tab("users")),
    "event-new": Visit("organizer", lambda d: "/organizer/events/new", "event-new"),
    "webhooks": Visit("organizer", lambda d: f"/organizer/organizations/{d.organization_id}/webhooks", "webhooks"),
    "invoice-settings": Visit(
        "organizer", lambda d: f"/organizer/organizations/{d.organization_id}/team", "team", _legal_details
    ),
    "admin-organizations": Visit("admin", lambda d: "/admin?tab=organizations", "admin", _tab("organizations")),
    "admin-events": Visit("admin", lambda d: "/admin?tab=events", "admin", _tab("events")),
    "admin-notifications": Visit("admin", lambda d: "/admin?tab=notifications", "admin", _section("notifications")),
    "admin-changes": Visit("admin", lambda d: "/admin?tab=changes", "admin", _tab("changes")),
    "scan": Visit("staff", lambda d: "/scan", "scan", _scan_ready),
}


def _order(base: str, ticket_type_id: str, name: str) -> dict:
    return api(
        base,
        "POST",
        "/api/v1/orders",
        {
            "items": [{"ticket_type_id": ticket_type_id, "quantity": 1}],
            "email": f"a11y-{secrets.token_hex(3)}@example.org",
            "phone": "+49 30 1234567",
            "name": name,
        },
    )


@pytest.fixture(scope="module")
def data(live_app: LiveApp) -> Data:
    base = live_app.base_url
    riverside = event_id(base, RIVERSIDE)
    detail = api(base, "GET", f"/api/v1/events/{riverside}")
    ticket_type = next(t for t in detail["ticket_types"] if t["available"] >= 2 and t["price"] > 0)["id"]
    pending = _order(base, ticket_type, "Ada Pending")
    paid = _order(base, ticket_type, "Ada Paid")
    refunded = _order(base, ticket_type, "Ada Refunded")
    for order in (paid, refunded):
        api(
            base,
            "POST",
            f"/api/v1/orders/{order['id']}/test-payment",
            {"outcome": "succeeded"},
            {"X-Order-Token": order["access_token"]},
        )
    as_organizer(base, "POST", f"/api/v1/orders/{refunded['id']}/cancel")
    # Someone who forgot their password: the reset page is opened from the emailed link.
    forgetful = f"a11y-reset-{secrets.token_hex(3)}@example.org"
    api(base, "POST", "/api/v1/auth/register", {"email": forgetful, "password": "Quiet-meadow-58"})
    api(base, "POST", "/api/v1/auth/password-reset/request", {"email": forgetful})
    # A ticket handed on: its new holder opens it from the emailed link.
    (given,) = buy_tickets(base, holder="Ada Giver")
    holder = f"a11y-holder-{secrets.token_hex(3)}@example.org"
    as_organizer(base, "POST", f"/api/v1/tickets/{given.id}/transfer", {"email": holder, "name": "Hana Holder"})
    with sqlite3.connect(live_app.database_path) as db:
        (organization,) = db.execute(
            "SELECT organization_id FROM event WHERE id = ?", (uuid.UUID(riverside).hex,)
        ).fetchone()
    return Data(
        event_id=riverside,
        pending_order=f"/orders/{pending['id']}?token={pending['access_token']}",
        paid_order=f"/orders/{paid['id']}?token={paid['access_token']}",
        refunded_order=f"/orders/{refunded['id']}?token={refunded['access_token']}",
        reset_link=emailed_link(live_app, forgetful, r"/reset-password\?token=[A-Za-z0-9_-]+"),
        held_ticket=emailed_link(live_app, holder, r"/held-tickets/[0-9a-f-]{36}\?token=[A-Za-z0-9_=-]+"),
        organization_id=str(uuid.UUID(organization)),
    )


SIGN_INS: dict[str, Callable[[Page], None]] = {
    "guest": lambda page: None,
    "attendee": lambda page: _sign_in(page, ("attendee@demo.bilten.org", "Demo-attendee-2026"), r"/my-tickets"),
    "organizer": lambda page: _sign_in(page, ORGANIZER, r"/organizer"),
    "admin": lambda page: _sign_in(page, ADMIN, r"/admin"),
    "staff": lambda page: _sign_in_at_the_door(page),
}


def _sign_in(page: Page, account: tuple[str, str], lands: str) -> None:
    log_in(page, *account)
    page.wait_for_url(re.compile(lands + r"/?$"))


def _sign_in_at_the_door(page: Page) -> None:
    page.goto("/scan")
    wait_loaded(page, "scan")
    page.locator("#scan-email").fill(STAFF[0])
    page.locator("#scan-password").fill(STAFF[1])
    page.locator("#scan-device-name").fill("Accessible door")
    page.locator("#scan-sign-in-submit").click()
    expect(page.locator("#scan-event-title")).to_be_visible()


class RoleTabs(dict[str, Page]):
    """One browser tab per role, signed in when first asked for; `tabs["organizer"]`."""

    def __init__(self, browser: Browser, live_app: LiveApp) -> None:
        super().__init__()
        self.browser, self.live_app = browser, live_app
        self.contexts: list[BrowserContext] = []

    def __missing__(self, role: str) -> Page:
        context = self.browser.new_context(
            base_url=self.live_app.base_url, locale="en-US", viewport={"width": 1280, "height": 900}
        )
        self.contexts.append(context)
        page = self[role] = context.new_page()
        SIGN_INS[role](page)
        return page


@pytest.fixture(scope="module")
def pages(browser: Browser, live_app: LiveApp) -> Iterator[RoleTabs]:
    """The module's signed-in tabs, kept from page to page (each role signs in once)."""
    tabs = RoleTabs(browser, live_app)
    yield tabs
    for context in tabs.contexts:
        context.close()


def violations(page: Page) -> list[dict]:
    """axe-core's violations on the page as it is now (every impact).

    axe files a contrast it measured but doubts (a short text such as a count badge might be an
    icon) under "incomplete"; such a measured ratio below the requirement counts as a violation too.
    """
    assert AXE_SOURCE, f"{AXE} is missing: `make test-deps` installs axe-core"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the devtools protocol: the app's Content-Security-Policy (no inline
        # scripts) stays in force, as a visitor has it.
        page.evaluate(AXE_SOURCE)
    results = page.evaluate(
        "async (options) => { const r = await axe.run(document, options);"
        " return {violations: r.violations, incomplete: r.incomplete} }",
        AXE_OPTIONS,
    )
    found = results["violations"]
    for doubt in results["incomplete"]:
        measured = [node for node in doubt["nodes"] if _measured_too_low(node)]
        if doubt["id"] == "color-contrast" and measured:
            found.append({**doubt, "impact": doubt["impact"] or "serious", "nodes": measured})
    return found


def _measured_too_low(node: dict) -> bool:
    for check in node.get("any", []):
        data = check.get("data") or {}
        ratio, expected = data.get("contrastRatio"), str(data.get("expectedContrastRatio", "")).removesuffix(":1")
        if isinstance(ratio, int | float) and ratio > 0 and expected and ratio < float(expected):
            return True
    return False


def describe(found: list[dict]) -> str:
    """Each violation: its rule id, impact and help page, then each element (CSS target) and why."""
    lines = []
    for violation in found:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} <{violation['helpUrl']}>")
        for node in violation["nodes"][:10]:
            checks = node.get("any", []) + node.get("all", []) + node.get("none", [])
            why = "; ".join(check["message"] for check in checks if check.get("message")) or node["failureSummary"]
            lines.append(f"    {' > '.join(map(str, node['target']))}: {why}")
    return "\n".join(lines)


def set_language(page: Page, live_app: LiveApp, locale: str) -> None:
    page.context.add_cookies([{"name": LOCALE_COOKIE, "value": locale, "url": live_app.base_url}])


@pytest.mark.parametrize("locale", LANGUAGES)
@pytest.mark.parametrize("name", list(PAGES))
def test_page_has_no_axe_violations(name: str, locale: str, pages: RoleTabs, data: Data, live_app: LiveApp) -> None:
    visit = PAGES[name]
    page = pages[visit.role]
    set_language(page, live_app, locale)
    page.goto(visit.path(data))
    wait_loaded(page, visit.name)
    expect(page.locator("html")).to_have_attribute("lang", locale)
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if locale == "ar" else "ltr")
    if visit.then:
        visit.then(page)
    found = violations(page)
    assert not found, f"{name} in {locale}: {len(found)} axe violation(s)\n{describe(found)}"


# -- the keyboard alone -------------------------------------------------------------------------

FOCUS_SHOWN = """() => {
  // The focused element, or the Radix field frame drawing its ring, shows an outline or a shadow.
  const el = document.activeElement;
  if (!el || el === document.body) return false;
  const frame = el.closest(".rt-TextFieldRoot, .rt-TextAreaRoot") || el;
  return [el, frame].some((node) => {
    const style = getComputedStyle(node);
    const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
    return outline || (style.boxShadow && style.boxShadow !== "none");
  });
}"""


def focused(page: Page, selector: str) -> bool:
    return page.evaluate("(selector) => document.activeElement?.matches(selector) ?? false", selector)


def tab_to(page: Page, selector: str, *, limit: int = 80) -> None:
    """Press Tab until the element matching `selector` has focus, checking that every element
    focused on the way shows it."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        described = page.evaluate("() => document.activeElement?.outerHTML.slice(0, 160) ?? ''")
        assert page.evaluate(FOCUS_SHOWN), f"focus is not visible on {described}"
        if focused(page, selector):
            return
    raise AssertionError(f"{selector} was not reached with {limit} presses of Tab")


def focus_moves_to_heading(page: Page) -> None:
    page.wait_for_function("() => document.activeElement?.matches('main h1, main') ?? false", timeout=10_000)
    assert page.evaluate(FOCUS_SHOWN) or focused(page, "main h1, main")


def test_a_buyer_completes_a_purchase_with_the_keyboard_alone(browser: Browser, live_app: LiveApp, data: Data) -> None:
    context = browser.new_context(base_url=live_app.base_url, locale="en-US", viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"/events/{data.event_id}")
        wait_loaded(page, "event")
        standing = page.locator(".ticket-type").filter(has=page.get_by_text("Standing", exact=True))
        plus = standing.locator(".qty-plus")
        plus.evaluate("(button) => button.setAttribute('data-keyboard-target', 'plus')")

        # Choose two seats: Tab to "+" and press Space, then Enter.
        tab_to(page, '[data-keyboard-target="plus"]')
        page.keyboard.press("Space")
        expect(standing.locator(".qty-value")).to_have_text("1")
        assert focused(page, '[data-keyboard-target="plus"]')  # focus stays on the button
        page.keyboard.press("Enter")
        expect(standing.locator(".qty-value")).to_have_text("2")

        # The guest form, typed; then "Reserve" with Enter.
        for field, text in (
            ("#buyer-email", f"keyboard-{secrets.token_hex(3)}@example.org"),
            ("#buyer-phone", "+49 30 1234567"),
            ("#buyer-name", "Kai Keyboard"),
        ):
            tab_to(page, field)
            page.keyboard.type(text)
        tab_to(page, "#reserve")
        page.keyboard.press("Enter")
        page.wait_for_url(ORDER_URL)
        wait_loaded(page, "order")

        # The order page took focus to its heading, so the next Tab starts in the page's content.
        focus_moves_to_heading(page)
        assert focused(page, "main h1")
        tab_to(page, "#pay-test")
        page.keyboard.press("Enter")

        # Paid: the confirmation took focus from the vanished pay button, and the status was announced.
        expect(page.locator("#order-confirmed")).to_be_visible()
        expect(page.locator("#order-status")).to_have_text(ENGLISH["order.status.paid"])
        expect(page.locator("#order-status")).to_have_attribute("role", "status")
        page.wait_for_function("() => document.activeElement?.id === 'order-confirmed'", timeout=5_000)
        assert page.evaluate(FOCUS_SHOWN)
        expect(page.locator("img.ticket-qr")).to_have_count(2)

        # Onward with the keyboard: a Tab reaches the ticket downloads.
        tab_to(page, "#download-pdf")
    finally:
        context.close()


# -- announced changes --------------------------------------------------------------------------


def test_live_counts_and_scan_verdicts_are_announced(pages: RoleTabs, data: Data, live_app: LiveApp) -> None:
    buyer = pages["guest"]
    set_language(buyer, live_app, "en")
    buyer.goto(f"/events/{data.event_id}")
    wait_loaded(buyer, "event")
    counts = buyer.locator(".tickets-left[data-left]")
    expect(counts.first).to_be_visible()
    for index in range(counts.count()):
        expect(counts.nth(index)).to_have_attribute("aria-live", "polite")
        expect(counts.nth(index)).to_have_attribute("aria-atomic", "true")

    door = pages["staff"]
    set_language(door, live_app, "en")
    door.goto("/scan")
    wait_loaded(door, "scan")
    _scan_ready(door)
    region = door.locator("#scan-verdict-live")
    expect(region).to_have_attribute("aria-live", "assertive")
    expect(region).to_have_attribute("role", "alert")
    expect(region).to_be_empty()  # in the page before any verdict, so the verdict is read when it comes
    field = door.locator("#scan-manual-code")
    field.fill("NOT-A-REAL-TICKET")
    field.press("Enter")
    expect(region.locator("#scan-verdict")).to_be_visible()
    expect(region.locator("#scan-verdict-title")).not_to_be_empty()
    found = violations(door)
    assert not found, f"scan verdict: {len(found)} axe violation(s)\n{describe(found)}"


@pytest.mark.parametrize("locale", LANGUAGES)
def test_a_dialog_takes_focus_and_gives_it_back(locale: str, pages: RoleTabs, data: Data, live_app: LiveApp) -> None:
    page = pages["guest"]
    set_language(page, live_app, locale)
    page.goto(data.pending_order)
    wait_loaded(page, "order")
    tab_to(page, "#cancel-order")
    page.keyboard.press("Enter")

    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible()
    page.wait_for_function("() => document.activeElement?.closest('[role=alertdialog]') !== null")
    assert page.evaluate(FOCUS_SHOWN)
    found = violations(page)
    assert not found, f"cancel dialog in {locale}: {len(found)} axe violation(s)\n{describe(found)}"

    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    page.wait_for_function("() => document.activeElement?.id === 'cancel-order'")  # back where the reader was
    expect(page.locator("#order-status")).to_have_attribute("data-phase", "pending")
