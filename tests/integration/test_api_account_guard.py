"""Accounts under abuse, over HTTP on PostgreSQL: a rush of guesses, the owner's unlock link,
sign-up that reveals nothing, email verification, and hostile characters."""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import select

from bilten.models import Event, OutboxEvent, Role, User
from bilten.services import security
from tests.factories import DEFAULT_PASSWORD, make_event, make_organization, make_user

WRONG = "Wrong-guess-123"


@pytest.fixture
def password_checks(monkeypatch):
    """Counts the argon2 verifications that really run (the real function, only counted)."""
    calls = []
    lock = threading.Lock()
    real_verify = security.password_context.verify

    def counted(*args, **kwargs):
        with lock:
            calls.append(1)
        return real_verify(*args, **kwargs)

    monkeypatch.setattr(security.password_context, "verify", counted)
    return calls


def login(client, email, password=WRONG, **extra):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password, **extra})


def bearer(client, email, password=DEFAULT_PASSWORD) -> dict[str, str]:
    tokens = login(client, email, password).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def outbox(pg_session, topic):
    pg_session.rollback()
    return pg_session.exec(select(OutboxEvent).where(OutboxEvent.topic == topic).order_by(OutboxEvent.created_at)).all()


def parallel_logins(client, email, count, password=WRONG):
    statuses: list[int] = []
    start = threading.Barrier(count)

    def one():
        start.wait()
        statuses.append(login(client, email, password).status_code)

    threads = [threading.Thread(target=one) for _ in range(count)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Counter(statuses), time.perf_counter() - began


@pytest.mark.parametrize("known", [True, False], ids=["known", "unknown"])
def test_forty_parallel_guesses_check_at_most_ten_passwords_and_never_fail(
    client, pg_session, clock, password_checks, known
):
    if known:
        make_user(pg_session, email="door@example.org", now=clock.now)
    password_checks.clear()
    statuses, seconds = parallel_logins(client, "door@example.org", 40)
    print(
        f"\n40 parallel wrong logins ({'known' if known else 'unknown'} address): {dict(statuses)}, "
        f"{len(password_checks)} passwords checked, {seconds:.2f} s"
    )
    assert len(password_checks) == 10  # exactly the limit: the count is taken before the check
    assert statuses == Counter({401: 10, 429: 30})  # no 5xx, not even for the first parallel failures
    # Then the lock answers, even to the right password, without checking it.
    locked = login(client, "door@example.org", DEFAULT_PASSWORD)
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "too_many_attempts"
    assert len(password_checks) == 10
    assert len(outbox(pg_session, "account.locked")) == (1 if known else 0)


def test_the_owner_unlocks_and_gets_in_while_the_attacker_keeps_guessing(client, pg_session, clock):
    make_user(pg_session, email="door@example.org", now=clock.now)
    parallel_logins(client, "door@example.org", 12)
    (locked,) = outbox(pg_session, "account.locked")
    token = locked.payload["unlock_url"].split("unlock=")[1]
    clock.now += timedelta(minutes=4)
    assert client.post("/api/v1/auth/unlock", json={"token": "forged"}).json()["error"]["code"] == "invalid_token"
    unlocked = client.post("/api/v1/auth/unlock", json={"token": token})
    assert unlocked.status_code == 200 and unlocked.json() == {"email": "door@example.org"}
    statuses, _ = parallel_logins(client, "door@example.org", 15)  # the attacker locks it again
    assert statuses[429] == 5
    assert login(client, "door@example.org", DEFAULT_PASSWORD).status_code == 429
    clock.now += timedelta(minutes=20)  # later still, and still under attack
    parallel_logins(client, "door@example.org", 12)
    owner = login(client, "door@example.org", DEFAULT_PASSWORD, unlock_token=token)
    assert owner.status_code == 200 and owner.json()["access_token"]
    # The pass is spent: once the attacker locks the address again, the token opens nothing.
    parallel_logins(client, "door@example.org", 12)
    again = login(client, "door@example.org", DEFAULT_PASSWORD, unlock_token=token)
    assert again.status_code == 429


def _register(client, email, full_name="Sam Doe"):
    began = time.perf_counter()
    answer = client.post(
        "/api/v1/auth/register", json={"email": email, "password": "Sunny-river-77", "full_name": full_name}
    )
    return answer, time.perf_counter() - began


def test_signing_up_with_a_taken_address_is_indistinguishable_and_tells_the_owner(client, pg_session, clock):
    owner = make_user(pg_session, email="taken@example.org", now=clock.now)
    new_times, taken_times = [], []
    for number in range(7):
        new, seconds = _register(client, f"fresh{number}@example.org")
        new_times.append(seconds)
        taken, seconds = _register(client, "taken@example.org")
        taken_times.append(seconds)
        assert new.status_code == taken.status_code == 201
        assert set(new.json()) == set(taken.json())
        strip = lambda body: {k: v for k, v in body.items() if k not in ("id", "email")}  # noqa: E731
        assert strip(new.json()) == strip(taken.json())
    new_median, taken_median = statistics.median(new_times), statistics.median(taken_times)
    print(f"\nsign-up answers: new address median {new_median * 1000:.0f} ms, taken {taken_median * 1000:.0f} ms")
    assert 0.33 < taken_median / new_median < 3  # both run argon2; nothing tells them apart by time
    pg_session.rollback()
    assert pg_session.get(User, owner.id).password_hash == owner.password_hash
    assert [e.payload["user_id"] for e in outbox(pg_session, "user.signup_attempted")] == [str(owner.id)]


def test_a_new_account_confirms_its_address_before_founding_or_publishing(client, pg_session, clock):
    created = client.post("/api/v1/auth/register", json={"email": "new@example.org", "password": "Sunny-river-77"})
    assert created.status_code == 201 and created.json()["email_verified"] is False
    headers = bearer(client, "new@example.org", "Sunny-river-77")
    refused = client.post("/api/v1/organizations", json={"name": "Night Owls"}, headers=headers)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "email_not_verified"
    assert refused.json()["error"]["message"].startswith("Please confirm your email address")
    arabic = client.post("/api/v1/organizations", json={"name": "X"}, headers={**headers, "Accept-Language": "ar"})
    assert arabic.json()["error"]["message"].startswith("يُرجى تأكيد")
    # A manager of an existing organization who has not confirmed cannot publish either.
    user = pg_session.exec(select(User).where(User.email == "new@example.org")).one()
    event = make_event(
        pg_session,
        organization=make_organization(pg_session, members=(user,), now=clock.now),
        now=clock.now,
        status="draft",
    )
    publish = client.post(f"/api/v1/events/{event.id}/publish", headers=headers)
    assert publish.status_code == 403 and publish.json()["error"]["code"] == "email_not_verified"
    # A new link: once a minute at most.
    clock.now += timedelta(minutes=2)
    assert client.post("/api/v1/auth/verify-email/resend", headers=headers).json() == {"status": "sent"}
    too_soon = client.post("/api/v1/auth/verify-email/resend", headers=headers)
    assert too_soon.status_code == 429 and too_soon.json()["error"]["message"] == (
        "Too many requests. Please wait 1 minutes and try again."
    )
    assert client.post("/api/v1/auth/verify-email/resend").status_code == 401
    token = outbox(pg_session, "user.verification_requested")[-1].payload["verify_url"].split("token=")[1]
    assert client.post("/api/v1/auth/verify-email", json={"token": "forged"}).status_code == 401
    confirmed = client.post("/api/v1/auth/verify-email", json={"token": token})
    assert confirmed.status_code == 200 and confirmed.json() == {"email_verified": True, "organization_id": None}
    assert client.post("/api/v1/auth/verify-email", json={"token": token}).status_code == 401  # once
    assert client.get("/api/v1/auth/me", headers=headers).json()["email_verified"] is True
    assert client.post("/api/v1/organizations", json={"name": "Night Owls"}, headers=headers).status_code == 201
    assert client.post(f"/api/v1/events/{event.id}/publish", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/verify-email/resend", headers=headers).json() == {"status": "already_verified"}


HOSTILE = "Ali\u202ecod.exe\u0000\u0085 \u2066Bob\u2069\x1b"


def test_hostile_characters_are_dropped_from_text_and_refused_in_addresses(client, pg_session, clock):
    created = client.post(
        "/api/v1/auth/register", json={"email": "ali@example.org", "password": "Sunny-river-77", "full_name": HOSTILE}
    )
    assert created.status_code == 201 and created.json()["full_name"] == "Alicod.exe Bob"
    lone_surrogate = b'{"email": "s@example.org", "password": "Sunny-river-77", "full_name": "A\\ud800B"}'
    answer = client.post("/api/v1/auth/register", content=lone_surrogate, headers={"content-type": "application/json"})
    assert answer.status_code == 422  # refused as malformed JSON text, never a server error
    refused = client.post(
        "/api/v1/auth/register", json={"email": "evil\u202e@example.org", "password": "Sunny-river-77"}
    )
    assert refused.status_code == 422
    assert refused.json()["error"] == {
        "code": "validation_error",
        "message": "This value contains invisible control characters. Please type it again.",
    }
    organizer = make_user(pg_session, role=Role.ORGANIZER, email="org@example.org", now=clock.now)
    headers = bearer(client, organizer.email)
    org = client.post("/api/v1/organizations", json={"name": "\u202eHarbour\x07 Nights"}, headers=headers).json()
    assert org["name"] == "Harbour Nights"
    event = client.post(
        "/api/v1/events",
        json={
            "organization_id": org["id"],
            "title": "Gala\u202egnp.exe",
            "description": "Line one\u0000\r\nLine\u200f two",
            "venue": "Pier\u0085 3",
            "city": "Lisbon",
            "timezone": "Europe/Lisbon",
            "starts_at": (clock.now + timedelta(days=20)).isoformat(),
            "ends_at": (clock.now + timedelta(days=20, hours=5)).isoformat(),
        },
        headers=headers,
    )
    assert event.status_code == 201, event.text
    body = event.json()
    assert (body["title"], body["description"], body["venue"]) == ("Galagnp.exe", "Line one\nLine two", "Pier 3")
    ticket_type = client.post(
        f"/api/v1/events/{body['id']}/ticket-types",
        json={"name": "VIP\u202e\u0000", "price": 100, "currency": "EUR", "quantity": 5},
        headers=headers,
    )
    assert ticket_type.status_code == 201 and ticket_type.json()["name"] == "VIP"
    invite = client.post(
        f"/api/v1/organizations/{org['id']}/invitations",
        json={"email": "x\u202e@example.org", "role": "viewer"},
        headers=headers,
    )
    assert invite.status_code == 422 and "invisible" in invite.json()["error"]["message"]
    pg_session.rollback()
    assert pg_session.exec(select(Event.title)).all() == ["Galagnp.exe"]
