"""Sessions over HTTP on PostgreSQL: access tokens that die with their session, the sessions list,
"sign out everywhere", and the endpoints that set and clear the web UI's HttpOnly cookie."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from http.cookies import SimpleCookie

import jwt
import pytest
from sqlalchemy import event
from sqlmodel import Session

from bilten import routes
from bilten.models import Role
from bilten.services import accounts
from bilten.services import users as user_admin
from bilten.settings import get_secret_key, get_settings
from tests.factories import DEFAULT_PASSWORD, make_user

LINA = "lina@example.org"
OMAR = "omar@example.org"


@pytest.fixture
def users(pg_session, clock):
    return {email: make_user(pg_session, email=email, now=clock.now) for email in (LINA, OMAR)}


def api_login(client, email: str, *, user_agent: str = "pytest-client/1.0") -> dict:
    response = client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": DEFAULT_PASSWORD},
        headers={"User-Agent": user_agent},
    )
    assert response.status_code == 200, response.text
    return response.json()


def auth(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def assert_refused(response, status: int = 401, code: str = "invalid_token") -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def fresh_session(pg_session) -> Session:
    return Session(pg_session.get_bind(), expire_on_commit=False)


# -- access tokens stop at once ------------------------------------------------------------------


def test_logging_out_ends_the_access_token_at_once(client, users):
    tokens = api_login(client, LINA)
    assert client.get("/api/v1/auth/me", headers=auth(tokens)).status_code == 200
    assert client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    assert_refused(client.get("/api/v1/auth/me", headers=auth(tokens)))


def test_a_revoked_refresh_family_ends_its_access_tokens(client, users):
    """A stolen refresh token used twice revokes the family: the thief's fresh access token dies too."""
    first = api_login(client, LINA)
    rotated = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}).json()
    assert client.get("/api/v1/auth/me", headers=auth(rotated)).status_code == 200
    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert_refused(replay, code="token_reused")
    assert_refused(client.get("/api/v1/auth/me", headers=auth(rotated)))
    assert_refused(client.get("/api/v1/auth/me", headers=auth(first)))


def test_other_logins_keep_working_when_one_logs_out(client, users):
    phone, laptop = api_login(client, LINA), api_login(client, LINA)
    client.post("/api/v1/auth/logout", json={"refresh_token": phone["refresh_token"]})
    assert_refused(client.get("/api/v1/auth/me", headers=auth(phone)))
    assert client.get("/api/v1/auth/me", headers=auth(laptop)).status_code == 200


def test_disabling_a_user_ends_their_access_tokens(client, users, pg_session, clock):
    admin = make_user(pg_session, email="root@example.org", role=Role.ADMIN, now=clock.now)
    tokens = api_login(client, LINA)
    user_admin.disable_user(pg_session, actor=admin, user_id=users[LINA].id, now=clock.now)
    assert_refused(client.get("/api/v1/auth/me", headers=auth(tokens)))


