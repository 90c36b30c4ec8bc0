"""Scanning on PostgreSQL, over HTTP: simultaneous doors, device sessions, offline data, the cache on Redis."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bilten import cache
from bilten.db import make_engine
from bilten.models import CheckIn, CheckInResult, Role
from bilten.services import checkins, orders
from bilten.settings import get_settings
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.scanning_helpers import door_with_tickets

DEVICES = 20


@pytest.fixture
def door(pg_session, clock):
    cache.clear_local()
    return door_with_tickets(pg_session, now=clock.now, count=3)


def device_headers(client, user, name="Door phone"):
    response = client.post("/api/v1/devices", json={"email": user.email, "password": DEFAULT_PASSWORD, "name": name})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['device_token']}"}, response.json()["device_id"]


def test_twenty_devices_scan_one_ticket_at_once_exactly_one_valid(pg_url, door, clock):
    engine = make_engine(pg_url)
    start = threading.Barrier(DEVICES)

    def device(n):
        start.wait()
        with Session(engine, expire_on_commit=False) as session:
            staff = session.get(type(door.staff), door.staff.id)
            return checkins.scan_ticket(
                session,
                actor=staff,
                event_id=door.event.id,
                code=door.tickets[0].code,
                nonce=f"device-{n}",
                scanned_at=clock.now,
                now=clock.now,
                device_id=f"phone-{n}",
            ).result

    with ThreadPoolExecutor(max_workers=DEVICES) as pool:
        results = list(pool.map(device, range(DEVICES)))
    engine.dispose()
    assert results.count(CheckInResult.VALID) == 1
    assert results.count(CheckInResult.ALREADY_USED) == DEVICES - 1


def test_same_nonce_from_twenty_retries_at_once_records_one_checkin(pg_url, door, clock, pg_session):
    engine = make_engine(pg_url)
    start = threading.Barrier(10)

    def retry(_):
        start.wait()
        with Session(engine, expire_on_commit=False) as session:
            staff = session.get(type(door.staff), door.staff.id)
            return checkins.scan_ticket(
                session,
                actor=staff,
                event_id=door.event.id,
                code=door.tickets[1].code,
                nonce="the-same-nonce",
                scanned_at=clock.now,
                now=clock.now,
            ).result

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(retry, range(10)))
    engine.dispose()
    assert set(results) == {CheckInResult.VALID}
    assert len(pg_session.exec(select(CheckIn)).all()) == 1


def test_scan_over_http_with_a_device_session(client, door, clock):
    headers, _ = device_headers(client, door.staff)
    body = {
        "code": door.tickets[0].code,
        "event_id": str(door.event.id),
        "gate": "Main",
        "nonce": "abc-1",
        "scanned_at": clock.now.isoformat(),
    }
    first = client.post("/api/v1/orders/validate", json=body, headers=headers)
    assert first.status_code == 200 and first.json()["result"] == "valid"
    assert first.json()["ticket"]["holder_name"] == "Dana Fan"
    second = client.post("/api/v1/orders/validate", json={**body, "nonce": "abc-2"}, headers=headers).json()
    assert second["result"] == "already_used" and second["first_scan"]["gate"] == "Main"
    replay = client.post("/api/v1/orders/validate", json=body, headers=headers).json()
    assert replay["result"] == "valid" and replay["replayed"] is True


def test_device_session_lasts_the_event_and_can_be_revoked(client, door, clock):
    headers, device_id = device_headers(client, door.staff)
    clock.now += timedelta(days=2)  # far beyond the 15-minute access token
    assert client.get(f"/api/v1/events/{door.event.id}/scan-data", headers=headers).status_code == 200
    assert client.delete(f"/api/v1/devices/{device_id}", headers=headers).status_code == 204
    refused = client.get(f"/api/v1/events/{door.event.id}/scan-data", headers=headers)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_token"
    clock.now += timedelta(days=8)
    fresh, _ = device_headers(client, door.staff)
    clock.now += timedelta(days=8)
    assert client.get(f"/api/v1/events/{door.event.id}/scan-data", headers=fresh).status_code == 401


def test_a_device_token_only_opens_the_door_endpoints(client, door, pg_session, clock):
    """A phone left at the door checks tickets in; it cannot manage orders, staff or organizations,
    even when its staff member is also an organizer."""
    organizer_phone, _ = device_headers(client, door.organizer)
    assert client.get(f"/api/v1/events/{door.event.id}/scan-data", headers=organizer_phone).status_code == 200
    for method, path in [
        ("GET", f"/api/v1/events/{door.event.id}/checkins"),
        ("GET", f"/api/v1/events/{door.event.id}/staff"),
        ("POST", f"/api/v1/tickets/{door.tickets[1].id}/check-in"),
        ("GET", "/api/v1/organizations"),
        ("GET", "/api/v1/auth/me"),
    ]:
        refused = client.request(method, path, headers=organizer_phone)
        assert refused.status_code == 401, (path, refused.text)
        assert refused.json()["error"]["code"] == "invalid_token"
    assert pg_session.exec(select(CheckIn)).all() == []


def test_scan_data_is_for_the_events_staff_only(client, door, pg_session, clock):
    headers, _ = device_headers(client, door.staff)
    data = client.get(f"/api/v1/events/{door.event.id}/scan-data", headers=headers).json()
    assert set(data) == {"event_id", "public_key", "revoked", "checkins", "generated_at"}
    assert data["public_key"] == door.event.signing_public_key
    stranger = make_user(pg_session, role=Role.STAFF, now=clock.now)
    other_headers, _ = device_headers(client, stranger)
    assert client.get(f"/api/v1/events/{door.event.id}/scan-data", headers=other_headers).status_code == 403
    assert (
        client.post(
            "/api/v1/orders/validate",
            headers=other_headers,
            json={"code": door.tickets[0].code, "event_id": str(door.event.id), "nonce": "x"},
        ).status_code
        == 403
    )
    assert client.get(f"/api/v1/events/{door.event.id}/scan-data").status_code == 401


def test_offline_upload_over_http_reports_the_conflict(client, door, clock):
    headers, _ = device_headers(client, door.staff)
    code = door.tickets[2].code
    client.post(
        "/api/v1/orders/validate",
        headers=headers,
        json={
            "code": code,
            "event_id": str(door.event.id),
            "nonce": "online-1",
            "gate": "A",
            "scanned_at": (clock.now + timedelta(minutes=5)).isoformat(),
        },
    )
    upload = {
        "scans": [
            {
                "code": code,
                "nonce": "offline-1",
                "scanned_at": (clock.now + timedelta(minutes=6)).isoformat(),
                "gate": "B",
                "device_id": "phone-b",
                "device_result": "valid",
            }
        ]
    }
    result = client.post(f"/api/v1/events/{door.event.id}/checkins/offline", json=upload, headers=headers).json()
    assert result[0]["result"] == "already_used" and result[0]["conflict"] is True
    organizer = client.post("/api/v1/auth/login", json={"email": door.organizer.email, "password": DEFAULT_PASSWORD})
    listing = client.get(
        f"/api/v1/events/{door.event.id}/checkins",
        headers={"Authorization": f"Bearer {organizer.json()['access_token']}"},
    ).json()
    row = next(r for r in listing["attendees"] if r["ticket_id"] == str(door.tickets[2].id))
    assert row["conflicts"] == 1 and listing["checked_in"] == 1 and listing["expected"] == 3
    assert client.get(f"/api/v1/events/{door.event.id}/checkins", headers=headers).status_code == 401  # a device
    staff = client.post("/api/v1/auth/login", json={"email": door.staff.email, "password": DEFAULT_PASSWORD})
    staff_headers = {"Authorization": f"Bearer {staff.json()['access_token']}"}
    assert client.get(f"/api/v1/events/{door.event.id}/checkins", headers=staff_headers).status_code == 403


def test_bad_scan_requests(client, door):
    headers, _ = device_headers(client, door.staff)
    missing_nonce = client.post(
        "/api/v1/orders/validate", headers=headers, json={"code": "x", "event_id": str(door.event.id)}
    )
    assert missing_nonce.status_code == 422
    unknown_event = client.post(
        "/api/v1/orders/validate", headers=headers, json={"code": "x", "event_id": str(uuid.uuid4()), "nonce": "n"}
    )
    assert unknown_event.status_code == 404
    bad_login = client.post("/api/v1/devices", json={"email": door.staff.email, "password": "wrong-password-1"})
    assert bad_login.status_code == 401


def test_already_used_answers_come_from_redis_after_the_first_scan(monkeypatch, redis_url, pg_session, door, clock):
    monkeypatch.setenv("REDIS_URL", redis_url)
    get_settings.cache_clear()
    try:
        ticket = door.tickets[0]
        first = checkins.scan_ticket(
            pg_session,
            actor=door.staff,
            event_id=door.event.id,
            code=ticket.code,
            nonce="r-1",
            scanned_at=clock.now,
            now=clock.now,
            gate="G",
        )
        key = f"scan:{door.event.id}:{ticket.id}"
        assert cache.get_json(key)["gate"] == "G"
        assert (
            checkins.scan_ticket(
                pg_session,
                actor=door.staff,
                event_id=door.event.id,
                code=ticket.code,
                nonce="r-2",
                scanned_at=clock.now,
                now=clock.now,
            ).result
            == "already_used"
        )
        checkins.undo_checkin(pg_session, actor=door.organizer, checkin_id=first.checkin_id, now=clock.now)
        assert cache.get_json(key) is None  # invalidated on the change
        assert (
            checkins.scan_ticket(
                pg_session,
                actor=door.staff,
                event_id=door.event.id,
                code=ticket.code,
                nonce="r-3",
                scanned_at=clock.now,
                now=clock.now,
            ).result
            == "valid"
        )
    finally:
        cache.delete(f"scan:{door.event.id}:{door.tickets[0].id}")
        get_settings.cache_clear()


def test_a_ticket_cancelled_after_it_got_in_answers_cancelled_not_a_cached_already_used(
    monkeypatch, redis_url, pg_session, door, clock
):
    monkeypatch.setenv("REDIS_URL", redis_url)
    get_settings.cache_clear()
    try:
        ticket = door.tickets[1]

        def scan(nonce):
            return checkins.scan_ticket(
                pg_session,
                actor=door.staff,
                event_id=door.event.id,
                code=ticket.code,
                nonce=nonce,
                scanned_at=clock.now,
                now=clock.now,
            ).result

        assert scan("c-1") == "valid"
        assert cache.get_json(f"scan:{door.event.id}:{ticket.id}") is not None
        orders.cancel_order(pg_session, order_id=ticket.order_id, now=clock.now, actor=door.organizer)
        assert cache.get_json(f"scan:{door.event.id}:{ticket.id}") is None
        assert scan("c-2") == "cancelled"
    finally:
        get_settings.cache_clear()
