from datetime import timedelta

import pytest
from sqlmodel import select

from bilten.models import AuditEntry, LoginThrottle, OutboxEvent, RefreshToken, Role, User, WebSession
from bilten.services import accounts
from bilten.services.errors import (
    InvalidCredentials,
    InvalidToken,
    TokenReused,
    TooManyAttempts,
    ValidationFailed,
)
from bilten.services.security import verify_password
from tests.factories import DEFAULT_PASSWORD, make_user


def test_register_stores_argon2id_hash_audit_and_outbox(session, now):
    user = accounts.register_user(
        session, email="  Lina@Example.ORG ", password="Sunny-river-77", now=now, full_name="Lina  Haddad", locale="ar"
    ).user
    assert user.email == "lina@example.org"
    assert user.full_name == "Lina Haddad"
    assert user.role == Role.ATTENDEE and user.locale == "ar"
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password("Sunny-river-77", user.password_hash)
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "user.registered")).one()
    payload = session.exec(select(OutboxEvent).where(OutboxEvent.topic == "user.registered")).one().payload
    assert payload["user_id"] == str(user.id)
    assert payload["verify_url"].startswith("http") and "/verify-email?token=" in payload["verify_url"]
    assert user.email_verified_at is None  # confirmed by following that link


@pytest.mark.parametrize(
    ("email", "password", "key"),
    [
        ("not-an-email", "Sunny-river-77", "error.email_invalid"),
        ("a@b", "Sunny-river-77", "error.email_invalid"),
        ("x@example.org", "short1", "error.password_too_short"),
        ("x@example.org", "A" * 200, "error.password_too_long"),
        ("x@example.org", "password123", "error.password_too_common"),
        ("x@example.org", "aaaaaaaaaaaa", "error.password_too_common"),
        ("marianne@example.org", "Marianne-2026!", "error.password_contains_email"),
    ],
)
def test_register_rejects_bad_input_and_creates_nothing(session, now, email, password, key):
    with pytest.raises(ValidationFailed) as caught:
        accounts.register_user(session, email=email, password=password, now=now)
    assert caught.value.key == key
    assert session.exec(select(User)).all() == []
    assert session.exec(select(OutboxEvent)).all() == []


def test_web_login_creates_session_and_resolves_user(session, now):
    user = make_user(session, email="a@example.org", now=now)
    logged_in, token = accounts.log_in_web(session, email="A@example.org", password=DEFAULT_PASSWORD, now=now)
    assert logged_in.id == user.id
    stored = session.exec(select(WebSession)).one()
    assert stored.token_hash != token  # only the hash is kept
    assert accounts.user_for_web_session(session, token=token, now=now + timedelta(minutes=5)).id == user.id
    assert accounts.user_for_web_session(session, token="forged", now=now) is None


def test_web_session_idle_and_absolute_expiry(session, now):
    make_user(session, email="a@example.org", now=now)
    _, token = accounts.log_in_web(session, email="a@example.org", password=DEFAULT_PASSWORD, now=now)
    # Idle for more than a day (SESSION_IDLE_MINUTES default 1440): gone.
    assert accounts.user_for_web_session(session, token=token, now=now + timedelta(days=1, minutes=1)) is None
    _, token = accounts.log_in_web(session, email="a@example.org", password=DEFAULT_PASSWORD, now=now)
    moment = now
    for _ in range(14):  # active every day, yet the absolute limit (14 days) ends it
        moment += timedelta(hours=23)
        assert accounts.user_for_web_session(session, token=token, now=moment) is not None
    assert accounts.user_for_web_session(session, token=token, now=now + timedelta(days=14)) is None


def test_web_logout_revokes_session(session, now):
    make_user(session, email="a@example.org", now=now)
    _, token = accounts.log_in_web(session, email="a@example.org", password=DEFAULT_PASSWORD, now=now)
    accounts.log_out_web(session, token=token, now=now)
    assert accounts.user_for_web_session(session, token=token, now=now) is None


