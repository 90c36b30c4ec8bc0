"""The door scanner (/scan) in headless Chromium: the fake camera reading a real ticket's QR, every
refusal with its own answer, offline decisions with a queue uploaded with the original scan times,
conflicts between two offline phones, a device that stays signed in, Arabic right-to-left.

Shares the session's server with the other e2e tests; each test buys its own tickets.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from bilten.i18n import translate_plural
from tests.e2e.conftest import CHROMIUM_ARGS
from tests.e2e.scan_support import (
    STAFF,
    STAFF_GATE,
    Ticket,
    api,
    as_organizer,
    attendee,
    buy_tickets,
    event_id,
    presentation_video,
)
from tests.e2e.support import REPO_ROOT, LiveApp, catalog

pytestmark = pytest.mark.e2e

ENGLISH = catalog("en")
ARABIC = catalog("ar")
PHONE = {"width": 412, "height": 860}
FAKE_CAMERA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
TIMINGS: dict[str, float] = {}


# -- helpers ----------------------------------------------------------------------------------


def phone(browser: Browser, live_app: LiveApp, locale: str = "en-US") -> BrowserContext:
    return browser.new_context(base_url=live_app.base_url, locale=locale, viewport=PHONE, has_touch=True)


def sign_in(page: Page, email: str = STAFF[0], password: str = STAFF[1], *, device: str = "Door phone") -> None:
    page.goto("/scan")
    page.locator('#app-root[data-page="scan"][data-loaded="true"]').wait_for()
    page.locator("#scan-email").fill(email)
    page.locator("#scan-password").fill(password)
    page.locator("#scan-device-name").fill(device)
    page.locator("#scan-sign-in-submit").click()
    # The demo staff member is assigned to one event: the page opens it by itself.
    expect(page.locator("#scan-event-title")).to_be_visible()


def wait_for_ticket_data(page: Page) -> None:
    expect(page.locator("#scan-data-status")).to_contain_text(ENGLISH["scan.data_from"].split("{")[0].strip())


def verdict_seq(page: Page) -> int:
    return int(page.evaluate("Number(document.querySelector('#scan-verdict')?.dataset.seq ?? 0)"))


def scan_by_hand(page: Page, code: str) -> dict[str, str]:
    """Type a code into the manual field and return the verdict shown for it."""
    before = verdict_seq(page)
    field = page.locator("#scan-manual-code")
    field.fill(code)
    field.press("Enter")  # works even with the previous verdict still covering the page
    page.wait_for_function(f"Number(document.querySelector('#scan-verdict')?.dataset.seq ?? 0) > {before}")
    return shown_verdict(page)


def shown_verdict(page: Page) -> dict[str, str]:
    box = page.locator("#scan-verdict")
    return {
        "result": box.get_attribute("data-result") or "",
        "offline": box.get_attribute("data-offline") or "",
        "ms": box.get_attribute("data-ms") or "",
        "text": box.inner_text(),
    }


def queue(page: Page) -> list[dict]:
    return json.loads(page.evaluate("localStorage.getItem('bilten_scan_queue') || '[]'"))


def one_char_changed(code: str) -> str:
    """The same ticket with one signature character changed (a tampered or forged code)."""
    at = len(code) - 10
    return code[:at] + ("B" if code[at] != "B" else "C") + code[at + 1 :]


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def camera_ticket(live_app: LiveApp) -> Ticket:
    return buy_tickets(live_app.base_url, holder="Camille Camera")[0]


@pytest.fixture
def camera_browser(browser: Browser, camera_ticket: Ticket, tmp_path: Path) -> Iterator[Browser]:
    """A second Chromium whose fake camera shows the ticket's QR (2 s held up, 2 s away, looped)."""
    video = presentation_video(camera_ticket.code, tmp_path)
    chromium = shutil.which("chromium")
    camera = browser.browser_type.launch(
        executable_path=chromium, args=[*CHROMIUM_ARGS, *FAKE_CAMERA, f"--use-file-for-fake-video-capture={video}"]
    )
    yield camera
    camera.close()


