"""Two-factor sign-in on SQLite with a frozen clock: RFC 6238 codes, enrolment, replay, recovery
codes, the login lock, who must enrol, and the page guard sending them to enrol."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from reflex.istate.data import RouterData
from reflex.state import State
from sqlmodel import select

from bilten.models import LoginThrottle, Membership, RecoveryCode, Role, SignInMethod, SignInRecord, TeamRole, TwoFactor
from bilten.services import accounts, two_factor
from bilten.services.errors import (
    InvalidCredentials,
    InvalidOneTimeCode,
    TooManyAttempts,
    TwoFactorAlreadyOn,
    TwoFactorRequired,
)
from bilten.settings import Settings, get_settings
from bilten.state.admin import AdminState
from bilten.state.auth import SESSION_COOKIE
from tests.factories import DEFAULT_PASSWORD, make_organization, make_user

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("unix_time", "code"),
    [(59, "287082"), (1111111109, "081804"), (1111111111, "050471"), (1234567890, "005924"), (2000000000, "279037")],
)
def test_codes_match_rfc_6238_test_vectors(unix_time, code):
    """RFC 6238 appendix B (SHA-1), last six digits of its eight."""
    step = two_factor.time_step(datetime.fromtimestamp(unix_time, UTC))
    assert two_factor.totp_code(RFC_SECRET, step) == code


def test_a_code_is_accepted_one_step_either_side_and_no_further(now):
    step = two_factor.time_step(now)
    for offset in (-1, 0, 1):
        code = two_factor.totp_code(RFC_SECRET, step + offset)
        assert two_factor.matching_step(RFC_SECRET, code, now) == step + offset
    for offset in (-2, 2):
        assert two_factor.matching_step(RFC_SECRET, two_factor.totp_code(RFC_SECRET, step + offset), now) is None
    assert two_factor.matching_step(RFC_SECRET, "12345", now) is None
    assert two_factor.matching_step(RFC_SECRET, "abcdef", now) is None


def enrol(session, user, now) -> tuple[str, list[str]]:
    secret = two_factor.begin_enrolment(session, user=user, now=now).secret
    codes = two_factor.confirm_enrolment(
        session, user=user, code=two_factor.totp_code(secret, two_factor.time_step(now)), now=now
    )
    return secret, codes


def test_enrolment_seals_the_secret_and_hashes_ten_recovery_codes(session, now):
    user = make_user(session, email="ada@example.org", now=now)
    enrolment = two_factor.begin_enrolment(session, user=user, now=now)
    assert enrolment.otpauth_uri.startswith("otpauth://totp/Bilten:ada%40example.org?secret=" + enrolment.secret)
    assert enrolment.qr_svg_data_uri.startswith("data:image/svg+xml;base64,")
    assert not two_factor.is_enrolled(session, user)  # not before a code confirms it
    with pytest.raises(InvalidOneTimeCode):
        two_factor.confirm_enrolment(session, user=user, code="000000", now=now)

    codes = two_factor.confirm_enrolment(
        session, user=user, code=two_factor.totp_code(enrolment.secret, two_factor.time_step(now)), now=now
    )
    assert two_factor.is_enrolled(session, user)
    assert len(codes) == 10 and len(set(codes)) == 10 and all(len(c) == 19 for c in codes)
    row = session.get(TwoFactor, user.id)
    assert enrolment.secret not in row.secret_sealed
    stored = {r.code_hash for r in session.exec(select(RecoveryCode)).all()}
    assert len(stored) == 10 and not stored & set(codes)
    with pytest.raises(TwoFactorAlreadyOn):
        two_factor.begin_enrolment(session, user=user, now=now)


def test_login_asks_for_the_code_and_refuses_a_replayed_one(session, now, app_clock):
    user = make_user(session, email="ada@example.org", now=now)
    secret, _ = enrol(session, user, now)

    with pytest.raises(TwoFactorRequired):
        accounts.log_in_web(session, email=user.email, password=DEFAULT_PASSWORD, now=now)
    with pytest.raises(InvalidCredentials):  # a wrong password never reaches the code question
        accounts.log_in_web(session, email=user.email, password="Wrong-password-1", now=now, otp="123456")
    # The code that confirmed the enrolment was used: the same step is refused.
    used = two_factor.totp_code(secret, two_factor.time_step(now))
    with pytest.raises(InvalidOneTimeCode):
        accounts.log_in_web(session, email=user.email, password=DEFAULT_PASSWORD, now=now, otp=used)

    later = now + timedelta(seconds=30)
    fresh = two_factor.totp_code(secret, two_factor.time_step(later))
    accounts.log_in_web(session, email=user.email, password=DEFAULT_PASSWORD, now=later, otp=fresh)
    with pytest.raises(InvalidOneTimeCode):  # once only, even within its window
        accounts.log_in_api(session, email=user.email, password=DEFAULT_PASSWORD, now=later, otp=fresh)
    methods = [r.method for r in session.exec(select(SignInRecord).order_by(SignInRecord.at)).all()]
    assert methods == [SignInMethod.TWO_FACTOR]


def test_a_recovery_code_works_once(session, now):
    user = make_user(session, email="ada@example.org", now=now)
    _, codes = enrol(session, user, now)
    accounts.log_in_web(session, email=user.email, password=DEFAULT_PASSWORD, now=now, otp=codes[3].upper())
    with pytest.raises(InvalidOneTimeCode):
        accounts.log_in_web(session, email=user.email, password=DEFAULT_PASSWORD, now=now, otp=codes[3])
    assert two_factor.recovery_codes_left(session, user=user) == 9
    other = make_user(session, email="bob@example.org", now=now)
    enrol(session, other, now)
    with pytest.raises(InvalidOneTimeCode):  # someone else's recovery code is no use
        accounts.log_in_web(session, email=other.email, password=DEFAULT_PASSWORD, now=now, otp=codes[4])


def test_wrong_codes_count_toward_the_login_lock(session, now):
    user = make_user(session, email="ada@example.org", now=now)
    secret, _ = enrol(session, user, now)
    for _ in range(get_settings().login_max_failures):
        with pytest.raises(InvalidOneTimeCode):
            accounts.log_in_web(session, email=user.email, password=DEFAULT_PASSWORD, now=now, otp="000000")
    assert session.get(LoginThrottle, user.email).locked_until > now
    later = now + timedelta(seconds=30)
    with pytest.raises(TooManyAttempts):  # even the right code waits out the lock
        accounts.log_in_web(
            session,
            email=user.email,
            password=DEFAULT_PASSWORD,
            now=later,
            otp=two_factor.totp_code(secret, two_factor.time_step(later)),
        )


def test_who_must_enrol(session, now, monkeypatch):
    admin = make_user(session, email="root@example.org", role=Role.ADMIN, now=now)
    owner = make_user(session, email="owner@example.org", role=Role.ORGANIZER, now=now)
    manager = make_user(session, email="manager@example.org", role=Role.ORGANIZER, now=now)
    attendee = make_user(session, email="ann@example.org", now=now)
    org = make_organization(session, members=(owner, manager), now=now)
    membership = session.exec(select(Membership).where(Membership.user_id == manager.id)).one()
    membership.team_role = TeamRole.MANAGER
    session.add(membership)
    session.commit()
    assert org.id

    settings = get_settings()
    monkeypatch.setattr(settings, "require_2fa", None)
    monkeypatch.setattr(settings, "demo", False)
    assert [two_factor.must_enrol(session, u) for u in (admin, owner, manager, attendee)] == [True, True, False, False]
    monkeypatch.setattr(settings, "demo", True)  # demo mode: nobody is forced unless REQUIRE_2FA says so
    assert not any(two_factor.must_enrol(session, u) for u in (admin, owner))
    monkeypatch.setattr(settings, "require_2fa", frozenset({"admins"}))
    assert [two_factor.must_enrol(session, u) for u in (admin, owner)] == [True, False]
    enrol(session, admin, now)
    assert not two_factor.must_enrol(session, admin)


def test_require_2fa_setting_is_parsed_and_checked(monkeypatch):
    monkeypatch.setenv("REQUIRE_2FA", "Owners, admins")
    assert Settings().two_factor_groups == {"owners", "admins"}
    monkeypatch.setenv("REQUIRE_2FA", "none")
    assert Settings().two_factor_groups == frozenset()
    monkeypatch.delenv("REQUIRE_2FA")
    assert Settings(BILTEN_DEMO=False).two_factor_groups == {"admins", "owners"}
    assert Settings(BILTEN_DEMO=True).two_factor_groups == frozenset()
    monkeypatch.setenv("REQUIRE_2FA", "everyone")
    with pytest.raises(Exception, match="REQUIRE_2FA"):
        Settings()


@pytest.mark.anyio
async def test_an_admin_without_two_factor_is_sent_to_enrol_first(session, app_database, now, monkeypatch):
    monkeypatch.setattr(get_settings(), "require_2fa", frozenset({"admins"}))
    admin = make_user(session, email="root@example.org", role=Role.ADMIN, now=now)
    _, token = accounts.log_in_web(session, email=admin.email, password=DEFAULT_PASSWORD, now=now)
    tab = State(_reflex_internal_init=True)
    tab.router = RouterData.from_router_data({"headers": {"cookie": f"{SESSION_COOKIE}={token}"}})
    page = await tab.get_state(AdminState)

    redirect = await type(page).event_handlers["load"].fn(page)
    assert not page.allowed and "/account?two_factor=required" in str(redirect)

    enrol(session, admin, now)
    redirect = await type(page).event_handlers["load"].fn(page)
    assert page.allowed and "two_factor=required" not in str(redirect)
