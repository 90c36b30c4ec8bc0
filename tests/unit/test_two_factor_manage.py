"""Managing two-factor sign-in on SQLite with a frozen clock: new recovery codes, turning it off
(refused while REQUIRE_2FA covers the user), and an admin's reset for a lost phone; each through
the service and through the account and admin page handlers, with the denials."""

from __future__ import annotations

import inspect
from datetime import timedelta

import pytest
from reflex.istate.data import RouterData
from sqlmodel import select

from bilten.models import AuditEntry, Notification, RecoveryCode, RefreshToken, Role, TwoFactor, WebSession
from bilten.notifications.outbox import dispatch_outbox
from bilten.notifications.rendering import render_notification
from bilten.services import accounts, two_factor, users
from bilten.services.errors import (
    Forbidden,
    InvalidCredentials,
    InvalidOneTimeCode,
    NotAuthenticated,
    NotFound,
    TwoFactorMandatory,
    TwoFactorNotOn,
    TwoFactorRequired,
    ValidationFailed,
)
from bilten.settings import get_settings
from bilten.state.admin import AdminUsersState
from bilten.state.auth import SESSION_COOKIE
from bilten.state.two_factor import TwoFactorState
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.ratelimit_support import rate_limits_on

STEP = timedelta(seconds=two_factor.STEP_SECONDS)


def enrol(session, user, now) -> tuple[str, list[str]]:  # noqa: ANN001
    secret = two_factor.begin_enrolment(session, user=user, now=now).secret
    codes = two_factor.confirm_enrolment(
        session, user=user, code=two_factor.totp_code(secret, two_factor.time_step(now)), now=now
    )
    return secret, codes


def code_at(secret: str, moment) -> str:  # noqa: ANN001
    return two_factor.totp_code(secret, two_factor.time_step(moment))


def actions(session) -> list[str]:  # noqa: ANN001
    return [entry.action for entry in session.exec(select(AuditEntry).order_by(AuditEntry.created_at)).all()]


def log_in(session, user, now, otp: str = ""):  # noqa: ANN001, ANN201
    return accounts.log_in_web(session, email=user.email, password=DEFAULT_PASSWORD, now=now, otp=otp)


# -- new recovery codes ---------------------------------------------------------------------------


def test_new_recovery_codes_replace_the_old_ones_after_a_current_code(session, now):
    user = make_user(session, email="ada@example.org", now=now)
    secret, old_codes = enrol(session, user, now)
    log_in(session, user, now, otp=old_codes[0])  # one used: nine left
    assert two_factor.recovery_codes_left(session, user=user) == 9

    later = now + STEP
    new_codes = two_factor.regenerate_recovery_codes(session, user=user, code=code_at(secret, later), now=later)
    assert len(new_codes) == 10 and len(set(new_codes)) == 10 and not set(new_codes) & set(old_codes)
    assert two_factor.recovery_codes_left(session, user=user) == 10
    stored = {row.code_hash for row in session.exec(select(RecoveryCode)).all()}
    assert len(stored) == 10 and not stored & set(new_codes)  # hashes only, as at enrolment
    assert actions(session)[-1] == "user.recovery_codes_regenerated"

    with pytest.raises(InvalidOneTimeCode):  # an old code no longer signs in
        log_in(session, user, later, otp=old_codes[5])
    log_in(session, user, later, otp=new_codes[5])


def test_new_recovery_codes_are_refused_without_a_fresh_code(session, now):
    user = make_user(session, email="ada@example.org", now=now)
    with pytest.raises(TwoFactorNotOn):
        two_factor.regenerate_recovery_codes(session, user=user, code="123456", now=now)

    secret, codes = enrol(session, user, now)
    before = {row.code_hash for row in session.exec(select(RecoveryCode)).all()}
    later = now + STEP
    refused = [
        "000000",
        codes[0],  # a recovery code is not a code from the app
        code_at(secret, now),  # used to confirm the enrolment: a replay
        code_at(secret, now + 3 * STEP),  # outside the drift window
    ]
    for wrong in refused:
        with pytest.raises(InvalidOneTimeCode):
            two_factor.regenerate_recovery_codes(session, user=user, code=wrong, now=later)
    fresh = code_at(secret, later)
    two_factor.regenerate_recovery_codes(session, user=user, code=fresh, now=later)
    with pytest.raises(InvalidOneTimeCode):  # the code is used up, also for signing in
        two_factor.regenerate_recovery_codes(session, user=user, code=fresh, now=later)
    with pytest.raises(InvalidOneTimeCode):
        log_in(session, user, later, otp=fresh)
    assert not before & {row.code_hash for row in session.exec(select(RecoveryCode)).all()}