@pytest.fixture(scope="module", autouse=True)
def report_timings() -> Iterator[None]:
    yield
    if TIMINGS:
        print("\nscan page timings: " + ", ".join(f"{k} {v:.0f} ms" for k, v in TIMINGS.items()))


# -- tests --------------------------------------------------------------------------------------


def test_camera_scan_shows_valid_then_already_used_with_the_gate(
    camera_browser: Browser, camera_ticket: Ticket, live_app: LiveApp
) -> None:
    context = phone(camera_browser, live_app)
    page = context.new_page()
    try:
        sign_in(page)
        started = time.monotonic()
        # The camera starts with the scanner and reads the ticket held up in front of it.
        valid = page.locator('#scan-verdict[data-result="valid"]')
        valid.wait_for(timeout=20_000)
        TIMINGS["camera start -> first verdict"] = (time.monotonic() - started) * 1000
        TIMINGS["online camera scan -> verdict"] = float(valid.get_attribute("data-ms"))
        expect(valid).to_contain_text(ENGLISH["scan.valid"])
        expect(page.locator("#scan-verdict-holder")).to_have_text(camera_ticket.holder_name)
        expect(page.locator("#scan-verdict-type")).to_have_text(camera_ticket.ticket_type)

        # Taken away, then shown again: refused, with when and where it was first scanned.
        used = page.locator('#scan-verdict[data-result="already_used"]')
        used.wait_for(timeout=15_000)
        expect(used).to_contain_text(ENGLISH["scan.already_used"])
        expect(page.locator("#scan-verdict-detail")).to_contain_text(STAFF_GATE)
        expect(page.locator("#scan-verdict-holder")).to_have_text(camera_ticket.holder_name)

        row = attendee(live_app.base_url, event_id(live_app.base_url), camera_ticket.id)
        assert row["checked_in_at"] and row["gate"] == STAFF_GATE
        # The live counter follows the check-in.
        counted = page.locator("#scan-count").get_attribute("data-checked-in")
        assert int(counted) >= 1
    finally:
        context.close()


def test_offline_scans_are_decided_on_the_phone_then_uploaded_with_their_scan_times(
    browser: Browser, live_app: LiveApp
) -> None:
    base = live_app.base_url
    event = event_id(base)
    first, second, elsewhere = buy_tickets(base, holder="Olga Offline", count=3)
    (refunded,) = buy_tickets(base, holder="Rolf Refund")
    as_organizer(base, "POST", f"/api/v1/tickets/{elsewhere.id}/check-in")  # let in at another door
    as_organizer(base, "POST", f"/api/v1/orders/{refunded.order_id}/cancel")
    context = phone(browser, live_app)
    page = context.new_page()
    try:
        sign_in(page)
        wait_for_ticket_data(page)
        expect(page.locator("#scan-offline-ready")).to_be_visible()

        context.set_offline(True)
        banner = page.locator("#scan-offline-banner")
        expect(banner).to_be_visible()

        accepted = scan_by_hand(page, first.code)
        assert accepted["result"] == "valid" and accepted["offline"] == "true", accepted
        TIMINGS["offline scan -> verdict"] = float(accepted["ms"])
        scanned_at = queue(page)[0]["scanned_at"]

        forged = scan_by_hand(page, one_char_changed(second.code))
        assert forged["result"] == "forged", forged
        assert ENGLISH["scan.forged"] in forged["text"]

        again = scan_by_hand(page, first.code.lower())  # codes are read in any case
        assert again["result"] == "already_used" and STAFF_GATE in again["text"], again
        known = scan_by_hand(page, elsewhere.code)  # checked in before the phone went offline
        assert known["result"] == "already_used", known
        assert scan_by_hand(page, refunded.code)["result"] == "cancelled"

        expect(banner).to_have_attribute("data-queue", "5")
        expect(banner).to_contain_text(translate_plural("scan.offline_banner", 5, "en"))

        # Still offline, the page reloads from the service worker and keeps its queue and data.
        page.reload()
        page.locator('#app-root[data-ready="true"]').wait_for()
        expect(page.locator("#scan-offline-banner")).to_have_attribute("data-queue", "5")
        assert scan_by_hand(page, second.code)["result"] == "valid"
        expect(page.locator("#scan-offline-banner")).to_have_attribute("data-queue", "6")

        time.sleep(1.5)  # the upload must keep the scan times, not take the upload time
        context.set_offline(False)
        expect(page.locator("#scan-offline-banner")).to_have_count(0, timeout=20_000)
        page.wait_for_function(
            "JSON.parse(localStorage.getItem('bilten_scan_queue') || '[]').length === 0", timeout=20_000
        )
        expect(page.locator("#scan-sync-note")).to_contain_text(translate_plural("scan.sync_done", 6, "en"))

        row = attendee(base, event, first.id)
        assert row["gate"] == STAFF_GATE
        assert datetime.fromisoformat(row["checked_in_at"]) == datetime.fromisoformat(scanned_at)
        assert attendee(base, event, second.id)["checked_in_at"]
        assert attendee(base, event, elsewhere.id)["conflicts"] == 0  # refused offline: nothing to reconcile
        assert attendee(base, event, refunded.id)["checked_in_at"] is None
    finally:
        context.close()


