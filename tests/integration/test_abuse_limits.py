"""Attackers against the real API over HTTP: many requests at once, from many loopback addresses.

The API runs in uvicorn (a thread of this process, or two processes sharing Redis); each client is
bound to its own 127.0.0.N, so the server sees a different peer per client, as from the internet.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis
from sqlmodel import Session

from bilten.api import api
from bilten.api.deps import get_now, get_session
from bilten.i18n import translate
from bilten.services.errors import RateLimited
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.ratelimit_support import ThreadedServer, client_from, free_port, rate_limits_on

pytestmark = pytest.mark.postgres


@pytest.fixture
def live_api(pg_engine, pg_session, clock) -> Iterator[str]:
    """The REST API served over HTTP on the test database; yields its base URL."""

    def session_override():
        with Session(pg_engine, expire_on_commit=False) as session:
            yield session

    api.dependency_overrides[get_session] = session_override
    api.dependency_overrides[get_now] = clock
    try:
        with ThreadedServer(api) as server:
            yield server.base_url
    finally:
        api.dependency_overrides.clear()


def at_once(calls: list, threads: int = 16) -> list[httpx.Response]:
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda call: call(), calls))


def assert_rate_limited(response: httpx.Response, locale: str = "en") -> None:
    assert response.status_code == 429, response.text
    seconds = int(response.headers["retry-after"])
    assert 1 <= seconds <= 3600
    error = response.json()["error"]
    expected = RateLimited(seconds)  # "wait N seconds", or minutes from two minutes on
    assert error == {"code": "rate_limited", "message": translate(expected.key, locale, **expected.params)}


def test_password_spraying_meets_429_quickly_while_a_person_elsewhere_logs_in(live_api, pg_session, now):
    make_user(pg_session, email="ada@example.org", now=now)
    with rate_limits_on(), client_from(live_api, "127.0.0.10") as attacker, client_from(live_api, "127.0.0.20") as ada:
        sprayed = [
            lambda n=n: attacker.post(
                "/api/v1/auth/login", json={"email": f"user{n}@example.org", "password": "Winter2026!"}
            )
            for n in range(150)
        ]
        started = time.monotonic()
        answers = at_once(sprayed)
        spraying_took = time.monotonic() - started
        # Meanwhile (and after) the person at another address logs in as usual.
        login = ada.post("/api/v1/auth/login", json={"email": "ada@example.org", "password": DEFAULT_PASSWORD})
    statuses = Counter(r.status_code for r in answers)
    assert statuses == {401: 10, 429: 140}, statuses  # RATE_LIMIT_LOGIN defaults to 10 a minute
    for refused in (r for r in answers if r.status_code == 429):
        assert_rate_limited(refused)
    assert login.status_code == 200 and login.json()["access_token"]
    print(f"150 sprayed logins answered in {spraying_took:.2f} s: {dict(statuses)}")


def test_mass_registration_meets_429_and_a_person_elsewhere_signs_up(live_api):
    with rate_limits_on(), client_from(live_api, "127.0.0.11") as bot, client_from(live_api, "127.0.0.21") as person:
        sign_ups = [
            lambda n=n: bot.post(
                "/api/v1/auth/register",
                json={"email": f"bot{n}@example.org", "password": "Long-enough-2026", "full_name": "Bot"},
            )
            for n in range(60)
        ]
        answers = at_once(sign_ups)
        mine = person.post(
            "/api/v1/auth/register",
            json={"email": "sam@example.org", "password": "Long-enough-2026"},
            headers={"Accept-Language": "ar"},
        )
        again = bot.post(
            "/api/v1/auth/register",
            json={"email": "bot-late@example.org", "password": "Long-enough-2026"},
            headers={"Accept-Language": "ar"},
        )
    statuses = Counter(r.status_code for r in answers)
    assert statuses == {201: 5, 429: 55}, statuses  # RATE_LIMIT_REGISTER defaults to 5 a minute
    assert mine.status_code == 201
    assert_rate_limited(again, locale="ar")


def test_each_of_many_addresses_has_its_own_count(live_api):
    addresses = [f"127.0.0.{n}" for n in range(100, 120)]
    clients = {address: client_from(live_api, address) for address in addresses}
    try:
        with rate_limits_on(RATE_LIMIT_LOGIN_ACCOUNT=""):
            calls = [
                lambda a=address, n=n: (
                    a,
                    clients[a].post("/api/v1/auth/login", json={"email": f"x{n}-{a}@example.org", "password": "x"}),
                )
                for address in addresses
                for n in range(14)
            ]
            with ThreadPoolExecutor(16) as pool:
                answers = list(pool.map(lambda call: call(), calls))
    finally:
        for client in clients.values():
            client.close()
    per_address = Counter((address, r.status_code) for address, r in answers)
    for address in addresses:
        assert per_address[(address, 401)] == 10 and per_address[(address, 429)] == 4, address


def test_x_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(live_api):
    def logins(client: httpx.Client, forwarded: list[str]) -> Counter:
        return Counter(
            client.post(
                "/api/v1/auth/login",
                json={"email": f"n{i}@example.org", "password": "x"},
                headers={"X-Forwarded-For": hop},
            ).status_code
            for i, hop in enumerate(forwarded)
        )

    fresh_claims = [f"203.0.113.{n}" for n in range(1, 16)]
    # No trusted proxies: a new made-up address per request changes nothing.
    with rate_limits_on(RATE_LIMIT_LOGIN_ACCOUNT=""), client_from(live_api, "127.0.0.12") as spoofer:
        assert logins(spoofer, fresh_claims) == {401: 10, 429: 5}
    # The proxy is trusted: each address it saw is its own client...
    with rate_limits_on(RATE_LIMIT_LOGIN_ACCOUNT="", TRUSTED_PROXIES="127.0.0.13"):
        with client_from(live_api, "127.0.0.13") as proxy:
            assert logins(proxy, fresh_claims) == {401: 15}
            # ...but what a client wrote in front of the proxy's entry is not believed.
            assert logins(proxy, [f"10.9.9.{n}, 198.51.100.77" for n in range(15)]) == {401: 10, 429: 5}
        # A peer that is not the trusted proxy is itself the client, whatever it forwards.
        with client_from(live_api, "127.0.0.14") as other:
            assert logins(other, fresh_claims) == {401: 10, 429: 5}


def test_the_other_limited_endpoints_refuse_a_flood_from_one_address(live_api, pg_session, now):
    make_user(pg_session, email="door@example.org", now=now)
    floods = {
        "/api/v1/auth/password-reset/request": ({"email": "victim@example.org"}, 3),  # per email: 3 an hour
        "/api/v1/devices": ({"email": "door@example.org", "password": "wrong"}, 5),  # per account: 5 a minute
        "/api/v1/orders": ({"items": [{"ticket_type_id": str(uuid.uuid4()), "quantity": 1}], "email": "b@e.org"}, 10),
    }
    with rate_limits_on(), client_from(live_api, "127.0.0.15") as flooder, client_from(live_api, "127.0.0.16") as other:
        for path, (body, allowed) in floods.items():
            answers = at_once([lambda p=path, b=body: flooder.post(p, json=b) for _ in range(allowed + 8)])
            statuses = Counter(r.status_code for r in answers)
            assert statuses[429] == 8 and sum(statuses.values()) - statuses[429] == allowed, (path, statuses)
            assert_rate_limited(next(r for r in answers if r.status_code == 429))
        # The password reset and device limits count per account: another address is refused too.
        assert (
            other.post("/api/v1/auth/password-reset/request", json={"email": "VICTIM@example.org"}).status_code == 429
        )
        assert other.post("/api/v1/auth/password-reset/request", json={"email": "me@example.org"}).status_code == 202


def test_door_scans_are_limited_per_device_and_generously(live_api):
    # Unknown device tokens: the answer is 401, but each request is counted against its device.
    def scan(client: httpx.Client, token: str) -> int:
        body = {"code": "X", "event_id": str(uuid.uuid4()), "nonce": uuid.uuid4().hex}
        return client.post(
            "/api/v1/orders/validate", json=body, headers={"Authorization": f"Bearer {token}"}
        ).status_code

    with rate_limits_on(RATE_LIMIT_VALIDATE_DEVICE="30/minute"), client_from(live_api, "127.0.0.17") as door:
        busy_phone = Counter(at_once([lambda: scan(door, "phone-1") for _ in range(40)]))
        other_phone = Counter(scan(door, "phone-2") for _ in range(20))  # same address (one venue), other device
    assert busy_phone == {401: 30, 429: 10}
    assert other_phone == {401: 20}


# -- two processes, one counter ------------------------------------------------------------------


def _serve_api_process(port: int, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bilten.api:api", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_until_up(base_url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the API process died: {process.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(base_url + "/api/health", timeout=2).status_code in (200, 503):
                return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail("the API process did not start")


def test_two_processes_share_one_counter_through_redis(pg_url, redis_url):
    redis.Redis.from_url(redis_url).flushdb()  # this test's own Redis database: no counts left from before
    with rate_limits_on(REDIS_URL=redis_url, DATABASE_URL=pg_url, RATE_LIMIT_LOGIN_ACCOUNT=""):
        env = dict(os.environ)
        ports = [free_port(), free_port()]
        processes = [_serve_api_process(port, env) for port in ports]
        try:
            urls = [f"http://127.0.0.1:{port}" for port in ports]
            for url, process in zip(urls, processes, strict=True):
                _wait_until_up(url, process)
            with client_from(urls[0], "127.0.0.18") as first, client_from(urls[1], "127.0.0.18") as second:
                answers = [
                    (which, client.post("/api/v1/auth/login", json={"email": f"r{n}@example.org", "password": "x"}))
                    for n in range(10)
                    for which, client in (("first", first), ("second", second))
                ]
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)
    statuses = Counter(r.status_code for _, r in answers)
    # Ten attempts in all were allowed, not ten per process.
    assert statuses == {401: 10, 429: 10}, statuses
    assert {which for which, r in answers if r.status_code == 401} == {"first", "second"}


def test_without_redis_reachable_the_limits_let_requests_through(live_api):
    # A limit must not take the site down with it: Redis gone means no limit, and a warning.
    with (
        rate_limits_on(REDIS_URL="redis://127.0.0.1:1/0", RATE_LIMIT_LOGIN="2/minute"),
        client_from(live_api, "127.0.0.19") as client,
    ):
        statuses = Counter(
            client.post("/api/v1/auth/login", json={"email": f"q{n}@example.org", "password": "x"}).status_code
            for n in range(5)
        )
    assert statuses == {401: 5}


def test_a_burst_of_wrong_passwords_for_one_account_locks_it_and_breaks_nothing(live_api, pg_session, now):
    # Rate limits off: the account's own lock (LOGIN_MAX_FAILURES in a row) is what is tested. Counted
    # by read-modify-write, simultaneous failures overwrote each other's count (and the first ones
    # collided inserting the counter row: 500s); the count is now one upsert in the database.
    make_user(pg_session, email="ada@example.org", now=now)
    with client_from(live_api, "127.0.0.22") as attacker:
        guesses = at_once(
            [
                lambda n=n: attacker.post("/api/v1/auth/login", json={"email": "ada@example.org", "password": f"g{n}"})
                for n in range(30)
            ]
        )
        right = attacker.post("/api/v1/auth/login", json={"email": "ada@example.org", "password": DEFAULT_PASSWORD})
    codes = Counter(r.json()["error"]["code"] for r in guesses)
    assert set(codes) <= {"invalid_credentials", "too_many_attempts"} and codes["invalid_credentials"] >= 10, codes
    assert right.status_code == 429 and right.json()["error"]["code"] == "too_many_attempts"  # locked


def test_a_signed_in_buyer_is_counted_as_one_account_across_tokens_and_addresses(live_api, pg_session, now):
    make_user(pg_session, email="ada@example.org", now=now)
    body = {"items": [{"ticket_type_id": str(uuid.uuid4()), "quantity": 1}], "email": "any@example.org"}
    with rate_limits_on(RATE_LIMIT_ORDER_ACCOUNT="3/minute"):
        answers = []
        for n in range(5):  # a fresh login (new token) from a fresh address each time
            with client_from(live_api, f"127.0.0.{70 + n}") as http:
                login = {"email": "ada@example.org", "password": DEFAULT_PASSWORD}
                token = http.post("/api/v1/auth/login", json=login).json()["access_token"]
                body["email"] = f"other{n}@example.org"  # nor does changing the email help
                answers.append(http.post("/api/v1/orders", json=body, headers={"Authorization": f"Bearer {token}"}))
    assert [a.status_code for a in answers] == [422, 422, 422, 429, 429]  # (an unknown ticket type: 422)
    assert_rate_limited(answers[-1])