# -- turning it off -------------------------------------------------------------------------------


def test_turning_it_off_needs_the_password_and_a_code(session, now):
    user = make_user(session, email="ada@example.org", now=now)
    other = make_user(session, email="bob@example.org", now=now)
    secret, codes = enrol(session, user, now)
    _, other_codes = enrol(session, other, now)
    later = now + STEP

    with pytest.raises(InvalidCredentials):
        two_factor.disable(session, user=user, password="Wrong-password-1", code=code_at(secret, later), now=later)
    with pytest.raises(InvalidOneTimeCode):
        two_factor.disable(session, user=user, password=DEFAULT_PASSWORD, code="000000", now=later)
    with pytest.raises(InvalidOneTimeCode):  # someone else's recovery code
        two_factor.disable(session, user=user, password=DEFAULT_PASSWORD, code=other_codes[0], now=later)
    assert two_factor.is_enrolled(session, user)

    two_factor.disable(session, user=user, password=DEFAULT_PASSWORD, code=code_at(secret, later), now=later)
    assert not two_factor.is_enrolled(session, user)
    assert session.get(TwoFactor, user.id) is None
    assert session.exec(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all() == []
    assert two_factor.is_enrolled(session, other)  # nobody else's
    assert actions(session)[-1] == "user.two_factor_disabled"
    log_in(session, user, later)  # the password alone now
    with pytest.raises(TwoFactorNotOn):
        two_factor.disable(session, user=user, password=DEFAULT_PASSWORD, code=codes[0], now=later)


def test_a_recovery_code_can_turn_it_off(session, now):
    user = make_user(session, email="ada@example.org", now=now)
    _, codes = enrol(session, user, now)
    two_factor.disable(session, user=user, password=DEFAULT_PASSWORD, code=codes[2], now=now)
    assert not two_factor.is_enrolled(session, user)


def test_turning_it_off_is_refused_while_the_platform_requires_it(session, now, monkeypatch):
    admin = make_user(session, email="root@example.org", role=Role.ADMIN, now=now)
    secret, _ = enrol(session, admin, now)
    monkeypatch.setattr(get_settings(), "require_2fa", frozenset({"admins"}))
    later = now + STEP
    with pytest.raises(TwoFactorMandatory):
        two_factor.disable(session, user=admin, password=DEFAULT_PASSWORD, code=code_at(secret, later), now=later)
    assert two_factor.is_enrolled(session, admin)
    assert TwoFactorMandatory.status == 403
    monkeypatch.setattr(get_settings(), "require_2fa", frozenset({"owners"}))  # an admin who owns nothing
    two_factor.disable(session, user=admin, password=DEFAULT_PASSWORD, code=code_at(secret, later), now=later)
    assert not two_factor.is_enrolled(session, admin)


# -- an admin's reset -----------------------------------------------------------------------------


def test_an_admin_resets_a_lost_phone_and_the_user_is_signed_out_everywhere(session, now):
    admin = make_user(session, email="root@example.org", role=Role.ADMIN, now=now)
    user = make_user(session, email="ada@example.org", now=now)
    secret, codes = enrol(session, user, now)
    later = now + STEP
    log_in(session, user, later, otp=code_at(secret, later))
    accounts.log_in_api(session, email=user.email, password=DEFAULT_PASSWORD, now=later, otp=codes[0])

    shown = users.reset_two_factor(session, actor=admin, user_id=user.id, now=later)
    assert shown.email == user.email
    assert not two_factor.is_enrolled(session, user) and session.get(TwoFactor, user.id) is None
    assert session.exec(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all() == []
    live = session.exec(select(WebSession).where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None)))
    assert live.all() == []
    tokens = session.exec(
        select(RefreshToken).where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
    )
    assert tokens.all() == []
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "user.two_factor_reset")).one()
    assert entry.actor_user_id == admin.id and entry.object_id == str(user.id)
    assert entry.data == {"email": "ada@example.org", "was_enrolled": True}

    log_in(session, user, later)  # the password alone, then they enrol again
    enrol(session, user, later)
    with pytest.raises(TwoFactorRequired):
        log_in(session, user, later)
    with pytest.raises(InvalidOneTimeCode):  # the old recovery codes are gone for good
        log_in(session, user, later, otp=codes[1])