def test_the_same_ticket_let_in_offline_on_two_phones_is_a_conflict_on_the_second(
    browser: Browser, live_app: LiveApp
) -> None:
    (ticket,) = buy_tickets(live_app.base_url, holder="Cora Conflict")
    first_phone, second_phone = phone(browser, live_app), phone(browser, live_app)
    try:
        pages = []
        for context, name in ((first_phone, "North door"), (second_phone, "South door")):
            page = context.new_page()
            sign_in(page, device=name)
            wait_for_ticket_data(page)
            context.set_offline(True)
            assert scan_by_hand(page, ticket.code)["result"] == "valid"  # each phone alone: valid
            pages.append(page)

        first_phone.set_offline(False)
        pages[0].wait_for_function(
            "JSON.parse(localStorage.getItem('bilten_scan_queue') || '[]').length === 0", timeout=20_000
        )
        time.sleep(0.5)
        second_phone.set_offline(False)
        conflict = pages[1].locator('#scan-verdict[data-result="conflict"]')
        conflict.wait_for(timeout=20_000)
        expect(conflict).to_contain_text(ticket.holder_name)
        expect(pages[1].locator("#scan-conflicts")).to_be_visible()
        # The first phone was right: no conflict there.
        expect(pages[0].locator('#scan-verdict[data-result="conflict"]')).to_have_count(0)
    finally:
        first_phone.close()
        second_phone.close()


def test_a_signed_in_phone_keeps_scanning_after_a_reload(browser: Browser, live_app: LiveApp) -> None:
    first, second = buy_tickets(live_app.base_url, holder="Rita Reload", count=2)
    context = phone(browser, live_app)
    page = context.new_page()
    try:
        sign_in(page)
        assert scan_by_hand(page, first.code)["result"] == "valid"
        page.reload()
        page.locator('#app-root[data-page="scan"][data-loaded="true"]').wait_for()
        expect(page.locator("#scan-sign-in-form")).to_have_count(0)
        expect(page.locator("#scan-event-title")).to_be_visible()
        answer = scan_by_hand(page, second.code)
        assert answer["result"] == "valid" and answer["offline"] == "false", answer
        expect(page.locator("#scan-verdict-holder")).to_have_text(second.holder_name)
    finally:
        context.close()