def test_wrong_password_and_unknown_email_get_the_same_error(session, now):
    make_user(session, email="a@example.org", now=now)
    with pytest.raises(InvalidCredentials) as wrong:
        accounts.log_in_api(session, email="a@example.org", password="Nope-nope-123", now=now)
    with pytest.raises(InvalidCredentials) as unknown:
        accounts.log_in_api(session, email="nobody@example.org", password="Nope-nope-123", now=now)
    assert wrong.value.code == unknown.value.code and wrong.value.key == unknown.value.key


def test_ten_failures_lock_the_address_for_a_while_even_with_the_right_password(session, now):
    make_user(session, email="a@example.org", now=now)
    for _ in range(10):
        with pytest.raises(InvalidCredentials):
            accounts.log_in_api(session, email="a@example.org", password="Wrong-guess-123", now=now)
    with pytest.raises(TooManyAttempts):
        accounts.log_in_api(session, email="a@example.org", password=DEFAULT_PASSWORD, now=now + timedelta(minutes=1))
    assert session.exec(select(RefreshToken)).all() == []
    pair = accounts.log_in_api(
        session, email="a@example.org", password=DEFAULT_PASSWORD, now=now + timedelta(minutes=16)
    )
    assert pair.access_token
    assert session.get(LoginThrottle, "a@example.org") is None  # success clears the count


def test_unknown_addresses_lock_too_so_locking_reveals_nothing(session, now):
    for _ in range(10):
        with pytest.raises(InvalidCredentials):
            accounts.log_in_api(session, email="ghost@example.org", password="Wrong-guess-123", now=now)
    with pytest.raises(TooManyAttempts):
        accounts.log_in_api(session, email="ghost@example.org", password="Wrong-guess-123", now=now)


def test_refresh_rotation_and_reuse_revokes_the_family(session, now):
    make_user(session, email="a@example.org", now=now)
    first = accounts.log_in_api(session, email="a@example.org", password=DEFAULT_PASSWORD, now=now)
    second = accounts.refresh_api_tokens(session, refresh_token=first.refresh_token, now=now + timedelta(minutes=1))
    assert second.refresh_token != first.refresh_token
    # The old token is presented again: someone copied it. The family dies, including `second`.
    with pytest.raises(TokenReused):
        accounts.refresh_api_tokens(session, refresh_token=first.refresh_token, now=now + timedelta(minutes=2))
    with pytest.raises(TokenReused):
        accounts.refresh_api_tokens(session, refresh_token=second.refresh_token, now=now + timedelta(minutes=3))
    # Another login (another family) is untouched.
    other = accounts.log_in_api(session, email="a@example.org", password=DEFAULT_PASSWORD, now=now)
    assert accounts.refresh_api_tokens(session, refresh_token=other.refresh_token, now=now).access_token


def test_refresh_rejects_unknown_and_expired_tokens(session, now):
    make_user(session, email="a@example.org", now=now)
    pair = accounts.log_in_api(session, email="a@example.org", password=DEFAULT_PASSWORD, now=now)
    with pytest.raises(InvalidToken):
        accounts.refresh_api_tokens(session, refresh_token="made-up", now=now)
    with pytest.raises(InvalidToken):
        accounts.refresh_api_tokens(session, refresh_token=pair.refresh_token, now=now + timedelta(days=31))


def test_access_token_lifetime_is_fifteen_minutes(session, now):
    user = make_user(session, email="a@example.org", now=now)
    pair = accounts.log_in_api(session, email="a@example.org", password=DEFAULT_PASSWORD, now=now)
    assert pair.expires_in == 900
    assert (
        accounts.user_for_access_token(session, token=pair.access_token, now=now + timedelta(minutes=14)).id == user.id
    )
    with pytest.raises(InvalidToken):
        accounts.user_for_access_token(session, token=pair.access_token, now=now + timedelta(minutes=15))