def test_a_token_without_a_session_claim_is_refused(client, users, clock):
    """Tokens from before sessions were tracked (no `sid`) or naming an unknown session get nothing."""
    claims = {
        "sub": str(users[LINA].id),
        "typ": "access",
        "pwd": int(users[LINA].password_changed_at.timestamp()),
        "iat": int(clock.now.timestamp()),
        "exp": int((clock.now + timedelta(minutes=5)).timestamp()),
    }
    no_sid = jwt.encode(claims, get_secret_key(), algorithm="HS256")
    assert_refused(client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {no_sid}"}))
    unknown_sid = jwt.encode({**claims, "sid": str(uuid.uuid4())}, get_secret_key(), algorithm="HS256")
    assert_refused(client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {unknown_sid}"}))
    # Another user's live session id with my user id: the join refuses it too.
    omar = api_login(client, OMAR)
    omar_sid = jwt.decode(omar["access_token"], options={"verify_signature": False})["sid"]
    borrowed = jwt.encode({**claims, "sid": omar_sid}, get_secret_key(), algorithm="HS256")
    assert_refused(client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {borrowed}"}))


def test_checking_an_access_token_stays_one_query_and_fast(client, users, pg_session, clock):
    """The validate path: the user and its API session in one statement by primary keys."""
    tokens = api_login(client, LINA)
    statements: list[str] = []
    engine = pg_session.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with fresh_session(pg_session) as session:
            accounts.user_for_access_token(session, token=tokens["access_token"], now=clock.now)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(statements) == 1 and "api_session" in statements[0]
    with fresh_session(pg_session) as session:
        started = time.perf_counter()
        for _ in range(200):
            session.expunge_all()
            accounts.user_for_access_token(session, token=tokens["access_token"], now=clock.now)
        per_check_ms = (time.perf_counter() - started) / 200 * 1000
    print(f"user_for_access_token on PostgreSQL: {per_check_ms:.3f} ms per check")
    assert per_check_ms < 20


# -- the sessions list, ending one, ending all ---------------------------------------------------


def test_sessions_list_sign_ins_and_ending_one(client, users, pg_session, clock):
    laptop = api_login(client, LINA, user_agent="Laptop/1")
    phone = api_login(client, LINA, user_agent="Phone/2")
    with fresh_session(pg_session) as session:
        _, web_token = accounts.log_in_web(
            session,
            email=LINA,
            password=DEFAULT_PASSWORD,
            now=clock.now,
            user_agent="Firefox",
            client_address="10.0.0.7",
        )

    listed = client.get("/api/v1/auth/sessions", headers=auth(laptop))
    assert listed.status_code == 200
    rows = listed.json()
    assert sorted(r["kind"] for r in rows) == ["api", "api", "web"]
    assert [r["user_agent"] for r in rows if r["current"]] == ["Laptop/1"]
    web = next(r for r in rows if r["kind"] == "web")
    assert web["client_address"] == "10.0.0.7" and web["user_agent"] == "Firefox"

    sign_ins = client.get("/api/v1/auth/sign-ins", headers=auth(laptop)).json()
    assert sorted(s["method"] for s in sign_ins) == ["api", "api", "password"]
    assert {s["user_agent"] for s in sign_ins} == {"Laptop/1", "Phone/2", "Firefox"}
    assert all(s["client_address"] for s in sign_ins)

    phone_row = next(r for r in rows if r["user_agent"] == "Phone/2")
    assert client.delete(f"/api/v1/auth/sessions/{phone_row['id']}", headers=auth(laptop)).status_code == 204
    assert_refused(client.get("/api/v1/auth/me", headers=auth(phone)))
    assert_refused(
        client.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]}), code="token_reused"
    )
    assert client.delete(f"/api/v1/auth/sessions/{web['id']}", headers=auth(laptop)).status_code == 204
    with fresh_session(pg_session) as session:
        assert accounts.user_for_web_session(session, token=web_token, now=clock.now) is None
    left = client.get("/api/v1/auth/sessions", headers=auth(laptop)).json()
    assert [r["user_agent"] for r in left] == ["Laptop/1"]


def test_one_user_cannot_see_or_end_anothers_sessions(client, users):
    lina, omar = api_login(client, LINA), api_login(client, OMAR)
    lina_rows = client.get("/api/v1/auth/sessions", headers=auth(lina)).json()
    omar_rows = client.get("/api/v1/auth/sessions", headers=auth(omar)).json()
    assert {r["id"] for r in lina_rows}.isdisjoint({r["id"] for r in omar_rows})
    assert len(omar_rows) == 1 and len(client.get("/api/v1/auth/sign-ins", headers=auth(omar)).json()) == 1

    attempt = client.delete(f"/api/v1/auth/sessions/{lina_rows[0]['id']}", headers=auth(omar))
    assert_refused(attempt, 404, "not_found")
    assert client.get("/api/v1/auth/me", headers=auth(lina)).status_code == 200
    assert_refused(client.get("/api/v1/auth/sessions"), 401, "not_authenticated")
    assert_refused(client.post("/api/v1/auth/logout-all"), 401, "not_authenticated")
    assert_refused(client.delete(f"/api/v1/auth/sessions/{lina_rows[0]['id']}"), 401, "not_authenticated")


def test_sign_out_everywhere_ends_every_browser_and_api_login(client, users, pg_session, clock):
    one, two = api_login(client, LINA), api_login(client, LINA)
    omar = api_login(client, OMAR)
    with fresh_session(pg_session) as session:
        _, web_token = accounts.log_in_web(session, email=LINA, password=DEFAULT_PASSWORD, now=clock.now)

    assert client.post("/api/v1/auth/logout-all", headers=auth(one)).status_code == 204

    for tokens in (one, two):
        assert_refused(client.get("/api/v1/auth/me", headers=auth(tokens)))
        assert client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    with fresh_session(pg_session) as session:
        assert accounts.user_for_web_session(session, token=web_token, now=clock.now) is None
    assert client.get("/api/v1/auth/me", headers=auth(omar)).status_code == 200  # someone else: untouched
    assert client.get("/api/v1/auth/me", headers=auth(api_login(client, LINA))).status_code == 200


# -- the web UI's cookie -------------------------------------------------------------------------


def set_cookie_header(response) -> SimpleCookie:
    cookies = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        cookies.load(header)
    return cookies