def test_a_typed_reference_gets_in_once_online_only_and_only_at_its_event(browser: Browser, live_app: LiveApp) -> None:
    base = live_app.base_url
    mine, later = buy_tickets(base, holder="Rita Reference", count=2)
    (elsewhere,) = buy_tickets(base, holder="Otto Other", title="Community Open Day")
    context = phone(browser, live_app)
    page = context.new_page()
    try:
        sign_in(page)
        wait_for_ticket_data(page)
        expect(page.locator("#scan-manual-code")).to_have_attribute(
            "placeholder", ENGLISH["scan.manual_reference_placeholder"]
        )

        # Typed from paper as people do: lower case, spaces for dashes, O for zero.
        typed = mine.reference.lower().replace("-", " ").replace("0", "o")
        first = scan_by_hand(page, typed)
        assert first["result"] == "valid" and first["offline"] == "false", first
        expect(page.locator("#scan-verdict-holder")).to_have_text("Rita Reference")
        again = scan_by_hand(page, mine.reference)
        assert again["result"] == "already_used" and STAFF_GATE in again["text"], again
        assert scan_by_hand(page, mine.code)["result"] == "already_used"  # the QR knows too

        foreign = scan_by_hand(page, elsewhere.reference)  # another event's ticket: no verdict of its own
        assert foreign["result"] == "invalid" and ENGLISH["scan.reference_not_found_detail"] in foreign["text"]

        # Offline the phone holds no references: it says so, lets no one in and queues nothing.
        context.set_offline(True)
        expect(page.locator("#scan-offline-banner")).to_be_visible()
        offline = scan_by_hand(page, later.reference)
        assert offline["result"] == "error" and ENGLISH["scan.reference_offline_detail"] in offline["text"], offline
        assert queue(page) == []
    finally:
        context.close()
    # The organizer's check-in list finds each ticket by its reference: one in, one not.
    for ticket, is_in in ((mine, True), (later, False)):
        path = f"/api/v1/events/{event_id(base)}/checkins?search={ticket.reference}"
        (row,) = as_organizer(base, "GET", path)["attendees"]
        assert row["ticket_id"] == ticket.id and (row["checked_in_at"] is not None) == is_in


def test_an_online_verdict_shows_the_tickets_checkout_answers(browser: Browser, live_app: LiveApp) -> None:
    base = live_app.base_url
    event = event_id(base)
    questions = f"/api/v1/events/{event}/questions"
    size = as_organizer(base, "POST", questions, {"label": "T-shirt size", "kind": "choice", "options": ["S", "M"]})
    try:
        (ticket,) = buy_tickets(base, holder="Sam Sized", answers=[{"question_id": size["id"], "value": "M"}])
    finally:
        # Asked of this one buyer only (the event is shared); answered, it is retired, not erased.
        as_organizer(base, "DELETE", f"{questions}/{size['id']}")
    context = phone(browser, live_app)
    page = context.new_page()
    try:
        sign_in(page)
        wait_for_ticket_data(page)
        shown = scan_by_hand(page, ticket.code)
        assert shown["result"] == "valid" and shown["offline"] == "false", shown
        expect(page.locator("#scan-verdict-holder")).to_have_text("Sam Sized")
        expect(page.locator("#scan-verdict-answers")).to_have_text("T-shirt size: M")
    finally:
        context.close()


