"""The organizer's event back office and the admin's failed notifications, in headless Chromium.

Orders are placed and paid through the REST API (as a buyer's browser would), then handled in
the back office: refunded, checked in and out by hand; staff added and removed. Who may not enter
gets the translated "not allowed" box.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import urllib.request
import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, create_engine

from bilten.i18n import format_money
from bilten.models import Notification, NotificationStatus
from tests.e2e.support import LiveApp, catalog, log_in, open_page, wait_loaded

pytestmark = pytest.mark.e2e

ENGLISH = catalog("en")
ORGANIZER = ("organizer@demo.bilten.org", "Demo-organizer-2026")
STAFF = ("staff@demo.bilten.org", "Demo-staff-2026")
ADMIN = ("admin@demo.bilten.org", "Demo-admin-2026")
ATTENDEE_EMAIL = "attendee@demo.bilten.org"
RIVERSIDE = "Riverside Jazz Night"
OTHER_ORGANIZATIONS_EVENT = "Harbor Sunset Cruise"  # belongs to an organization the demo organizer is not in


def _event_id(live_app: LiveApp, title: str) -> str:
    with sqlite3.connect(live_app.database_path) as db:
        (raw,) = db.execute("SELECT id FROM event WHERE title = ?", (title,)).fetchone()
    return str(uuid.UUID(raw))


def _first_ticket_type(live_app: LiveApp, event_id: str) -> str:
    with sqlite3.connect(live_app.database_path) as db:
        (raw,) = db.execute(
            "SELECT id FROM ticket_type WHERE event_id = ? ORDER BY position", (uuid.UUID(event_id).hex,)
        ).fetchone()
    return str(uuid.UUID(raw))


def _api(live_app: LiveApp, method: str, path: str, body: dict | None = None, headers: dict | None = None) -> dict:
    request = urllib.request.Request(
        live_app.url(path),
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _order(live_app: LiveApp, *, email: str, name: str, quantity: int = 1, pay: bool = True) -> dict:
    """An order for Riverside Jazz Night, placed as a guest and paid on the test provider."""
    event_id = _event_id(live_app, RIVERSIDE)
    placed = _api(
        live_app,
        "POST",
        "/api/v1/orders",
        {
            "items": [{"ticket_type_id": _first_ticket_type(live_app, event_id), "quantity": quantity}],
            "email": email,
            "phone": "+49 30 1234567",
            "name": name,
        },
    )
    if pay:
        paid = _api(
            live_app,
            "POST",
            f"/api/v1/orders/{placed['id']}/test-payment",
            {"outcome": "succeeded"},
            {"X-Order-Token": placed["access_token"]},
        )
        assert paid["status"] == "paid"
    return placed


def _open_office(page: Page, live_app: LiveApp, tab: str = "") -> None:
    """Log the demo organizer in, straight into Riverside Jazz Night's back office."""
    path = f"/organizer/events/{_event_id(live_app, RIVERSIDE)}"
    log_in(page, *ORGANIZER, next_path=path)
    page.wait_for_url(re.compile(re.escape(path) + "/?$"))
    wait_loaded(page, "back-office")
    expect(page.locator("#office-title")).to_have_text(RIVERSIDE)
    if tab:
        page.locator(f"#tab-{tab}").click()
        page.locator(f'#section-{tab}[data-section-loaded="true"]').wait_for()


def test_organizer_reaches_the_back_office_from_the_event_list(page: Page, live_app: LiveApp) -> None:
    log_in(page, *ORGANIZER, next_path="/organizer")
    page.wait_for_url(re.compile(r"/organizer/?$"))
    wait_loaded(page, "organizer")

    page.locator("#organizer-events .office-link", has_text=RIVERSIDE).click()

    page.wait_for_url(re.compile(r"/organizer/events/[0-9a-f-]{36}/?$"))
    wait_loaded(page, "back-office")
    expect(page.locator("#office-title")).to_have_text(RIVERSIDE)
    expect(page.locator("#sales-table")).to_contain_text("Standing")
    expect(page.locator("#total-sold")).to_have_text(re.compile(r"^\d+$"))


def test_sales_figures_follow_new_orders_live(page: Page, live_app: LiveApp) -> None:
    _open_office(page, live_app)
    held = page.locator("#total-held")
    expect(held).to_have_text(re.compile(r"^\d+$"))
    before = int(held.inner_text())

    # Another buyer reserves two seats: the open page learns it without a reload.
    _order(live_app, email=f"live-{secrets.token_hex(3)}@example.org", name="Lee Live", quantity=2, pay=False)

    expect(held).to_have_text(str(before + 2))


