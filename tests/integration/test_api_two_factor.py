"""Two-factor sign-in over HTTP on PostgreSQL: enrol, then the API login asks for the code."""

from __future__ import annotations

from datetime import timedelta

from bilten.models import Role
from bilten.services import two_factor
from bilten.settings import get_settings
from tests.factories import DEFAULT_PASSWORD, make_user

EMAIL = "ada@example.org"


def login(client, otp: str | None = None, email: str = EMAIL):  # noqa: ANN201
    body = {"email": email, "password": DEFAULT_PASSWORD}
    if otp is not None:
        body["otp"] = otp
    return client.post("/api/v1/auth/login", json=body)


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert not response.json()["error"]["message"].startswith("error.")


def code_at(secret: str, moment) -> str:  # noqa: ANN001
    return two_factor.totp_code(secret, two_factor.time_step(moment))


def test_enrol_then_log_in_with_a_code_once(client, pg_session, clock):
    make_user(pg_session, email=EMAIL, now=clock.now)
    headers = {"Authorization": f"Bearer {login(client).json()['access_token']}"}
    assert_error(client.post("/api/v1/auth/two-factor/setup"), 401, "not_authenticated")

    setup = client.post("/api/v1/auth/two-factor/setup", headers=headers)
    assert setup.status_code == 200
    secret = setup.json()["secret"]
    assert setup.json()["otpauth_uri"].startswith("otpauth://totp/")
    assert_error(
        client.post("/api/v1/auth/two-factor/confirm", json={"code": "000000"}, headers=headers), 401, "invalid_code"
    )
    confirmed = client.post(
        "/api/v1/auth/two-factor/confirm", json={"code": code_at(secret, clock.now)}, headers=headers
    )
    assert confirmed.status_code == 200
    recovery = confirmed.json()["recovery_codes"]
    assert len(recovery) == 10
    assert_error(
        client.post("/api/v1/auth/two-factor/confirm", json={"code": code_at(secret, clock.now)}, headers=headers),
        409,
        "two_factor_already_on",
    )

    assert_error(login(client), 401, "two_factor_required")
    assert_error(login(client, "123456"), 401, "invalid_code")
    assert_error(login(client, code_at(secret, clock.now)), 401, "invalid_code")  # used to confirm: a replay
    clock.now += timedelta(seconds=30)
    fresh = code_at(secret, clock.now)
    assert login(client, fresh).status_code == 200
    assert_error(login(client, fresh), 401, "invalid_code")
    assert login(client, recovery[0]).status_code == 200
    assert_error(login(client, recovery[0]), 401, "invalid_code")

    # A scanning device signs in with the same rules: no code, no device.
    device = client.post("/api/v1/devices", json={"email": EMAIL, "password": DEFAULT_PASSWORD, "name": "Door"})
    assert_error(device, 401, "two_factor_required")

    sign_ins = client.get(
        "/api/v1/auth/sign-ins",
        headers={"Authorization": f"Bearer {login(client, recovery[1]).json()['access_token']}"},
    )
    assert [s["method"] for s in sign_ins.json()][:3] == ["api", "api", "api"]


def test_a_user_without_two_factor_logs_in_with_the_password_only(client, pg_session, clock):
    make_user(pg_session, email=EMAIL, now=clock.now)
    assert login(client).status_code == 200
    assert login(client, "123456").status_code == 200  # a stray code changes nothing


def test_an_admin_who_must_use_two_factor_gets_no_api_tokens_before_setting_it_up(
    client, pg_session, clock, monkeypatch
):
    monkeypatch.setattr(get_settings(), "require_2fa", frozenset({"admins"}))
    admin = make_user(pg_session, email="root@example.org", role=Role.ADMIN, now=clock.now)
    make_user(pg_session, email=EMAIL, now=clock.now)
    assert_error(login(client, email=admin.email), 403, "two_factor_setup_required")
    assert login(client).status_code == 200  # an attendee is not concerned

    secret = two_factor.begin_enrolment(pg_session, user=admin, now=clock.now).secret
    two_factor.confirm_enrolment(pg_session, user=admin, code=code_at(secret, clock.now), now=clock.now)
    assert_error(login(client, email=admin.email), 401, "two_factor_required")
    clock.now += timedelta(seconds=30)
    tokens = login(client, code_at(secret, clock.now), email=admin.email)
    assert tokens.status_code == 200
    assert (
        client.get(
            "/api/v1/admin/users", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
        ).status_code
        == 200
    )


def test_a_requirement_added_later_stops_token_refresh_until_set_up(client, pg_session, clock, monkeypatch):
    admin = make_user(pg_session, email="root@example.org", role=Role.ADMIN, now=clock.now)
    refresh = login(client, email=admin.email).json()["refresh_token"]
    monkeypatch.setattr(get_settings(), "require_2fa", frozenset({"admins"}))
    assert_error(client.post("/api/v1/auth/refresh", json={"refresh_token": refresh}), 403, "two_factor_setup_required")