@pytest.mark.parametrize("role", [Role.ORGANIZER, Role.STAFF, Role.ATTENDEE])
def test_only_admins_reset_two_factor(session, now, role):
    actor = make_user(session, email="eve@example.org", role=role, now=now)
    user = make_user(session, email="ada@example.org", now=now)
    enrol(session, user, now)
    with pytest.raises(Forbidden):
        users.reset_two_factor(session, actor=actor, user_id=user.id, now=now)
    with pytest.raises(NotAuthenticated):
        users.reset_two_factor(session, actor=None, user_id=user.id, now=now)
    assert two_factor.is_enrolled(session, user)
    assert "user.two_factor_reset" not in actions(session)


def test_an_admin_cannot_reset_their_own_or_an_unknown_account(session, now):
    admin = make_user(session, email="root@example.org", role=Role.ADMIN, now=now)
    enrol(session, admin, now)
    with pytest.raises(ValidationFailed):
        users.reset_two_factor(session, actor=admin, user_id=admin.id, now=now)
    with pytest.raises(NotFound):
        users.reset_two_factor(session, actor=admin, user_id=RecoveryCode().id, now=now)  # a fresh uuid
    assert two_factor.is_enrolled(session, admin)


# -- the owner's notice ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "by_admin", "words"),
    [
        ("en", False, "was just turned off for ada@example.org"),
        ("ar", False, "تم للتو إيقاف تسجيل الدخول بخطوتين"),
        ("en", True, "An administrator reset two-factor sign-in"),
        ("ar", True, "أعاد أحد المسؤولين ضبط"),
    ],
)
def test_the_owner_is_emailed_when_it_is_turned_off_or_reset(session, now, locale, by_admin, words):
    admin = make_user(session, email="root@example.org", role=Role.ADMIN, now=now)
    user = make_user(session, email="ada@example.org", now=now)
    user.locale = locale
    session.add(user)
    session.commit()
    _, codes = enrol(session, user, now)
    if by_admin:
        users.reset_two_factor(session, actor=admin, user_id=user.id, now=now)
    else:
        two_factor.disable(session, user=user, password=DEFAULT_PASSWORD, code=codes[0], now=now)

    dispatch_outbox(session, now=now)
    (notification,) = session.exec(select(Notification).where(Notification.topic == "user.two_factor_off")).all()
    assert notification.recipient == "ada@example.org" and notification.locale == locale
    rendered = render_notification(session, notification, public_url="https://tickets.example.org")
    assert words in rendered.text and words in rendered.html
    assert "https://tickets.example.org/account" in rendered.text and not rendered.subject.startswith("email.")


def test_nobody_is_emailed_when_turning_it_off_is_refused(session, now):
    user = make_user(session, email="ada@example.org", now=now)
    enrol(session, user, now)
    with pytest.raises(InvalidCredentials):
        two_factor.disable(session, user=user, password="Wrong-password-1", code="000000", now=now)
    dispatch_outbox(session, now=now)
    assert session.exec(select(Notification).where(Notification.topic == "user.two_factor_off")).all() == []


# -- the page handlers ----------------------------------------------------------------------------


@pytest.fixture
def tab(fresh_tab):
    return fresh_tab


async def run(state, handler: str, *args):  # noqa: ANN001, ANN201
    result = type(state).event_handlers[handler].fn(state, *args)
    return await result if inspect.isawaitable(result) else result


def sign_in_tab(root, session, user, now, otp: str = "") -> None:  # noqa: ANN001
    _, token = log_in(session, user, now, otp=otp)
    root.router = RouterData.from_router_data({"headers": {"cookie": f"{SESSION_COOKIE}={token}"}})


