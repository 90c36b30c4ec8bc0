"""Security headers on the production build (`reflex run --env prod`: pages, assets and API from one
process), and the pages still work under them: a buyer's journey and the camera scanner run with
no Content-Security-Policy violation."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import CHROMIUM_ARGS
from tests.e2e.scan_support import STAFF, Ticket, buy_tickets, event_id, presentation_video
from tests.e2e.support import LiveApp, catalog, choose_tickets, open_page, reserve_as_guest

pytestmark = pytest.mark.e2e

ENGLISH = catalog("en")
FAKE_CAMERA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
# Records every CSP violation the page meets, from its very first script on.
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`);
});
"""


def _watched(context: BrowserContext) -> tuple[Page, list[str]]:
    """A page whose CSP violations (DOM events and console reports) end up in the returned list."""
    context.add_init_script(WATCH_VIOLATIONS)
    page = context.new_page()
    reported: list[str] = []
    page.on(
        "console",
        lambda message: (
            reported.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    return page, reported


def _violations(page: Page, reported: list[str]) -> list[str]:
    return [*page.evaluate("window.__cspViolations"), *reported]


def test_pages_assets_and_api_carry_the_headers(context: BrowserContext, live_app: LiveApp) -> None:
    event = f"/events/{event_id(live_app.base_url)}"
    answers = {path: context.request.get(path) for path in ("/", event, "/scan", "/api/health", "/api/v1/events")}
    for path, answer in answers.items():
        assert answer.status == 200, path
        headers = answer.headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin", path
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert "strict-transport-security" not in headers  # PUBLIC_URL is http://localhost here
    for path in ("/", event):
        policy = answers[path].headers["content-security-policy"]
        assert "default-src 'self'" in policy and "object-src 'none'" in policy
        assert "https:" not in policy and "http:" not in policy  # no CDN, no other site
        # Inline scripts by their hashes from the build (CSP 3 browsers then ignore 'unsafe-inline').
        assert policy.count("'sha256-") >= 5
        assert answers[path].headers["permissions-policy"] == "camera=()"
    # /scan redirects to /scan/: the page's own document may use the camera, none other.
    assert answers["/scan"].url.endswith("/scan/")
    assert answers["/scan"].headers["permissions-policy"] == "camera=(self)"
    assert answers["/api/health"].headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    # The built JavaScript, too.
    script = context.request.get("/sw.js")
    assert script.status == 200 and script.headers["x-content-type-options"] == "nosniff"


def test_a_buyer_journey_meets_no_policy_violation(browser: Browser, live_app: LiveApp) -> None:
    context = browser.new_context(base_url=live_app.base_url, locale="en-US")
    try:
        page, reported = _watched(context)
        open_page(page, "/", "home")
        open_page(page, f"/events/{event_id(live_app.base_url)}", "event")
        # Demo mode runs test payments: the checkout says so before anyone pays.
        expect(page.locator("#checkout-test-mode")).to_contain_text(ENGLISH["checkout.test_mode_note"])
        choose_tickets(page, "Standing", 1)
        reserve_as_guest(page, "csp.buyer@example.org")
        expect(page.locator("#test-mode-panel")).to_contain_text(ENGLISH["order.test_mode_title"])
        page.locator("#pay-test").click()
        expect(page.locator("#order-confirmed")).to_be_visible()
        expect(page.locator("img.ticket-qr")).to_have_count(1)  # data: images allowed
        # The "paid" toast arrives from the server as a script Reflex evaluates.
        expect(page.get_by_text(ENGLISH["order.paid_toast"])).to_be_visible()
        assert _violations(page, reported) == []
        # The watch itself works: an image from another site is refused and reported.
        page.evaluate("document.body.appendChild(Object.assign(new Image(), {src: 'http://127.0.0.2:9/x.png'}))")
        page.wait_for_function("window.__cspViolations.length > 0")
        assert "img-src" in page.evaluate("window.__cspViolations")[0]
    finally:
        context.close()


@pytest.fixture
def camera_ticket(live_app: LiveApp) -> Ticket:
    return buy_tickets(live_app.base_url, holder="Cora Policy")[0]


@pytest.fixture
def camera_browser(browser: Browser, camera_ticket: Ticket, tmp_path: Path) -> Iterator[Browser]:
    video = presentation_video(camera_ticket.code, tmp_path)
    camera = browser.browser_type.launch(
        executable_path=shutil.which("chromium"),
        args=[*CHROMIUM_ARGS, *FAKE_CAMERA, f"--use-file-for-fake-video-capture={video}"],
    )
    yield camera
    camera.close()


def test_the_camera_scanner_works_under_the_policy(
    camera_browser: Browser, camera_ticket: Ticket, live_app: LiveApp
) -> None:
    context = camera_browser.new_context(
        base_url=live_app.base_url, locale="en-US", viewport={"width": 412, "height": 860}
    )
    try:
        page, reported = _watched(context)
        page.goto("/scan")
        page.locator('#app-root[data-page="scan"][data-loaded="true"]').wait_for()
        assert page.evaluate("document.featurePolicy.allowsFeature('camera')") is True
        page.locator("#scan-email").fill(STAFF[0])
        page.locator("#scan-password").fill(STAFF[1])
        page.locator("#scan-device-name").fill("Policy phone")
        page.locator("#scan-sign-in-submit").click()
        # The camera starts, the wasm decoder reads the ticket, the server decides.
        page.locator('#scan-verdict[data-result="valid"]').wait_for(timeout=25_000)
        expect(page.locator("#scan-verdict-holder")).to_have_text(camera_ticket.holder_name)
        assert _violations(page, reported) == []
    finally:
        context.close()


def test_other_pages_may_not_use_the_camera(page: Page) -> None:
    open_page(page, "/", "home")
    assert page.evaluate("document.featurePolicy.allowsFeature('camera')") is False