def test_each_bad_input_gets_its_own_answer(browser: Browser, live_app: LiveApp) -> None:
    base = live_app.base_url
    event = event_id(base)
    ticket, refunded = buy_tickets(base, holder="Bea Bad", count=2)
    (other_event,) = buy_tickets(base, holder="Otto Other", title="Community Open Day")
    as_organizer(base, "POST", f"/api/v1/orders/{refunded.order_id}/cancel")  # refunds both tickets of that order
    (good,) = buy_tickets(base, holder="Gus Good")
    context = phone(browser, live_app)
    page = context.new_page()
    try:
        sign_in(page)
        wait_for_ticket_data(page)
        assert scan_by_hand(page, "https://example.org/not-a-ticket")["result"] == "not_ours"
        assert scan_by_hand(page, one_char_changed(good.code))["result"] == "forged"
        answer = scan_by_hand(page, other_event.code)
        assert answer["result"] == "wrong_event" and ENGLISH["scan.wrong_event"] in answer["text"], answer
        answer = scan_by_hand(page, ticket.code)
        assert answer["result"] == "cancelled" and ENGLISH["scan.cancelled_detail"] in answer["text"], answer

        # Staff taken off the event: the scan says so instead of deciding.
        staff_id = next(
            row["user_id"]
            for row in as_organizer(base, "GET", f"/api/v1/events/{event}/staff")
            if row["email"] == STAFF[0]
        )
        as_organizer(base, "DELETE", f"/api/v1/events/{event}/staff/{staff_id}")
        try:
            page.locator("#scan-manual-code").fill(good.code)
            page.locator("#scan-manual-code").press("Enter")
            expect(page.locator('#scan-problem[data-problem="forbidden"]')).to_be_visible()
            expect(page.locator("#scan-problem")).to_contain_text(ENGLISH["scan.not_allowed"])
        finally:
            as_organizer(base, "POST", f"/api/v1/events/{event}/staff", {"email": STAFF[0], "gate": STAFF_GATE})

        page.locator("#scan-problem-change-event").click()
        page.locator(".scan-event").first.click()
        expect(page.locator("#scan-manual-code")).to_be_visible()

        # A revoked device is told to sign in again, and scans nothing.
        device_token = page.evaluate("localStorage.getItem('bilten_scan_token')")
        device_id = page.evaluate("localStorage.getItem('bilten_scan_device')")
        api(base, "DELETE", f"/api/v1/devices/{device_id}", headers={"Authorization": f"Bearer {device_token}"})
        page.locator("#scan-manual-code").fill(good.code)
        page.locator("#scan-manual-code").press("Enter")
        expect(page.locator('#scan-problem[data-problem="revoked"]')).to_be_visible()
        expect(page.locator("#scan-problem")).to_contain_text(ENGLISH["scan.revoked_title"])
        page.locator("#scan-sign-in-again").click()
        expect(page.locator("#scan-sign-in-form")).to_be_visible()
        assert attendee(base, event, good.id)["checked_in_at"] is None
    finally:
        context.close()


def test_arabic_scan_page_reads_right_to_left(browser: Browser, live_app: LiveApp) -> None:
    (ticket,) = buy_tickets(live_app.base_url, holder="Amal Arabic")
    context = phone(browser, live_app, locale="ar")
    page = context.new_page()
    try:
        page.goto("/scan")
        page.locator('#app-root[data-loaded="true"]').wait_for()
        expect(page.locator("#app-root")).to_have_attribute("dir", "rtl")
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(page.get_by_role("heading", name=ARABIC["scan.sign_in_title"])).to_be_visible()
        page.locator("#scan-email").fill(STAFF[0])
        page.locator("#scan-password").fill(STAFF[1])
        page.locator("#scan-sign-in-submit").click()
        expect(page.locator("#scan-event-title")).to_be_visible()
        answer = scan_by_hand(page, ticket.code)
        assert answer["result"] == "valid" and ARABIC["scan.valid"] in answer["text"], answer
    finally:
        context.close()


def test_every_text_the_scanner_module_uses_is_translated() -> None:
    """The JS module names its texts as "scan.*" keys (the Python side is checked by test_i18n)."""
    source = (REPO_ROOT / "assets" / "offline_scan.js").read_text(encoding="utf-8")
    keys = set(re.findall(r"""["'`](scan\.[a-z_]+)["'`]""", source))
    kinds = {"valid", "already_used", "not_ours", "forged", "invalid", "wrong_event", "cancelled", "conflict", "error"}
    keys |= {f"scan.{kind}" for kind in kinds}
    keys |= {f"scan.{kind}_detail" for kind in ("not_ours", "forged", "invalid")}
    keys |= {f"scan.{problem}" for problem in re.findall(r'"(camera_[a-z]+)"', source)}
    for texts in (ENGLISH, ARABIC):
        # A counted text is present as its plural forms ("scan.sync_done#one", "#other", ...).
        assert {key for key in keys if key not in texts and f"{key}#other" not in texts} == set()