@pytest.mark.anyio
async def test_the_account_page_makes_new_codes_then_turns_it_off(tab, session, now, app_clock):
    user = make_user(session, email="ada@example.org", now=now)
    secret, codes = enrol(session, user, now)
    sign_in_tab(tab, session, user, now, otp=codes[0])
    state = await tab.get_state(TwoFactorState)
    await run(state, "load")
    assert state.enabled and not state.required and state.recovery_codes_left == 9

    await run(state, "regenerate_recovery_codes", {"code": "000000"})
    assert state.error and not state.error.startswith("error.") and state.recovery_codes == []
    app_clock.advance(seconds=30)
    await run(state, "regenerate_recovery_codes", {"code": code_at(secret, app_clock())})
    assert not state.error and len(state.recovery_codes) == 10 and state.recovery_codes_left == 10

    app_clock.advance(seconds=30)
    await run(state, "disable", {"password": "Wrong-password-1", "code": code_at(secret, app_clock())})
    assert state.error and state.enabled
    await run(state, "disable", {"password": DEFAULT_PASSWORD, "code": code_at(secret, app_clock())})
    assert not state.error and not state.enabled and state.recovery_codes == []
    assert not two_factor.is_enrolled(session, user)


@pytest.mark.anyio
async def test_the_account_page_says_why_it_cannot_be_turned_off(tab, session, now, monkeypatch):
    monkeypatch.setattr(get_settings(), "require_2fa", frozenset({"admins"}))
    admin = make_user(session, email="root@example.org", role=Role.ADMIN, now=now)
    secret, codes = enrol(session, admin, now)
    sign_in_tab(tab, session, admin, now, otp=codes[0])
    state = await tab.get_state(TwoFactorState)
    await run(state, "load")
    assert state.enabled and state.required
    await run(state, "disable", {"password": DEFAULT_PASSWORD, "code": codes[1]})
    assert "administrator can reset" in state.error and two_factor.is_enrolled(session, admin)


@pytest.mark.anyio
async def test_the_admin_list_resets_two_factor_after_confirming(tab, session, now):
    admin = make_user(session, email="root@example.org", role=Role.ADMIN, now=now)
    user = make_user(session, email="ada@example.org", now=now)
    enrol(session, user, now)
    sign_in_tab(tab, session, admin, now)
    users_tab = await tab.get_state(AdminUsersState)
    await run(users_tab, "load")

    await run(users_tab, "ask_reset_two_factor", str(user.id))
    assert users_tab.reset_open and "ada@example.org" in users_tab.reset_text
    await run(users_tab, "set_reset_open", False)  # "keep": nothing happens
    await run(users_tab, "confirm_reset_two_factor")
    assert two_factor.is_enrolled(session, user)

    await run(users_tab, "ask_reset_two_factor", str(user.id))
    await run(users_tab, "confirm_reset_two_factor")
    assert not users_tab.reset_open and not two_factor.is_enrolled(session, user)
    assert actions(session).count("user.two_factor_reset") == 1


@pytest.mark.anyio
async def test_a_non_admin_tab_cannot_reset_two_factor(tab, session, now):
    organizer = make_user(session, email="olga@example.org", role=Role.ORGANIZER, now=now)
    user = make_user(session, email="ada@example.org", now=now)
    enrol(session, user, now)
    sign_in_tab(tab, session, organizer, now)
    users_tab = await tab.get_state(AdminUsersState)
    users_tab._rows = [users.AdminUser.of(user)]  # as if the list had been shown: the service still refuses
    await run(users_tab, "ask_reset_two_factor", str(user.id))
    await run(users_tab, "confirm_reset_two_factor")
    assert two_factor.is_enrolled(session, user)
    assert "user.two_factor_reset" not in actions(session)


@pytest.mark.anyio
async def test_guessing_codes_on_the_account_page_runs_into_the_login_limit(tab, session, now):
    user = make_user(session, email="ada@example.org", now=now)
    secret, codes = enrol(session, user, now)
    sign_in_tab(tab, session, user, now, otp=codes[0])
    state = await tab.get_state(TwoFactorState)
    with rate_limits_on(RATE_LIMIT_LOGIN="2/minute"):
        for guess in ("000001", "000002"):
            await run(state, "regenerate_recovery_codes", {"code": guess})
            assert state.error
        refused = await run(state, "disable", {"password": DEFAULT_PASSWORD, "code": code_at(secret, now + STEP)})
    assert refused is not None and state.error == ""  # a "wait" toast; the right code was not even tried
    assert two_factor.is_enrolled(session, user)
