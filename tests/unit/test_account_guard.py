"""Accounts under abuse: guessing locks, the owner's unlock link, sign-up that reveals nothing,
email verification before founding or publishing, and hostile characters in free text."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bilten.models import (
    EmailVerification,
    Event,
    EventStatus,
    LoginUnlock,
    Notification,
    Organization,
    OutboxEvent,
    Role,
    User,
)
from bilten.notifications.outbox import dispatch_outbox
from bilten.notifications.rendering import render_notification
from bilten.services import accounts, event_admin, login_guard, orders, security, teams, tickets, verification
from bilten.services.errors import (
    EmailNotVerified,
    InvalidCredentials,
    InvalidToken,
    TooManyAttempts,
    TooManyRequests,
    ValidationFailed,
)
from bilten.services.text import clean_text
from tests.factories import DEFAULT_PASSWORD, make_event, make_organization, make_user
from tests.scanning_helpers import door_with_tickets

WRONG = "Wrong-guess-123"
PUBLIC_URL = "https://tickets.example.org"


@pytest.fixture
def password_checks(monkeypatch):
    """Counts the argon2 verifications that really run (the real function, only counted)."""
    calls = []
    real_verify = security.password_context.verify

    def counted(*args, **kwargs):
        calls.append(1)
        return real_verify(*args, **kwargs)

    monkeypatch.setattr(security.password_context, "verify", counted)
    return calls


@pytest.fixture
def password_hashes(monkeypatch):
    calls = []
    real_hash = security.password_context.hash

    def counted(*args, **kwargs):
        calls.append(1)
        return real_hash(*args, **kwargs)

    monkeypatch.setattr(security.password_context, "hash", counted)
    return calls


def _guess(session, now, email="owner@example.org", password=WRONG, **extra):
    return accounts.log_in_api(session, email=email, password=password, now=now, **extra)


def _lock(session, now, email="owner@example.org"):
    for _ in range(10):
        with pytest.raises(InvalidCredentials):
            _guess(session, now, email=email)


def _events(session, topic):
    return session.exec(select(OutboxEvent).where(OutboxEvent.topic == topic).order_by(OutboxEvent.created_at)).all()


def _unlock_token(session):
    return _events(session, "account.locked")[-1].payload["unlock_url"].split("unlock=")[1]


def _rendered(session, topic, now):
    dispatch_outbox(session, now=now)
    notification = session.exec(select(Notification).where(Notification.topic == topic)).all()[-1]
    return notification, render_notification(session, notification, public_url=PUBLIC_URL)


# ---------------------------------------------------------------------------------------------
# Locking: at most LOGIN_MAX_FAILURES passwords checked, the lock checked first


def test_a_locked_address_refuses_without_checking_any_password(session, now, password_checks):
    make_user(session, email="owner@example.org", now=now)
    _lock(session, now)
    assert len(password_checks) == 10
    for _ in range(25):
        with pytest.raises(TooManyAttempts):
            _guess(session, now + timedelta(minutes=1))
    with pytest.raises(TooManyAttempts):
        _guess(session, now + timedelta(minutes=2), password=DEFAULT_PASSWORD)
    assert len(password_checks) == 10  # nothing more was checked while locked
    # The lock ends; the count starts afresh.
    assert _guess(session, now + timedelta(minutes=15), password=DEFAULT_PASSWORD).access_token
    assert len(password_checks) == 11


def test_a_correct_password_clears_the_count(session, now):
    make_user(session, email="owner@example.org", now=now)
    for _ in range(9):
        with pytest.raises(InvalidCredentials):
            _guess(session, now)
    assert _guess(session, now, password=DEFAULT_PASSWORD)
    for _ in range(9):
        with pytest.raises(InvalidCredentials):
            _guess(session, now)
    assert _guess(session, now, password=DEFAULT_PASSWORD)


# ---------------------------------------------------------------------------------------------
# The owner's unlock link


def test_a_lock_emails_the_owner_an_unlock_link_once_per_lock(session, now):
    user = make_user(session, email="owner@example.org", now=now)
    _lock(session, now)
    (event,) = _events(session, "account.locked")
    assert event.payload["user_id"] == str(user.id)
    token = _unlock_token(session)
    stored = session.exec(select(LoginUnlock)).one()
    assert stored.token_hash == security.hash_token(token) and token not in stored.token_hash  # only the hash
    assert stored.expires_at == now + timedelta(minutes=15)  # valid for the lock period
    # More refused attempts in the same lock send nothing more.
    for _ in range(5):
        with pytest.raises(TooManyAttempts):
            _guess(session, now + timedelta(minutes=3))
    assert len(_events(session, "account.locked")) == 1


@pytest.mark.parametrize(("locale", "words"), [("en", "Unlock and sign in"), ("ar", "فك القفل وتسجيل الدخول")])
def test_the_unlock_email_is_translated_with_text_and_html(session, now, locale, words):
    user = make_user(session, email="owner@example.org", now=now)
    user.locale = locale
    session.add(user)
    session.commit()
    _lock(session, now)
    token = _unlock_token(session)
    notification, rendered = _rendered(session, "account.locked", now)
    assert notification.recipient == "owner@example.org"
    assert words in rendered.text and words in rendered.html
    assert f"/login?unlock={token}" in rendered.text and f"/login?unlock={token}" in rendered.html
    assert token not in rendered.text_to_store()  # the stored copy never holds the link
    assert "unlock_url" not in session.get(OutboxEvent, _events(session, "account.locked")[0].id).payload


def test_unknown_addresses_lock_alike_and_nobody_is_emailed(session, now):
    make_user(session, email="owner@example.org", now=now)
    answers = {}
    for email in ("owner@example.org", "ghost@example.org"):
        for _ in range(10):
            with pytest.raises(InvalidCredentials) as wrong:
                _guess(session, now, email=email)
        with pytest.raises(TooManyAttempts) as locked:
            _guess(session, now, email=email)
        answers[email] = (wrong.value.code, locked.value.code, locked.value.params)
    assert answers["owner@example.org"] == answers["ghost@example.org"]
    assert [e.payload["user_id"] for e in _events(session, "account.locked")] == [
        str(session.exec(select(User.id)).one())
    ]


def test_the_unlock_link_lifts_the_lock_and_lets_the_owner_in_while_guessing_goes_on(session, now):
    make_user(session, email="owner@example.org", now=now)
    _lock(session, now)
    token = _unlock_token(session)
    later = now + timedelta(minutes=5)
    assert login_guard.unlock_login(session, token=token, now=later) == "owner@example.org"
    # The attacker keeps guessing and locks the address again at once...
    _lock(session, later)
    with pytest.raises(TooManyAttempts):
        _guess(session, later, password=DEFAULT_PASSWORD)
    # ...yet the owner, with the link's token, gets in with the right password (a typo first).
    with pytest.raises(InvalidCredentials):
        _guess(session, later, password="Correct-horse-24", unlock_token=token)
    pair = _guess(session, later + timedelta(minutes=30), password=DEFAULT_PASSWORD, unlock_token=token)
    assert pair.access_token
    # The pass is spent by that login.
    with pytest.raises(InvalidToken):
        login_guard.unlock_login(session, token=token, now=later + timedelta(minutes=31))


def test_the_unlock_pass_is_no_back_door_for_guessing(session, now, password_checks):
    make_user(session, email="owner@example.org", now=now)
    other = make_user(session, email="other@example.org", now=now)
    _lock(session, now)
    token = _unlock_token(session)
    login_guard.unlock_login(session, token=token, now=now)
    _lock(session, now)
    checks_before = len(password_checks)
    for _ in range(3):  # a few wrong passwords with the pass...
        with pytest.raises(InvalidCredentials):
            _guess(session, now, unlock_token=token)
    # ...then it is spent: the address's lock applies, no password is checked.
    with pytest.raises(TooManyAttempts):
        _guess(session, now, password=DEFAULT_PASSWORD, unlock_token=token)
    assert len(password_checks) == checks_before + 3
    # The pass belongs to its account only.
    _lock(session, now, email="other@example.org")
    with pytest.raises(TooManyAttempts):
        _guess(session, now, email=other.email, password=DEFAULT_PASSWORD, unlock_token=token)


def test_an_unlock_link_not_followed_or_expired_is_no_pass(session, now):
    make_user(session, email="owner@example.org", now=now)
    _lock(session, now)
    token = _unlock_token(session)
    with pytest.raises(TooManyAttempts):  # not followed yet: no pass
        _guess(session, now, password=DEFAULT_PASSWORD, unlock_token=token)
    with pytest.raises(InvalidToken):
        login_guard.unlock_login(session, token=token, now=now + timedelta(minutes=15))
    with pytest.raises(InvalidToken):
        login_guard.unlock_login(session, token="made-up", now=now)


# ---------------------------------------------------------------------------------------------
# Sign-up reveals nothing


def test_signing_up_with_a_taken_address_answers_alike_and_tells_its_owner(session, now, password_hashes):
    owner = make_user(session, email="taken@example.org", now=now)
    password_hashes.clear()
    new = accounts.register_user(session, email="fresh@example.org", password="Sunny-river-77", full_name="A", now=now)
    taken = accounts.register_user(
        session, email="TAKEN@example.org", password="Sunny-river-77", full_name="A", now=now
    )
    assert taken.user is None and new.user is not None
    assert set(taken.public.model_dump()) == set(new.public.model_dump())
    assert taken.public.email == "taken@example.org" and taken.public.id != owner.id
    assert (taken.public.role, taken.public.email_verified) == (new.public.role, new.public.email_verified)
    assert len(password_hashes) == 2  # the taken address paid for an argon2 hash too
    assert session.get(User, owner.id).password_hash == owner.password_hash
    (event,) = _events(session, "user.signup_attempted")
    assert event.payload == {"user_id": str(owner.id)}
    # Tried again within the hour: the same answer, no second email.
    accounts.register_user(session, email="taken@example.org", password="Sunny-river-77", now=now)
    assert len(_events(session, "user.signup_attempted")) == 1
    notification, rendered = _rendered(session, "user.signup_attempted", now)
    assert notification.recipient == "taken@example.org"
    assert "taken@example.org" in rendered.text and "/forgot-password" in rendered.html


# ---------------------------------------------------------------------------------------------
# Email verification


def _verify_token(session, topic="user.registered"):
    return _events(session, topic)[-1].payload["verify_url"].split("token=")[1]


def test_signing_up_as_an_organizer_founds_the_organization_on_verification(session, now):
    user = accounts.register_user(
        session, email="founder@example.org", password="Correct-horse-42", organization_name="Founders Hall", now=now
    ).user
    assert session.exec(select(Organization)).all() == [] and user.role == Role.ATTENDEE
    assert session.exec(select(EmailVerification)).one().organization_name == "Founders Hall"
    token = _verify_token(session)
    notification, rendered = _rendered(session, "user.registered", now)
    assert f"/verify-email?token={token}" in rendered.html and token not in rendered.text_to_store()
    verified = verification.verify_email(session, token=token, now=now + timedelta(hours=1))
    assert verified.user.email_verified_at == now + timedelta(hours=1)
    assert verified.organization.name == "Founders Hall"
    assert session.get(User, user.id).role == Role.ORGANIZER
    (org,) = teams.list_organizations(session, actor=verified.user)
    assert org.name == "Founders Hall"
    with pytest.raises(InvalidToken):  # once only
        verification.verify_email(session, token=token, now=now + timedelta(hours=2))
    assert len(session.exec(select(Organization)).all()) == 1


def test_a_verification_link_expires_after_48_hours(session, now):
    accounts.register_user(session, email="late@example.org", password="Correct-horse-42", now=now)
    with pytest.raises(InvalidToken):
        verification.verify_email(session, token=_verify_token(session), now=now + timedelta(hours=48))
    with pytest.raises(InvalidToken):
        verification.verify_email(session, token="made-up", now=now)


def test_an_unverified_account_cannot_found_or_publish_until_it_confirms(session, now):
    user = accounts.register_user(session, email="new@example.org", password="Correct-horse-42", now=now).user
    with pytest.raises(EmailNotVerified) as refused:
        teams.create_organization(session, actor=user, name="Squatters Inc", now=now)
    assert (refused.value.status, refused.value.key) == (403, "error.email_not_verified")
    session.rollback()
    assert session.exec(select(Organization)).all() == []
    # A manager added to a team (e.g. by invitation) cannot publish either.
    organization = make_organization(session, members=(user,), now=now)
    event = make_event(session, organization=organization, now=now, status=EventStatus.DRAFT)
    with pytest.raises(EmailNotVerified):
        event_admin.publish_event(session, actor=user, event_id=event.id, now=now)
    session.rollback()
    assert session.get(Event, event.id).status == EventStatus.DRAFT
    # Asking for a new link: once a minute at most; the new link works.
    with pytest.raises(TooManyRequests):
        verification.resend_verification(session, user_id=user.id, now=now)
    assert verification.resend_verification(session, user_id=user.id, now=now + timedelta(minutes=2))
    verification.verify_email(session, token=_verify_token(session, "user.verification_requested"), now=now)
    user = session.get(User, user.id)
    assert teams.create_organization(session, actor=user, name="Real Venue", now=now).name == "Real Venue"
    assert event_admin.publish_event(session, actor=user, event_id=event.id, now=now).status == EventStatus.PUBLISHED
    assert verification.resend_verification(session, user_id=user.id, now=now + timedelta(minutes=5)) is False


def test_the_verification_email_is_translated(session, now):
    user = accounts.register_user(
        session, email="new@example.org", password="Correct-horse-42", locale="ar", now=now
    ).user
    verification.resend_verification(session, user_id=user.id, now=now + timedelta(minutes=2))
    token = _verify_token(session, "user.verification_requested")
    _, rendered = _rendered(session, "user.verification_requested", now)
    assert "تأكيد بريدي الإلكتروني" in rendered.text and 'dir="rtl"' in rendered.html
    assert f"/verify-email?token={token}" in rendered.text and token not in rendered.text_to_store()


def test_admins_made_by_the_operator_count_as_verified(session, now):
    admin = accounts.create_admin(session, email="root@example.org", password="Admin-pass-2026", now=now)
    assert admin.email_verified_at == now


# ---------------------------------------------------------------------------------------------
# Hostile characters


HOSTILE = "Ali\u202ecod.exe\u0000\u0085\u200f\u2066Bob\x1b[31m"


def test_clean_text_drops_hidden_characters_and_normalises():
    assert clean_text(HOSTILE, max_length=100) == "Alicod.exe Bob[31m"
    assert clean_text("Cafe\u0301", max_length=10) == "Caf\u00e9"  # NFC
    assert clean_text("Zero\u200dWidth", max_length=20) == "Zero\u200dWidth"  # joiners stay
    assert clean_text("a\r\nb\u2028c\x00\td", max_length=20, multiline=True) == "a\nb\nc\td"
    with pytest.raises(ValidationFailed) as too_long:
        clean_text("x" * 11 + "\u202e", max_length=10)
    assert too_long.value.key == "error.name_too_long"


def test_hostile_names_are_stored_clean_and_hostile_emails_refused(session, now):
    user = accounts.register_user(
        session, email="clean@example.org", password="Correct-horse-42", full_name=HOSTILE, now=now
    ).user
    assert user.full_name == "Alicod.exe Bob[31m"
    for email in ("evil\u202e@example.org", "nul\x00@example.org", "a@exam\u200fple.org"):
        with pytest.raises(ValidationFailed) as refused:
            accounts.register_user(session, email=email, password="Correct-horse-42", now=now)
        assert refused.value.key == "error.invalid_characters"
    owner = make_user(session, now=now)
    organization = teams.create_organization(session, actor=owner, name="\u202eTeam\u0007 Name", now=now)
    assert organization.name == "Team Name"
    with pytest.raises(ValidationFailed) as refused:
        teams.invite_member(
            session, actor=owner, organization_id=organization.id, email="x\u202e@example.org", role="viewer", now=now
        )
    assert refused.value.key == "error.invalid_characters"


def test_hostile_ticket_holder_names_are_stored_clean(session, now):
    door = door_with_tickets(session, now=now, count=1)
    token = orders.order_access_token(door.tickets[0].order_id)
    view = tickets.set_ticket_holder(
        session, ticket_id=door.tickets[0].id, holder_name="Sam\u202e\u0000 Lee\u2066", now=now, access_token=token
    )
    assert view.holder_name == "Sam Lee"
    with pytest.raises(ValidationFailed) as refused:  # nothing visible left: no name at all
        tickets.set_ticket_holder(
            session, ticket_id=door.tickets[0].id, holder_name="\u202e\u0000\u200f", now=now, access_token=token
        )
    assert refused.value.key == "error.holder_name_required"


def test_accepting_an_emailed_invitation_confirms_the_address(session, now):
    owner = make_user(session, now=now)
    organization = make_organization(session, members=(owner,), now=now)
    teams.invite_member(
        session, actor=owner, organization_id=organization.id, email="mona@example.org", role="manager", now=now
    )
    invited = _events(session, "team.member_invited")[-1].payload["accept_url"].split("token=")[1]
    mona = accounts.register_user(session, email="mona@example.org", password="Correct-horse-42", now=now).user
    assert mona.email_verified_at is None
    teams.accept_invitation(session, actor=mona, token=invited, now=now + timedelta(minutes=3))
    assert session.get(User, mona.id).email_verified_at == now + timedelta(minutes=3)
