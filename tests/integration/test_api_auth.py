"""`/api/v1/auth/*` over HTTP on PostgreSQL: the happy paths and every refusal."""

from datetime import timedelta

import pytest
from sqlmodel import select

from bilten.models import User

PASSWORD = "Sunny-river-77"


def register(client, email="lina@example.org", password=PASSWORD, **extra):
    return client.post("/api/v1/auth/register", json={"email": email, "password": password, **extra})


def login(client, email="lina@example.org", password=PASSWORD):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert body["error"]["message"] and not body["error"]["message"].startswith("error.")
    return body["error"]["message"]


def test_register_login_me_refresh_logout(client):
    created = register(client, full_name="Lina Haddad")
    assert created.status_code == 201
    assert created.json()["email"] == "lina@example.org" and "password_hash" not in created.json()
    tokens = login(client).json()
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200 and me.json()["full_name"] == "Lina Haddad" and me.json()["role"] == "attendee"

    rotated = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200 and rotated.json()["refresh_token"] != tokens["refresh_token"]

    assert (
        client.post("/api/v1/auth/logout", json={"refresh_token": rotated.json()["refresh_token"]}).status_code == 204
    )
    assert_error(
        client.post("/api/v1/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]}),
        401,
        "token_reused",
    )


def test_reused_refresh_token_revokes_the_whole_family(client):
    register(client)
    first = login(client).json()["refresh_token"]
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first}).json()["refresh_token"]
    assert_error(client.post("/api/v1/auth/refresh", json={"refresh_token": first}), 401, "token_reused")
    assert_error(client.post("/api/v1/auth/refresh", json={"refresh_token": second}), 401, "token_reused")


def test_registration_refusals_change_nothing(client, pg_session):
    register(client)
    assert register(client, email="LINA@example.org").status_code == 201  # reveals nothing, creates nothing
    assert_error(register(client, email="x@example.org", password="weak"), 422, "validation_error")
    assert_error(register(client, email="x@example.org", password="Ab1-" * 50), 422, "validation_error")
    assert_error(register(client, email="not-an-email"), 422, "validation_error")
    assert_error(client.post("/api/v1/auth/register", json={"email": "x@example.org"}), 422, "validation_error")
    assert_error(
        client.post("/api/v1/auth/register", content=b"{not json", headers={"content-type": "application/json"}),
        422,
        "validation_error",
    )
    assert [u.email for u in pg_session.exec(select(User)).all()] == ["lina@example.org"]


def test_wrong_password_and_unknown_email_answer_alike(client):
    register(client)
    wrong = login(client, password="Wrong-guess-123")
    unknown = login(client, email="nobody@example.org", password="Wrong-guess-123")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_ten_wrong_passwords_lock_the_account_for_a_while(client, clock):
    register(client)
    for _ in range(10):
        assert_error(login(client, password="Wrong-guess-123"), 401, "invalid_credentials")
    assert_error(login(client), 429, "too_many_attempts")
    clock.now += timedelta(minutes=16)
    assert login(client).status_code == 200


@pytest.mark.parametrize("header", ["Bearer not-a-jwt", "Bearer ", "Basic abc", ""])
def test_me_refuses_missing_or_forged_tokens(client, header):
    response = client.get("/api/v1/auth/me", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"not_authenticated", "invalid_token"}


def test_expired_access_token_is_refused(client, clock):
    register(client)
    access = login(client).json()["access_token"]
    clock.now += timedelta(minutes=15, seconds=1)
    assert_error(client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {access}"}), 401, "invalid_token")


def test_errors_speak_the_callers_language(client):
    english = assert_error(login(client, email="nobody@example.org"), 401, "invalid_credentials")
    arabic = client.post(
        "/api/v1/auth/login",
        json={"email": "nobody@example.org", "password": "x" * 12},
        headers={"Accept-Language": "ar-EG,ar;q=0.9"},
    ).json()["error"]["message"]
    assert arabic != english and any("\u0600" <= ch <= "\u06ff" for ch in arabic)


def test_openapi_document_is_served(client):
    spec = client.get("/api/openapi.json").json()
    assert "/api/v1/auth/login" in spec["paths"] and "/api/health" in spec["paths"]