def test_change_password_signs_out_everywhere_else(session, now):
    user = make_user(session, email="a@example.org", now=now)
    _, kept = accounts.log_in_web(session, email="a@example.org", password=DEFAULT_PASSWORD, now=now)
    _, other_browser = accounts.log_in_web(session, email="a@example.org", password=DEFAULT_PASSWORD, now=now)
    pair = accounts.log_in_api(session, email="a@example.org", password=DEFAULT_PASSWORD, now=now)
    later = now + timedelta(minutes=2)
    with pytest.raises(InvalidCredentials):
        accounts.change_password(
            session, user_id=user.id, current_password="Wrong-guess-1", new_password="New-secret-987", now=later
        )
    accounts.change_password(
        session,
        user_id=user.id,
        current_password=DEFAULT_PASSWORD,
        new_password="New-secret-987",
        now=later,
        keep_web_session_token=kept,
    )
    assert accounts.user_for_web_session(session, token=kept, now=later) is not None
    assert accounts.user_for_web_session(session, token=other_browser, now=later) is None
    with pytest.raises(InvalidToken):
        accounts.user_for_access_token(session, token=pair.access_token, now=later)
    with pytest.raises(TokenReused):
        accounts.refresh_api_tokens(session, refresh_token=pair.refresh_token, now=later)
    assert accounts.log_in_api(session, email="a@example.org", password="New-secret-987", now=later)


def test_create_admin_creates_or_promotes(session, now):
    user = make_user(session, email="boss@example.org", now=now)
    admin = accounts.create_admin(session, email="boss@example.org", password="Admin-pass-2026", now=now)
    assert admin.id == user.id and admin.role == Role.ADMIN
    fresh = accounts.create_admin(session, email="root@example.org", password="Admin-pass-2026", now=now)
    assert fresh.role == Role.ADMIN and verify_password("Admin-pass-2026", fresh.password_hash)


def _reset_token(session):
    event = session.exec(select(OutboxEvent).where(OutboxEvent.topic == "password.reset_requested")).all()[-1]
    return event.payload["reset_url"].split("token=")[1]


def test_password_reset_link_works_once_and_ends_every_session(session, now):
    user = make_user(session, email="a@example.org", now=now)
    _, web_token = accounts.log_in_web(session, email="a@example.org", password=DEFAULT_PASSWORD, now=now)
    accounts.request_password_reset(session, email="A@example.org", now=now)
    token = _reset_token(session)
    with pytest.raises(ValidationFailed):
        accounts.reset_password(session, token=token, new_password="short", now=now)
    accounts.reset_password(session, token=token, new_password="Fresh-start-2026", now=now + timedelta(minutes=5))
    assert verify_password("Fresh-start-2026", session.get(User, user.id).password_hash)
    assert accounts.user_for_web_session(session, token=web_token, now=now + timedelta(minutes=6)) is None
    with pytest.raises(InvalidToken):
        accounts.reset_password(session, token=token, new_password="Another-one-2026", now=now + timedelta(minutes=7))


def test_password_reset_link_expires_after_an_hour(session, now):
    make_user(session, email="a@example.org", now=now)
    accounts.request_password_reset(session, email="a@example.org", now=now)
    with pytest.raises(InvalidToken):
        accounts.reset_password(
            session, token=_reset_token(session), new_password="Fresh-start-2026", now=now + timedelta(hours=1)
        )


def test_password_reset_request_reveals_nothing_and_is_rate_limited(session, now):
    make_user(session, email="a@example.org", now=now)
    accounts.request_password_reset(session, email="nobody@example.org", now=now)
    accounts.request_password_reset(session, email="not an email", now=now)
    accounts.request_password_reset(session, email="a@example.org", now=now)
    accounts.request_password_reset(session, email="a@example.org", now=now + timedelta(seconds=30))
    assert len(session.exec(select(OutboxEvent).where(OutboxEvent.topic == "password.reset_requested")).all()) == 1
    accounts.request_password_reset(session, email="a@example.org", now=now + timedelta(minutes=2))
    assert len(session.exec(select(OutboxEvent).where(OutboxEvent.topic == "password.reset_requested")).all()) == 2


def test_password_reset_unlocks_a_locked_address(session, now):
    make_user(session, email="a@example.org", now=now)
    for _ in range(10):
        with pytest.raises(InvalidCredentials):
            accounts.log_in_api(session, email="a@example.org", password="Wrong-guess-123", now=now)
    accounts.request_password_reset(session, email="a@example.org", now=now)
    accounts.reset_password(session, token=_reset_token(session), new_password="Fresh-start-2026", now=now)
    assert accounts.log_in_api(session, email="a@example.org", password="Fresh-start-2026", now=now)