def test_organizer_cancels_and_refunds_a_paid_order(page: Page, live_app: LiveApp) -> None:
    email = f"refund-{secrets.token_hex(4)}@example.org"
    order = _order(live_app, email=email, name="Rafa Refund")
    _open_office(page, live_app, "orders")

    page.locator("#order-search").fill(email)
    page.locator("#order-search").press("Enter")
    rows = page.locator("#orders-table tbody tr")
    expect(rows).to_have_count(1)
    row = page.locator(f'#orders-table tr[data-order-id="{order["id"]}"]')
    expect(row.locator(".order-status")).to_have_text(ENGLISH["office.order_status.paid"])

    row.locator(".cancel-order").click()
    dialog = page.locator("#cancel-dialog")
    expect(dialog).to_contain_text(ENGLISH["office.confirm_refund_title"])
    expect(dialog).to_contain_text(email)
    page.locator("#confirm-cancel").click()

    expect(row.locator(".order-status")).to_have_text(ENGLISH["office.order_status.refunded"])
    amount = format_money(order["total"], order["currency"], "en")
    expect(page.get_by_text(ENGLISH["office.order_refunded"].format(email=email, amount=amount))).to_be_visible()
    expect(row.locator(".cancel-order")).to_have_count(0)
    # The buyer's side agrees: the order is refunded and its tickets no longer valid.
    seen = _api(live_app, "GET", f"/api/v1/orders/{order['id']}", headers={"X-Order-Token": order["access_token"]})
    assert seen["status"] == "refunded"
    assert {ticket["status"] for ticket in seen["tickets"]} == {"refunded"}

    # Filtering by status finds it among the refunded orders.
    page.locator("#order-search").fill("")
    page.locator("#order-status-filter").click()
    page.get_by_role("option", name=ENGLISH["office.order_status.refunded"]).click()
    expect(row).to_be_visible()
    expect(page.locator("#orders-table .order-status", has_text=ENGLISH["office.order_status.paid"])).to_have_count(0)


def test_organizer_finds_an_order_by_a_ticket_reference_read_out_on_the_phone(page: Page, live_app: LiveApp) -> None:
    email = f"reference-{secrets.token_hex(4)}@example.org"
    order = _order(live_app, email=email, name="Remy Reference", quantity=2)
    paid = _api(live_app, "GET", f"/api/v1/orders/{order['id']}", headers={"X-Order-Token": order["access_token"]})
    references = {ticket["reference"] for ticket in paid["tickets"]}
    assert len(references) == 2
    _open_office(page, live_app, "orders")

    # Read out over the phone and typed as heard: lower case, spaces, O for zero.
    heard = sorted(references)[0].lower().replace("-", " ").replace("0", "o")
    page.locator("#order-search").fill(heard)
    page.locator("#order-search").press("Enter")
    row = page.locator(f'#orders-table tr[data-order-id="{order["id"]}"]')
    expect(page.locator("#orders-table tbody tr")).to_have_count(1)
    row.locator(".order-details").click()
    expect(page.locator("#detail-tickets .detail-reference")).to_have_count(2)
    assert set(page.locator("#detail-tickets .detail-reference").all_inner_texts()) == references


