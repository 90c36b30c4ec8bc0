"""Organizer reports through the REST API on PostgreSQL: stats, order pages and search, exports from
request to download (in a thread, and through `bilten worker` on Redis), and every denial."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from bilten import jobs
from bilten.models import ExportJob, ExportStatus, Membership, Role, TeamRole, TicketType
from bilten.services import checkins, exports, orders
from bilten.settings import PROJECT_ROOT, get_settings
from tests.factories import DEFAULT_PASSWORD, make_event, make_organization, make_user

pytestmark = pytest.mark.postgres


def bearer(client, user) -> dict[str, str]:
    tokens = client.post("/api/v1/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD}).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def buy(session, ticket_type_id, now, *, quantity=1, email="buyer@example.org", name="Bo Buyer", pay=True):
    placed = orders.place_order(
        session, items=[(ticket_type_id, quantity)], email=email, phone="+49 30 1234567", name=name, now=now
    )
    token = orders.order_access_token(placed.order.id)
    orders.start_payment(session, order_id=placed.order.id, now=now, access_token=token)
    if pay:
        orders.pay_with_test_provider(session, order_id=placed.order.id, succeeded=True, now=now, access_token=token)
    return placed.order


@pytest.fixture
def team(pg_session, clock):
    """An organization (owner, viewer, staff member) with one event and sales; a rival organization."""
    now = clock.now
    owner = make_user(pg_session, role=Role.ORGANIZER, now=now)
    org = make_organization(pg_session, members=(owner,), now=now)
    people = {"owner": owner}
    for role in (TeamRole.VIEWER, TeamRole.STAFF):
        user = make_user(pg_session, role=Role.ORGANIZER, now=now)
        pg_session.add(Membership(organization_id=org.id, user_id=user.id, team_role=role, created_at=now))
        people[role.value] = user
    pg_session.commit()
    event = make_event(pg_session, organization=org, now=now, prices=(2500,), quantity=50)
    ticket_type = pg_session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    for n in range(7):
        buy(pg_session, ticket_type.id, now, email=f"fan{n}@example.org", name=f"Fan {n}")
    held = buy(pg_session, ticket_type.id, now, quantity=2, email="slow@example.org", pay=False)
    rival_owner = make_user(pg_session, role=Role.ORGANIZER, now=now)
    rival = make_organization(pg_session, members=(rival_owner,), now=now)
    rival_event = make_event(pg_session, organization=rival, now=now, title="Theirs")
    people["rival"] = rival_owner
    people["attendee"] = make_user(pg_session, role=Role.ATTENDEE, now=now)
    people["admin"] = make_user(pg_session, role=Role.ADMIN, now=now)
    return {"people": people, "org": org, "event": event, "type": ticket_type, "held": held, "rival_event": rival_event}


@pytest.fixture
def export_dir(tmp_path, monkeypatch, pg_app_database):
    """Exports into a temporary folder, their background thread on the test database."""
    monkeypatch.setattr(get_settings(), "export_dir", tmp_path / "exports")
    return tmp_path / "exports"


def wait_for_export(client, headers, export_id, timeout=30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/exports/{export_id}", headers=headers).json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"export {export_id} still {body['status']} after {timeout} s")


def test_event_stats(client, team, pg_session, clock):
    tickets = checkins.list_attendees(pg_session, actor=team["people"]["owner"], event_id=team["event"].id)
    checkins.check_in_manually(
        pg_session, actor=team["people"]["owner"], ticket_id=tickets[0].ticket_id, now=clock.now, gate="East"
    )
    body = client.get(f"/api/v1/events/{team['event'].id}/stats", headers=bearer(client, team["people"]["viewer"]))
    assert body.status_code == 200
    stats = body.json()
    assert (stats["sold"], stats["held"], stats["remaining"], stats["capacity"]) == (7, 2, 41, 50)
    assert stats["revenue"] == {"EUR": 7 * 2500} and stats["paid_orders"] == 7
    assert stats["checked_in"] == 1 and stats["by_gate"] == [{"gate": "East", "checked_in": 1}]
    assert stats["bucket"] == "hour"
    sale_hour = f"{clock.now.astimezone(ZoneInfo('Europe/Berlin')):%Y-%m-%dT%H:00}"  # the event's time zone
    assert stats["sales_over_time"] == [{"start": sale_hour, "tickets": 7, "revenue": {"EUR": 17500}}]
    assert stats["ticket_types"][0]["sold"] == 7


def test_organization_stats(client, team):
    url = f"/api/v1/organizations/{team['org'].id}/stats"
    stats = client.get(url, headers=bearer(client, team["people"]["viewer"])).json()
    assert (stats["sold"], stats["held"]) == (7, 2) and [e["title"] for e in stats["events"]] == ["Concert"]
    for who in ("rival", "staff", "attendee"):
        assert client.get(url, headers=bearer(client, team["people"][who])).status_code == 403
    assert client.get(url).status_code == 401


def test_orders_pages_search_and_status(client, team):
    headers = bearer(client, team["people"]["viewer"])
    url = f"/api/v1/events/{team['event'].id}/orders"
    first = client.get(url, params={"page_size": 3}, headers=headers).json()
    assert (first["total"], first["pages"], len(first["items"])) == (8, 3, 3)
    last = client.get(url, params={"page_size": 3, "page": 3}, headers=headers).json()
    assert len(last["items"]) == 2
    seen = {
        item["id"]
        for page in (1, 2, 3)
        for item in client.get(url, params={"page_size": 3, "page": page}, headers=headers).json()["items"]
    }
    assert len(seen) == 8
    found = client.get(url, params={"search": "FAN3@"}, headers=headers).json()
    assert [item["buyer_email"] for item in found["items"]] == ["fan3@example.org"]
    held_id = str(team["held"].id)
    by_id = client.get(url, params={"search": held_id[:8].upper()}, headers=headers).json()
    assert [item["id"] for item in by_id["items"]] == [held_id]
    pending = client.get(url, params={"status": "pending"}, headers=headers).json()
    assert [item["id"] for item in pending["items"]] == [held_id] and pending["items"][0]["tickets"] == 2
    bad = client.get(url, params={"status": "shipped"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    assert client.get(url, params={"page": 0}, headers=headers).status_code == 422


def test_reports_refuse_other_organizations_staff_attendees_and_anonymous(client, team):
    event_id = team["event"].id
    urls = [f"/api/v1/events/{event_id}/orders", f"/api/v1/events/{event_id}/stats"]
    for url in urls:
        assert client.get(url).status_code == 401
        for who in ("rival", "staff", "attendee"):
            response = client.get(url, headers=bearer(client, team["people"][who]))
            assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
        assert client.get(url, headers=bearer(client, team["people"]["admin"])).status_code == 200
    # The owner of the rival organization reaches their own event, not ours.
    rival = bearer(client, team["people"]["rival"])
    assert client.get(f"/api/v1/events/{team['rival_event'].id}/stats", headers=rival).status_code == 200
    post = client.post(f"/api/v1/events/{event_id}/exports", json={"kind": "orders", "format": "csv"}, headers=rival)
    assert post.status_code == 403
    assert (
        client.post(f"/api/v1/events/{event_id}/exports", json={"kind": "orders", "format": "csv"}).status_code == 401
    )


def test_csv_export_end_to_end_and_other_organizations_cannot_reach_it(client, team, export_dir, pg_session):
    viewer = bearer(client, team["people"]["viewer"])
    started = client.post(
        f"/api/v1/events/{team['event'].id}/exports", json={"kind": "attendees", "format": "csv"}, headers=viewer
    )
    assert started.status_code == 202 and started.json()["status"] in ("queued", "running", "done")
    export_id = started.json()["id"]

    done = wait_for_export(client, viewer, export_id)

    assert (done["status"], done["rows_done"], done["rows_total"], done["percent"]) == ("done", 7, 7, 100)
    assert done["download_url"] == f"/api/v1/exports/{export_id}/download"
    download = client.get(done["download_url"], headers=viewer)
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert sorted(row["buyer_email"] for row in rows) == [f"fan{n}@example.org" for n in range(7)]
    # The whole team sees the team's exports; nobody else does, not even that it exists.
    assert client.get(done["download_url"], headers=bearer(client, team["people"]["owner"])).status_code == 200
    for who in ("rival", "staff", "attendee"):
        headers = bearer(client, team["people"][who])
        assert client.get(f"/api/v1/exports/{export_id}", headers=headers).status_code == 404
        assert client.get(done["download_url"], headers=headers).status_code == 404
    assert client.get(done["download_url"]).status_code == 401


def test_xlsx_orders_export_and_bad_requests(client, team, export_dir):
    owner = bearer(client, team["people"]["owner"])
    url = f"/api/v1/events/{team['event'].id}/exports"
    export_id = client.post(url, json={"kind": "orders", "format": "xlsx"}, headers=owner).json()["id"]
    done = wait_for_export(client, owner, export_id)
    assert done["rows_done"] == 8
    download = client.get(done["download_url"], headers=owner)
    path = export_dir / "check.xlsx"
    path.write_bytes(download.content)
    sheet = load_workbook(path, read_only=True).active
    assert sum(1 for _ in sheet.iter_rows()) == 1 + 8
    for body in ({"kind": "tickets", "format": "csv"}, {"kind": "orders", "format": "pdf"}):
        refused = client.post(url, json=body, headers=owner)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "validation_error"
    assert client.get(f"/api/v1/exports/{team['event'].id}", headers=owner).status_code == 404


@pytest.mark.redis
def test_with_redis_the_export_runs_in_bilten_worker(
    team, export_dir, pg_url, pg_engine, redis_url, tmp_path, monkeypatch, clock
):
    """The web process queues the job on Redis; `bilten worker` (its own process) writes the file."""
    # The worker runs on the real clock and fails exports queued more than an hour before its now:
    # the job is stamped with the real time (the tests' `now` is the start of the run's first hour).
    clock.now = datetime.now(UTC)
    with Session(pg_engine, expire_on_commit=False) as session:
        job = exports.request_export(
            session,
            actor=team["people"]["owner"],
            event_id=team["event"].id,
            kind="attendees",
            file_format="csv",
            now=clock.now,
        )
    monkeypatch.setattr(get_settings(), "redis_url", redis_url)
    monkeypatch.setattr(jobs, "_export_sender", None)
    env = {
        **os.environ,
        "DATABASE_URL": pg_url,
        "REDIS_URL": redis_url,
        "EXPORT_DIR": str(export_dir),
        "MAIL_OUTBOX_DIR": str(tmp_path / "mail"),
        "PYTHONUNBUFFERED": "1",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "bilten.cli", "worker", "--threads", "2"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        jobs.submit_export(job.id)
        deadline = time.monotonic() + 60
        status = ExportStatus.QUEUED
        while time.monotonic() < deadline and status not in (ExportStatus.DONE, ExportStatus.FAILED):
            time.sleep(0.2)
            with Session(pg_engine) as session:
                status = session.get(ExportJob, job.id).status
        assert status == ExportStatus.DONE
        assert len((Path(export_dir) / f"{job.id}.csv").read_text(encoding="utf-8-sig").splitlines()) == 1 + 7
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
