"""Managing two-factor sign-in over HTTP on PostgreSQL: new recovery codes, turning it off, an
admin's reset for a lost phone, and the answers to those who may not."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bilten.models import Role
from bilten.services import two_factor
from bilten.settings import get_settings
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.ratelimit_support import rate_limits_on

EMAIL = "ada@example.org"
STEP = timedelta(seconds=two_factor.STEP_SECONDS)


def assert_error(response, status: int, code: str) -> None:  # noqa: ANN001
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert not response.json()["error"]["message"].startswith("error.")


def code_at(secret: str, moment) -> str:  # noqa: ANN001
    return two_factor.totp_code(secret, two_factor.time_step(moment))


def enrol(session, user, now) -> tuple[str, list[str]]:  # noqa: ANN001
    secret = two_factor.begin_enrolment(session, user=user, now=now).secret
    return secret, two_factor.confirm_enrolment(session, user=user, code=code_at(secret, now), now=now)


def login(client, email: str = EMAIL, otp: str = ""):  # noqa: ANN001, ANN201
    return client.post("/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD, "otp": otp})


def bearer(response) -> dict[str, str]:  # noqa: ANN001
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_new_recovery_codes_over_the_api(client, pg_session, clock):
    user = make_user(pg_session, email=EMAIL, now=clock.now)
    secret, old = enrol(pg_session, user, clock.now)
    headers = bearer(login(client, otp=old[0]))
    url = "/api/v1/auth/two-factor/recovery-codes"

    assert_error(client.post(url, json={"code": "123456"}), 401, "not_authenticated")
    assert_error(client.post(url, json={"code": "000000"}, headers=headers), 401, "invalid_code")
    assert_error(client.post(url, json={"code": old[1]}, headers=headers), 401, "invalid_code")
    clock.now += STEP
    answer = client.post(url, json={"code": code_at(secret, clock.now)}, headers=headers)
    assert answer.status_code == 200, answer.text
    new = answer.json()["recovery_codes"]
    assert len(new) == 10 and not set(new) & set(old)
    assert_error(client.post(url, json={"code": code_at(secret, clock.now)}, headers=headers), 401, "invalid_code")

    assert_error(login(client, otp=old[2]), 401, "invalid_code")  # the old codes stopped working
    assert login(client, otp=new[2]).status_code == 200


def test_turning_it_off_over_the_api(client, pg_session, clock):
    user = make_user(pg_session, email=EMAIL, now=clock.now)
    secret, codes = enrol(pg_session, user, clock.now)
    headers = bearer(login(client, otp=codes[0]))
    url = "/api/v1/auth/two-factor/disable"
    clock.now += STEP
    code = code_at(secret, clock.now)

    assert_error(client.post(url, json={"password": DEFAULT_PASSWORD, "code": code}), 401, "not_authenticated")
    assert_error(
        client.post(url, json={"password": "Wrong-password-1", "code": code}, headers=headers),
        401,
        "invalid_credentials",
    )
    assert_error(
        client.post(url, json={"password": DEFAULT_PASSWORD, "code": "000000"}, headers=headers), 401, "invalid_code"
    )
    assert client.post(url, json={"password": DEFAULT_PASSWORD, "code": code}, headers=headers).status_code == 204
    assert_error(
        client.post(url, json={"password": DEFAULT_PASSWORD, "code": codes[1]}, headers=headers),
        409,
        "two_factor_not_on",
    )
    assert_error(
        client.post("/api/v1/auth/two-factor/recovery-codes", json={"code": code}, headers=headers),
        409,
        "two_factor_not_on",
    )
    assert login(client).status_code == 200  # the password alone


def test_an_admin_whom_the_platform_requires_cannot_turn_it_off(client, pg_session, clock, monkeypatch):
    monkeypatch.setattr(get_settings(), "require_2fa", frozenset({"admins"}))
    admin = make_user(pg_session, email="root@example.org", role=Role.ADMIN, now=clock.now)
    secret, codes = enrol(pg_session, admin, clock.now)
    headers = bearer(login(client, email=admin.email, otp=codes[0]))
    clock.now += STEP
    refused = client.post(
        "/api/v1/auth/two-factor/disable",
        json={"password": DEFAULT_PASSWORD, "code": code_at(secret, clock.now)},
        headers=headers,
    )
    assert_error(refused, 403, "two_factor_mandatory")
    assert two_factor.is_enrolled(pg_session, admin)


def test_guessing_codes_runs_into_the_login_limit(client, pg_session, clock):
    user = make_user(pg_session, email=EMAIL, now=clock.now)
    _, codes = enrol(pg_session, user, clock.now)
    headers = bearer(login(client, otp=codes[0]))
    with rate_limits_on(RATE_LIMIT_LOGIN="3/minute"):
        for guess in ("000001", "000002", "000003"):
            answer = client.post("/api/v1/auth/two-factor/recovery-codes", json={"code": guess}, headers=headers)
            assert_error(answer, 401, "invalid_code")
        limited = client.post(
            "/api/v1/auth/two-factor/disable", json={"password": DEFAULT_PASSWORD, "code": "000004"}, headers=headers
        )
        assert_error(limited, 429, "rate_limited")
        assert limited.headers["Retry-After"]


def test_an_admin_resets_a_lost_phone_over_the_api(client, pg_session, clock):
    admin = make_user(pg_session, email="root@example.org", role=Role.ADMIN, now=clock.now)
    user = make_user(pg_session, email=EMAIL, now=clock.now)
    secret, codes = enrol(pg_session, user, clock.now)
    users_tokens = login(client, otp=codes[0])
    user_headers = bearer(users_tokens)
    admin_headers = bearer(login(client, email=admin.email))
    url = f"/api/v1/admin/users/{user.id}/two-factor/reset"

    assert_error(client.post(url), 401, "not_authenticated")
    assert_error(client.post(url, headers=user_headers), 403, "forbidden")  # a user cannot reset their own
    assert_error(
        client.post(f"/api/v1/admin/users/{admin.id}/two-factor/reset", headers=user_headers), 403, "forbidden"
    )
    assert_error(
        client.post(f"/api/v1/admin/users/{admin.id}/two-factor/reset", headers=admin_headers), 422, "validation_error"
    )
    assert_error(
        client.post("/api/v1/admin/users/00000000-0000-4000-8000-000000000000/two-factor/reset", headers=admin_headers),
        404,
        "not_found",
    )
    assert two_factor.is_enrolled(pg_session, user)

    answer = client.post(url, headers=admin_headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["email"] == EMAIL and "password_hash" not in answer.json()
    # Signed out everywhere: the access token and the refresh token stop working at once.
    assert_error(client.get("/api/v1/auth/me", headers=user_headers), 401, "invalid_token")
    refresh = client.post("/api/v1/auth/refresh", json={"refresh_token": users_tokens.json()["refresh_token"]})
    assert refresh.status_code == 401
    pg_session.expire_all()
    assert not two_factor.is_enrolled(pg_session, user)
    clock.now += STEP
    # The password alone until they enrol again; the old app's code is no longer asked for.
    assert login(client, otp=code_at(secret, clock.now)).status_code == 200
    assert login(client).status_code == 200


@pytest.mark.parametrize("role", [Role.ORGANIZER, Role.STAFF])
def test_staff_and_organizers_cannot_reset_two_factor(client, pg_session, clock, role):
    actor = make_user(pg_session, email="eve@example.org", role=role, now=clock.now)
    user = make_user(pg_session, email=EMAIL, now=clock.now)
    enrol(pg_session, user, clock.now)
    answer = client.post(f"/api/v1/admin/users/{user.id}/two-factor/reset", headers=bearer(login(client, actor.email)))
    assert_error(answer, 403, "forbidden")
    pg_session.expire_all()
    assert two_factor.is_enrolled(pg_session, user)
