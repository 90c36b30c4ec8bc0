"""The organizer's live dashboards and background exports, in headless Chromium.

A sale is paid through the REST API (as a buyer's browser would) while the dashboard is open: the
figures change without a reload, within a second. An export shows its progress bar and downloads
once ready; a viewer sees everything without the action buttons; another account cannot download
the team's export.
"""

from __future__ import annotations

import re
import secrets
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, create_engine, select

from bilten.models import Event, Membership, Role, TeamRole, User
from bilten.services.security import hash_password
from tests.e2e.support import LiveApp, catalog, log_in, number_in, seconds_until_text, wait_loaded
from tests.e2e.test_back_office import ORGANIZER, RIVERSIDE, STAFF, _event_id, _order

pytestmark = pytest.mark.e2e

ENGLISH = catalog("en")
VIEWER_PASSWORD = "Viewer-pass-2026"


def _open(page: Page, path: str, name: str, account: tuple[str, str] = ORGANIZER) -> None:
    log_in(page, *account, next_path=path)
    page.wait_for_url(re.compile(re.escape(path.split("?")[0]) + r"/?(\?.*)?$"))
    wait_loaded(page, name)


def test_event_dashboard_shows_a_sale_within_a_second_without_reload(page: Page, live_app: LiveApp) -> None:
    _open(page, f"/organizer/events/{_event_id(live_app, RIVERSIDE)}", "back-office")
    expect(page.locator("#sales-chart")).to_be_visible()
    sold = number_in(page, "#total-sold")

    _order(live_app, email=f"dash-{secrets.token_hex(3)}@example.org", name="Dee Dashboard", quantity=2)

    latency = seconds_until_text(page, "#total-sold", str(sold + 2))
    assert latency < 1.0, f"the sale reached the dashboard after {latency:.2f} s"
    assert page.locator("#sales-chart .recharts-bar-rectangle").count() >= 1  # the chart has bars


def test_organization_dashboard_follows_sales_of_all_its_events(page: Page, live_app: LiveApp) -> None:
    _open(page, "/organizer", "organizer")
    expect(page.locator("#organization-dashboard")).to_be_visible()
    expect(page.locator("#org-sales-chart")).to_be_visible()
    sold = number_in(page, "#org-sold")
    row = page.locator(f'#dashboard-events tr[data-event-id="{_event_id(live_app, RIVERSIDE)}"]')
    expect(row).to_be_visible()

    _order(live_app, email=f"org-{secrets.token_hex(3)}@example.org", name="Otto Org", quantity=1)

    latency = seconds_until_text(page, "#org-sold", str(sold + 1))
    assert latency < 1.0, f"the sale reached the organization dashboard after {latency:.2f} s"


def test_export_shows_progress_and_becomes_downloadable(page: Page, live_app: LiveApp) -> None:
    holder = f"Xena Export {secrets.token_hex(3)}"
    _order(live_app, email=f"xlsx-{secrets.token_hex(3)}@example.org", name=holder)
    _open(page, f"/organizer/events/{_event_id(live_app, RIVERSIDE)}?tab=exports", "back-office")
    page.locator('#section-exports[data-section-loaded="true"]').wait_for()

    page.locator("#export-start").click()

    row = page.locator("#exports-table tbody tr").first
    expect(row.locator(".export-progress")).to_be_visible()
    expect(row).to_have_attribute("data-status", "done", timeout=20_000)
    expect(row.locator(".export-progress")).to_have_attribute("data-percent", "100")
    # The link is a file download authorized by the browser's session cookie.
    download_url = row.locator(".export-download").get_attribute("href")
    assert row.locator(".export-download").get_attribute("download") is not None
    response = page.context.request.get(download_url)
    assert response.status == 200, response.text()
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment") and re.search(r'filename="attendees-[\w-]+\.csv"', disposition)
    text = response.body().decode("utf-8-sig")
    assert text.startswith("ticket_id,order_id,holder_name,")
    assert holder in text

    # Another account's browser session cannot fetch the team's file.
    page.context.clear_cookies()
    log_in(page, *STAFF)
    page.wait_for_url(re.compile(r"/scan/?$"))
    cookie = next(c for c in page.context.cookies() if c["name"] == "bilten_session")
    request = urllib.request.Request(
        live_app.url(download_url), headers={"Cookie": f"bilten_session={cookie['value']}"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 - the local test server
    assert refused.value.code == 404
    with pytest.raises(urllib.error.HTTPError) as anonymous:
        urllib.request.urlopen(live_app.url(download_url), timeout=10)  # noqa: S310
    assert anonymous.value.code == 401


def test_viewer_sees_figures_and_orders_without_the_action_buttons(page: Page, live_app: LiveApp) -> None:
    email = _viewer(live_app)
    order = _order(live_app, email=f"seen-{secrets.token_hex(3)}@example.org", name="Vic Viewed")
    _open(page, f"/organizer/events/{_event_id(live_app, RIVERSIDE)}", "back-office", (email, VIEWER_PASSWORD))
    expect(page.locator("#office-title")).to_have_text(RIVERSIDE)
    expect(page.locator("#total-sold")).to_have_text(re.compile(r"^\d+$"))
    expect(page.locator("#tab-staff")).to_have_count(0)

    page.locator("#tab-orders").click()
    page.locator('#section-orders[data-section-loaded="true"]').wait_for()
    page.locator("#order-search").fill(order["id"][:8])
    page.locator("#order-search").press("Enter")
    row = page.locator(f'#orders-table tr[data-order-id="{order["id"]}"]')
    expect(row).to_be_visible()
    expect(page.locator("#orders-table .cancel-order")).to_have_count(0)
    row.locator(".order-details").click()
    dialog = page.locator("#order-detail")
    expect(dialog).to_contain_text("Vic Viewed")
    expect(page.locator("#detail-history")).to_contain_text(ENGLISH["history.order.paid"])
    expect(page.locator("#resend-tickets")).to_have_count(0)
    expect(page.locator("#detail-cancel")).to_have_count(0)


def _viewer(live_app: LiveApp) -> str:
    """A viewer on the team of Riverside Jazz Night's organization (written as an invitation would)."""
    engine = create_engine(f"sqlite:///{live_app.database_path}")
    email = f"viewer-{secrets.token_hex(3)}@example.org"
    now = datetime.now(UTC)
    with Session(engine) as session:
        event = session.exec(select(Event).where(Event.title == RIVERSIDE)).one()
        user = User(
            id=uuid.uuid4(),
            email=email,
            password_hash=hash_password(VIEWER_PASSWORD),
            full_name="Vera Viewer",
            role=Role.ATTENDEE,
            created_at=now,
            password_changed_at=now,
        )
        session.add(user)
        session.flush()
        session.add(
            Membership(
                organization_id=event.organization_id, user_id=user.id, team_role=TeamRole.VIEWER, created_at=now
            )
        )
        session.commit()
    engine.dispose()
    return email
