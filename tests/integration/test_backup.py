"""`bilten backup` and `bilten restore` on PostgreSQL for real, run as an operator runs them: a paid
order's tickets and a check-in survive the trip through pg_dump and pg_restore into another
database, and the API on the restored database serves the same order and scans the same tickets."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from bilten.api import api
from bilten.api.deps import get_now, get_session
from bilten.db import make_engine
from bilten.models import User
from bilten.services import checkins, orders
from bilten.settings import PROJECT_ROOT
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.integration.conftest import create_database, drop_database
from tests.scanning_helpers import door_with_tickets

pytestmark = pytest.mark.postgres


def bilten(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "bilten.cli", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@contextmanager
def api_on(database_url: str, clock, monkeypatch) -> Iterator[TestClient]:  # noqa: ANN001
    """The REST API in this process, on the given database."""
    engine = make_engine(database_url)

    def session_override():
        with Session(engine, expire_on_commit=False) as session:
            yield session

    with monkeypatch.context() as patch:
        patch.setattr("bilten.db.get_engine", lambda: engine)
        api.dependency_overrides[get_session] = session_override
        api.dependency_overrides[get_now] = clock
        try:
            with TestClient(api, raise_server_exceptions=True) as client:
                yield client
        finally:
            api.dependency_overrides.clear()
            checkins.wait_for_pending_publishes()
            orders.wait_for_pending_publishes()
            engine.dispose()


def scan(client: TestClient, staff: User, event_id: str, code: str, nonce: str) -> str:
    device = client.post("/api/v1/devices", json={"email": staff.email, "password": DEFAULT_PASSWORD, "name": "Gate"})
    assert device.status_code == 201, device.text
    answer = client.post(
        "/api/v1/orders/validate",
        json={"code": code, "event_id": event_id, "nonce": nonce, "gate": "Main"},
        headers={"Authorization": f"Bearer {device.json()['device_token']}"},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["result"]


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    source, target = create_database(), create_database()
    try:
        yield source, target
    finally:
        drop_database(source)
        drop_database(target)


def test_a_restored_database_serves_the_same_orders_and_tickets(databases, clock, monkeypatch, tmp_path):
    source, target = databases
    migrated = bilten(source, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    engine = make_engine(source)
    with Session(engine, expire_on_commit=False) as session:
        door = door_with_tickets(session, now=clock.now, count=3, price=2500)
        # One ticket already got in before the backup: the restored door must remember it.
        first = checkins.scan_ticket(
            session,
            actor=door.staff,
            event_id=door.event.id,
            code=door.tickets[0].code,
            nonce="before-backup",
            scanned_at=clock.now,
            now=clock.now,
        )
        assert first.result == "valid"
    checkins.wait_for_pending_publishes()
    engine.dispose()
    order_id = str(door.tickets[0].order_id)
    event_id = str(door.event.id)
    token = orders.order_access_token(door.tickets[0].order_id)
    with api_on(source, clock, monkeypatch) as client:
        before = client.get(f"/api/v1/orders/{order_id}", params={"token": token})
    assert before.status_code == 200 and before.json()["status"] == "paid" and len(before.json()["tickets"]) == 3

    dump = tmp_path / "backups" / "bilten.dump"
    saved = bilten(source, "backup", "--output", str(dump))
    assert saved.returncode == 0, saved.stderr
    assert f"to {dump}" in saved.stdout and "bytes)" in saved.stdout
    assert ":postgres@" not in saved.stdout  # the password is never printed
    assert dump.read_bytes().startswith(b"PGDMP")  # pg_dump's custom format

    # The target already holds something else: a restore replaces it, but only when told --yes.
    assert bilten(target, "migrate").returncode == 0
    target_engine = make_engine(target)
    with Session(target_engine) as session:
        make_user(session, email="someone-else@example.org", now=clock.now)
    refused = bilten(target, "restore", str(dump))
    assert refused.returncode == 2 and "--yes" in refused.stderr
    with Session(target_engine) as session:
        assert session.exec(select(User).where(User.email == "someone-else@example.org")).first() is not None
    not_a_dump = tmp_path / "notes.txt"
    not_a_dump.write_text("not a backup")
    wrong = bilten(target, "restore", str(not_a_dump), "--yes")
    assert wrong.returncode == 1 and "not a pg_dump" in wrong.stderr

    restored = bilten(target, "restore", str(dump), "--yes")
    assert restored.returncode == 0, restored.stderr
    assert f"Restored {dump}" in restored.stdout
    with Session(target_engine) as session:
        assert session.exec(select(User).where(User.email == "someone-else@example.org")).first() is None
    target_engine.dispose()
    assert bilten(target, "migrate").returncode == 0  # already at head: nothing to do, no error

    with api_on(target, clock, monkeypatch) as client:
        after = client.get(f"/api/v1/orders/{order_id}", params={"token": token})
        assert after.status_code == 200
        assert after.json() == before.json()  # the same order, tickets, codes and references
        codes = [ticket["code"] for ticket in after.json()["tickets"]]
        by_code = {ticket.code: ticket for ticket in door.tickets}
        results = {code: scan(client, door.staff, event_id, code, f"after-{n}") for n, code in enumerate(codes)}
    assert results[door.tickets[0].code] == "already_used"
    assert sorted(result for code, result in results.items() if by_code[code] != door.tickets[0]) == [
        "valid",
        "valid",
    ]


def test_backup_and_restore_of_an_sqlite_database(tmp_path):
    source, target = f"sqlite:///{tmp_path / 'live.db'}", f"sqlite:///{tmp_path / 'restored.db'}"
    assert bilten(source, "migrate").returncode == 0
    assert (
        bilten(source, "create-admin", "--email", "boss@example.org", "--password", "Strong-pass-2026").returncode == 0
    )
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / f"{'a' * 32}.png").write_bytes(b"picture")
    env_media = {"MEDIA_DIR": str(tmp_path / "media")}
    saved = subprocess.run(
        [sys.executable, "-m", "bilten.cli", "backup", "-o", str(tmp_path / "b.sqlite3"), "--media"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": source, **env_media},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert saved.returncode == 0, saved.stderr
    assert (tmp_path / "b.sqlite3.media.tar.gz").is_file() and "media:" in saved.stdout
    with tarfile.open(tmp_path / "b.sqlite3.media.tar.gz") as archive:
        assert f"media/{'a' * 32}.png" in archive.getnames()
    assert bilten(target, "restore", str(tmp_path / "b.sqlite3")).returncode == 2
    assert bilten(target, "restore", str(tmp_path / "b.sqlite3"), "--yes").returncode == 0
    engine = make_engine(target)
    with Session(engine) as session:
        assert session.exec(select(User).where(User.email == "boss@example.org")).one().role == "admin"
    engine.dispose()