def start_grant(pg_session, clock, email: str = LINA) -> str:
    with fresh_session(pg_session) as session:
        return accounts.start_web_login(session, email=email, password=DEFAULT_PASSWORD, now=clock.now)[1]


def test_the_grant_sets_an_httponly_samesite_cookie_once(client, users, pg_session, clock):
    grant = start_grant(pg_session, clock)
    url = routes.web_session_start_url(grant, "/my-tickets?tab=past")
    response = client.get(url, follow_redirects=False)

    assert response.status_code == 303 and response.headers["location"] == "/my-tickets?tab=past"
    morsel = set_cookie_header(response)[routes.WEB_SESSION_COOKIE]
    assert morsel["httponly"] is True and morsel["samesite"].lower() == "lax" and morsel["path"] == "/"
    assert not morsel["secure"]  # PUBLIC_URL is http:// in the tests
    assert int(morsel["max-age"]) == get_settings().session_max_days * 24 * 3600
    assert morsel.value != grant
    with fresh_session(pg_session) as session:
        assert accounts.user_for_web_session(session, token=morsel.value, now=clock.now).email == LINA
        # The grant is no session token, not even for a moment.
        assert accounts.user_for_web_session(session, token=grant, now=clock.now) is None

    client.cookies.clear()
    again = client.get(url, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/login")
    assert routes.WEB_SESSION_COOKIE not in set_cookie_header(again)


def test_the_cookie_is_secure_under_an_https_public_url(client, users, pg_session, clock, monkeypatch):
    monkeypatch.setenv("PUBLIC_URL", "https://tickets.example.org")
    get_settings.cache_clear()
    try:
        grant = start_grant(pg_session, clock)
        response = client.get(routes.web_session_start_url(grant, "/account"), follow_redirects=False)
        morsel = set_cookie_header(response)[routes.WEB_SESSION_COOKIE]
        assert morsel["secure"] is True and morsel["httponly"] is True
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


@pytest.mark.parametrize(
    "next_path", ["https://evil.example/phish", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"]
)
def test_the_grant_endpoint_is_no_open_redirect(client, users, pg_session, clock, next_path):
    grant = start_grant(pg_session, clock)
    response = client.get(routes.WEB_SESSION_START, params={"grant": grant, "next": next_path}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == routes.ACCOUNT


def test_another_site_cannot_sign_the_visitor_in_with_its_grant(client, users, pg_session, clock):
    """Login CSRF: a page elsewhere sending the visitor to the endpoint with the attacker's grant."""
    grant = start_grant(pg_session, clock)
    response = client.get(
        routes.web_session_start_url(grant, "/account"),
        headers={"Sec-Fetch-Site": "cross-site"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert not response.headers.get_list("set-cookie")
    same_site = client.get(
        routes.web_session_start_url(grant, "/account"),
        headers={"Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert routes.WEB_SESSION_COOKIE in set_cookie_header(same_site)  # the grant was not spent by the refusal


def test_a_late_or_forged_grant_sets_no_cookie(client, users, pg_session, clock):
    grant = start_grant(pg_session, clock)
    clock.now += timedelta(minutes=2)
    for attempt in (grant, "forged-grant", ""):
        response = client.get(
            routes.WEB_SESSION_START, params={"grant": attempt, "next": "/account"}, follow_redirects=False
        )
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
        assert not response.headers.get_list("set-cookie")


def test_logging_out_revokes_the_session_and_clears_the_cookie(client, users, pg_session, clock):
    grant = start_grant(pg_session, clock)
    token = set_cookie_header(client.get(routes.web_session_start_url(grant, "/"), follow_redirects=False))[
        routes.WEB_SESSION_COOKIE
    ].value

    # Another site linking to the logout endpoint signs nobody out.
    cross = client.get(routes.web_session_end_url(), headers={"Sec-Fetch-Site": "cross-site"}, follow_redirects=False)
    assert cross.status_code == 303 and not cross.headers.get_list("set-cookie")
    with fresh_session(pg_session) as session:
        assert accounts.user_for_web_session(session, token=token, now=clock.now) is not None

    ended = client.get(
        routes.web_session_end_url("https://evil.example"),
        headers={"Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert ended.status_code == 303 and ended.headers["location"] == routes.HOME
    morsel = set_cookie_header(ended)[routes.WEB_SESSION_COOKIE]
    assert morsel.value == "" and int(morsel["max-age"]) == 0 and morsel["httponly"] is True
    with fresh_session(pg_session) as session:
        assert accounts.user_for_web_session(session, token=token, now=clock.now) is None