def test_organizer_checks_a_ticket_in_by_hand_and_undoes_it(page: Page, live_app: LiveApp) -> None:
    holder = f"Chris Checkin {secrets.token_hex(3)}"
    _order(live_app, email=f"door-{secrets.token_hex(3)}@example.org", name=holder)
    _open_office(page, live_app, "checkin")

    counter = page.locator("#checkin-counter")
    expect(counter).not_to_have_text("0 / 0")  # the live counters arrived (this event has tickets)
    before = int(counter.get_attribute("data-checked-in"))
    page.locator("#attendee-search").fill(holder)
    page.locator("#attendee-search").press("Enter")
    row = page.locator("#attendees-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(holder)
    expect(row).to_have_attribute("data-checked-in", "false")

    row.locator(".check-in").click()

    expect(row).to_have_attribute("data-checked-in", "true")
    expect(row.locator(".checked-in-at")).to_contain_text(ENGLISH["office.gate_manual"])
    expect(counter).to_have_attribute("data-checked-in", str(before + 1))
    expect(page.locator("#gate-counts")).to_contain_text(ENGLISH["office.gate_manual"])
    expect(page.get_by_text(ENGLISH["office.checked_in"].format(name=holder))).to_be_visible()

    row.locator(".undo-checkin").click()

    expect(row).to_have_attribute("data-checked-in", "false")
    expect(counter).to_have_attribute("data-checked-in", str(before))
    expect(row.locator(".check-in")).to_be_visible()
    ticket_id = row.get_attribute("data-ticket-id")
    assert _audited(live_app, "ticket.checked_in", ticket_id)
    assert _audited(live_app, "ticket.check_in_undone", ticket_id)


def test_organizer_adds_and_removes_staff(page: Page, live_app: LiveApp) -> None:
    _open_office(page, live_app, "staff")
    table = page.locator("#staff-table")
    expect(table).to_contain_text(STAFF[0])  # the demo's door staff

    # Only existing accounts can be added.
    page.locator("#field-staff-email").fill("nobody-here@example.org")
    page.locator("#staff-add").click()
    expect(page.get_by_text(ENGLISH["error.staff_unknown_user"])).to_be_visible()

    page.locator("#field-staff-email").fill(ATTENDEE_EMAIL)
    page.locator("#field-staff-gate").fill("Side door")
    page.locator("#staff-add").click()

    added = table.locator("tbody tr", has_text=ATTENDEE_EMAIL)
    expect(added).to_contain_text("Side door")
    expect(page.get_by_text(ENGLISH["office.staff_added"].format(email=ATTENDEE_EMAIL))).to_be_visible()
    expect(page.locator("#field-staff-email")).to_have_value("")

    added.locator(".remove-staff").click()

    expect(added).to_have_count(0)
    expect(table).to_contain_text(STAFF[0])


def test_staff_and_other_organizers_get_not_allowed(page: Page, live_app: LiveApp) -> None:
    log_in(page, *STAFF)
    page.wait_for_url(re.compile(r"/scan/?$"))
    open_page(page, f"/organizer/events/{_event_id(live_app, RIVERSIDE)}", "back-office")
    expect(page.locator("#forbidden")).to_contain_text(ENGLISH["error.forbidden"])
    expect(page.locator("#office-title")).to_have_count(0)

    page.locator("#nav-logout").click()
    page.wait_for_url(re.compile(r"/$"))
    log_in(page, *ORGANIZER)
    page.wait_for_url(re.compile(r"/organizer/?$"))
    open_page(page, f"/organizer/events/{_event_id(live_app, OTHER_ORGANIZATIONS_EVENT)}", "back-office")
    expect(page.locator("#forbidden")).to_be_visible()
    expect(page.locator("#office-title")).to_have_count(0)


def test_anonymous_visitor_goes_to_login_first(page: Page, live_app: LiveApp) -> None:
    path = f"/organizer/events/{_event_id(live_app, RIVERSIDE)}"
    page.goto(path)
    page.wait_for_url(re.compile(r"/login/?\?next=" + re.escape(path) + "/?$"))
    wait_loaded(page, "login")


def test_admin_sees_failed_notifications_and_retries_one(page: Page, live_app: LiveApp) -> None:
    log_in(page, *ADMIN, next_path="/admin")
    page.wait_for_url(re.compile(r"/admin/?$"))
    wait_loaded(page, "admin")
    page.locator("#admin-notifications-link").click()
    page.wait_for_url(re.compile(r"/admin/notifications/?$"))
    wait_loaded(page, "admin-notifications")
    if not _failed_notifications(live_app):
        expect(page.locator("#no-notifications")).to_have_text(ENGLISH["notifications.none"])

    # A message the worker gave up on (written as the worker would leave it).
    recipient = f"bounce-{secrets.token_hex(3)}@example.org"
    failed_id = _store_failed_notification(live_app, recipient)
    page.reload()
    wait_loaded(page, "admin-notifications")
    row = page.locator(f'#notifications-table tr[data-notification-id="{failed_id}"]')
    expect(row).to_contain_text(recipient)
    expect(row).to_contain_text("550 mailbox unavailable")

    row.locator(".retry-notification").click()

    expect(row).to_have_count(0)
    expect(page.get_by_text(ENGLISH["notifications.retried"].format(recipient=recipient))).to_be_visible()
    assert _audited(live_app, "notification.retried", failed_id)


def _audited(live_app: LiveApp, action: str, object_id: str) -> bool:
    with sqlite3.connect(live_app.database_path) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM audit_entry WHERE action = ? AND object_id = ?", (action, object_id)
        ).fetchone()
    return count > 0


def _failed_notifications(live_app: LiveApp) -> set[str]:
    with sqlite3.connect(live_app.database_path) as db:
        rows = db.execute("SELECT id FROM notification WHERE status = 'failed'").fetchall()
    return {str(uuid.UUID(raw)) for (raw,) in rows}


def _store_failed_notification(live_app: LiveApp, recipient: str) -> str:
    engine = create_engine(f"sqlite:///{live_app.database_path}")
    now = datetime.now(UTC)
    notification = Notification(
        idempotency_key=f"e2e:{uuid.uuid4()}",
        topic="e2e.test",
        recipient=recipient,
        subject="A message that bounced",
        status=NotificationStatus.FAILED,
        attempts=5,
        last_error="550 mailbox unavailable",
        created_at=now,
        failed_at=now,
    )
    try:
        with Session(engine, expire_on_commit=False) as session:
            session.add(notification)
            session.commit()
    finally:
        engine.dispose()
    return str(notification.id)
