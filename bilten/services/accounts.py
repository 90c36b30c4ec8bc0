"""Accounts: registration, logins on the web and the API, token rotation, password changes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select, update

from bilten.models import LoginThrottle, PasswordResetToken, RefreshToken, Role, User, WebSession
from bilten.services import teams
from bilten.services.audit import emit_event, record_audit
from bilten.services.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidToken,
    NotAuthenticated,
    TokenReused,
    TooManyAttempts,
    ValidationFailed,
)
from bilten.services.security import (
    burn_password_check,
    decode_access_token,
    encode_access_token,
    hash_password,
    hash_token,
    new_opaque_token,
    verify_password,
)
from bilten.services.validation import check_password_strength, clean_email, clean_name
from bilten.settings import SUPPORTED_LOCALES, get_secret_key, get_settings

SESSION_TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"


def register_user(
    session: Session,
    *,
    email: str,
    password: str,
    now: datetime,
    full_name: str = "",
    locale: str = "en",
    role: Role = Role.ATTENDEE,
    organization_name: str | None = None,
) -> User:
    """A new account; with `organization_name` (signing up as an organizer) also its organization,
    owned by the new account, in the same transaction."""
    email = clean_email(email)
    check_password_strength(password, email=email)
    full_name = clean_name(full_name)
    if organization_name is not None:
        teams.clean_organization_name(organization_name)  # refuse a bad name before anything is made
    if session.exec(select(User.id).where(User.email == email)).first() is not None:
        raise EmailTaken()
    user = User(
        email=email,
        password_hash=hash_password(password),
        full_name=full_name,
        role=role,
        locale=locale if locale in SUPPORTED_LOCALES else "en",
        created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    session.flush()
    record_audit(
        session, action="user.registered", object_type="user", object_id=user.id, now=now, actor_user_id=user.id
    )
    if organization_name is not None:
        teams.add_owned_organization(session, owner=user, name=organization_name, now=now)
    emit_event(session, topic="user.registered", payload={"user_id": str(user.id)}, now=now)
    session.commit()
    return user


def create_admin(session: Session, *, email: str, password: str, now: datetime) -> User:
    """Make an admin account, or promote an existing account to admin with a new password."""
    email = clean_email(email)
    check_password_strength(password, email=email)
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None:
        user = User(email=email, password_hash="", created_at=now)
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    user.role = Role.ADMIN
    user.is_active = True
    session.add(user)
    session.flush()
    record_audit(session, action="user.made_admin", object_type="user", object_id=user.id, now=now)
    session.commit()
    return user


def check_credentials(session: Session, *, email: str, password: str, now: datetime) -> User:
    """The user behind a correct email and password. Wrong answers are counted per email address
    (known or not) and lock it for a while; failures commit their count before raising."""
    settings = get_settings()
    try:
        email = clean_email(email)
    except ValidationFailed:
        burn_password_check(password)
        raise InvalidCredentials() from None
    throttle = session.get(LoginThrottle, email)
    user = session.exec(select(User).where(User.email == email)).first()
    password_ok = verify_password(password, user.password_hash) if user else burn_password_check(password)
    if throttle and throttle.locked_until and throttle.locked_until > now:
        raise TooManyAttempts(minutes=settings.login_lock_minutes)
    if user is None or not password_ok or not user.is_active:
        _count_failure(session, email=email, now=now)
        raise InvalidCredentials()
    if throttle:
        session.delete(throttle)
    return user


def _count_failure(session: Session, *, email: str, now: datetime) -> None:
    """One more failed login for `email`, counted by the database in one statement (an upsert): a
    burst of simultaneous wrong guesses can neither overwrite each other's count (and so guess past
    the lock) nor collide inserting the first row. Commits."""
    settings = get_settings()
    table = LoginThrottle.__table__
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    counted = (
        insert(table)
        .values(email=email, failures=1, last_failure_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.email], set_={"failures": table.c.failures + 1, "last_failure_at": now}
        )
        .returning(table.c.failures)
    )
    if session.execute(counted).scalar_one() >= settings.login_max_failures:
        session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.email == email)
            .values(locked_until=now + timedelta(minutes=settings.login_lock_minutes), failures=0)
        )
    session.commit()


def log_in_web(session: Session, *, email: str, password: str, now: datetime, user_agent: str = "") -> tuple[User, str]:
    """Start a browser session. Returns the user and the token the browser keeps."""
    settings = get_settings()
    user = check_credentials(session, email=email, password=password, now=now)
    token = new_opaque_token()
    session.add(
        WebSession(
            user_id=user.id,
            token_hash=hash_token(token),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(days=settings.session_max_days),
            user_agent=user_agent[:300],
        )
    )
    record_audit(
        session,
        action="user.logged_in",
        object_type="user",
        object_id=user.id,
        now=now,
        actor_user_id=user.id,
        data={"via": "web"},
    )
    session.commit()
    return user, token


def user_for_web_session(session: Session, *, token: str, now: datetime) -> User | None:
    """The user of a live browser session, or None when it is unknown, revoked, idle or too old."""
    if not token:
        return None
    web_session = session.exec(select(WebSession).where(WebSession.token_hash == hash_token(token))).first()
    if web_session is None or web_session.revoked_at is not None or web_session.expires_at <= now:
        return None
    idle_limit = timedelta(minutes=get_settings().session_idle_minutes)
    if web_session.last_seen_at + idle_limit <= now:
        return None
    user = session.get(User, web_session.user_id)
    if user is None or not user.is_active:
        return None
    if now - web_session.last_seen_at >= SESSION_TOUCH_INTERVAL:
        web_session.last_seen_at = now
        session.add(web_session)
        session.commit()
    return user


def log_out_web(session: Session, *, token: str, now: datetime) -> None:
    if not token:
        return
    session.exec(
        update(WebSession)
        .where(WebSession.token_hash == hash_token(token), WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.commit()


def _issue_token_pair(session: Session, *, user: User, family_id: uuid.UUID, now: datetime) -> TokenPair:
    settings = get_settings()
    refresh = new_opaque_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=hash_token(refresh),
            created_at=now,
            expires_at=now + timedelta(days=settings.refresh_token_days),
        )
    )
    lifetime = timedelta(minutes=settings.access_token_minutes)
    access = encode_access_token(
        user_id=user.id,
        password_epoch=int(user.password_changed_at.timestamp()),
        now=now,
        lifetime=lifetime,
        secret=get_secret_key(),
    )
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=int(lifetime.total_seconds()))


def log_in_api(session: Session, *, email: str, password: str, now: datetime) -> TokenPair:
    user = check_credentials(session, email=email, password=password, now=now)
    pair = _issue_token_pair(session, user=user, family_id=uuid.uuid4(), now=now)
    record_audit(
        session,
        action="user.logged_in",
        object_type="user",
        object_id=user.id,
        now=now,
        actor_user_id=user.id,
        data={"via": "api"},
    )
    session.commit()
    return pair


def refresh_api_tokens(session: Session, *, refresh_token: str, now: datetime) -> TokenPair:
    """Trade a refresh token for a new pair. A token works once: presenting a used one means it
    was copied, so its whole family is revoked and the legitimate holder must log in again."""
    stored = session.exec(
        select(RefreshToken).where(RefreshToken.token_hash == hash_token(refresh_token or "")).with_for_update()
    ).first()
    if stored is None or stored.expires_at <= now:
        raise InvalidToken()
    user = session.get(User, stored.user_id)
    if user is None or not user.is_active:
        raise InvalidToken()  # a disabled account: its tokens were revoked, no theft to report
    if stored.used_at is not None or stored.revoked_at is not None:
        _revoke_family(session, family_id=stored.family_id, now=now)
        record_audit(
            session,
            action="user.refresh_token_reused",
            object_type="user",
            object_id=stored.user_id,
            now=now,
            data={"family_id": str(stored.family_id)},
        )
        session.commit()
        raise TokenReused()
    stored.used_at = now
    session.add(stored)
    pair = _issue_token_pair(session, user=user, family_id=stored.family_id, now=now)
    session.commit()
    return pair


def _revoke_family(session: Session, *, family_id: uuid.UUID, now: datetime) -> None:
    session.exec(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def log_out_api(session: Session, *, refresh_token: str, now: datetime) -> None:
    """Revoke the refresh token's family. Access tokens already out expire within minutes."""
    stored = session.exec(
        select(RefreshToken).where(RefreshToken.token_hash == hash_token(refresh_token or ""))
    ).first()
    if stored is None:
        raise InvalidToken()
    _revoke_family(session, family_id=stored.family_id, now=now)
    record_audit(
        session,
        action="user.logged_out",
        object_type="user",
        object_id=stored.user_id,
        now=now,
        actor_user_id=stored.user_id,
        data={"via": "api"},
    )
    session.commit()


def user_for_access_token(session: Session, *, token: str, now: datetime) -> User:
    if not token:
        raise NotAuthenticated()
    claims = decode_access_token(token, secret=get_secret_key(), now=now)
    try:
        user = session.get(User, uuid.UUID(claims["sub"]))
    except ValueError as exc:
        raise InvalidToken() from exc
    # A password change invalidates every access token issued before it.
    if user is None or not user.is_active or claims.get("pwd") != int(user.password_changed_at.timestamp()):
        raise InvalidToken()
    return user


def change_password(
    session: Session,
    *,
    user_id: uuid.UUID,
    current_password: str,
    new_password: str,
    now: datetime,
    keep_web_session_token: str = "",
) -> None:
    """Change a password and sign out everywhere else: other browsers and every API token."""
    user = session.get(User, user_id)
    if user is None:
        raise NotAuthenticated()
    if not verify_password(current_password, user.password_hash):
        raise InvalidCredentials()
    check_password_strength(new_password, email=user.email)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = now
    session.add(user)
    keep_hash = hash_token(keep_web_session_token) if keep_web_session_token else ""
    session.exec(
        update(WebSession)
        .where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None), WebSession.token_hash != keep_hash)
        .values(revoked_at=now)
    )
    session.exec(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    record_audit(
        session, action="user.password_changed", object_type="user", object_id=user.id, now=now, actor_user_id=user.id
    )
    session.commit()


def set_user_locale(session: Session, *, user_id: uuid.UUID, locale: str) -> None:
    user = session.get(User, user_id)
    if user is None or locale not in SUPPORTED_LOCALES:
        return
    user.locale = locale
    session.add(user)
    session.commit()


PASSWORD_RESET_LIFETIME = timedelta(hours=1)
PASSWORD_RESET_COOLDOWN = timedelta(minutes=1)


def request_password_reset(session: Session, *, email: str, now: datetime) -> None:
    """Email a one-time reset link to the account, if there is one. The caller always answers the
    same way, so this reveals nothing about which addresses have accounts."""
    try:
        email = clean_email(email)
    except ValidationFailed:
        return
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None or not user.is_active:
        return
    recent = session.exec(
        select(PasswordResetToken.id).where(
            PasswordResetToken.user_id == user.id, PasswordResetToken.created_at > now - PASSWORD_RESET_COOLDOWN
        )
    ).first()
    if recent is not None:
        return  # one email a minute at most: no mail bombing through this form
    token = new_opaque_token()
    session.add(
        PasswordResetToken(
            user_id=user.id, token_hash=hash_token(token), created_at=now, expires_at=now + PASSWORD_RESET_LIFETIME
        )
    )
    reset_url = f"{get_settings().public_url.rstrip('/')}/reset-password?token={token}"
    emit_event(
        session, topic="password.reset_requested", payload={"user_id": str(user.id), "reset_url": reset_url}, now=now
    )
    record_audit(session, action="user.password_reset_requested", object_type="user", object_id=user.id, now=now)
    session.commit()


def reset_password(session: Session, *, token: str, new_password: str, now: datetime) -> User:
    """Set a new password with a reset link; the link works once, and every session ends."""
    stored = session.exec(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == hash_token(token or "")).with_for_update()
    ).first()
    if stored is None or stored.used_at is not None or stored.expires_at <= now:
        raise InvalidToken()
    user = session.get(User, stored.user_id)
    if user is None or not user.is_active:
        raise InvalidToken()
    check_password_strength(new_password, email=user.email)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = now
    stored.used_at = now
    session.add_all([user, stored])
    session.exec(
        update(WebSession).where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None)).values(revoked_at=now)
    )
    session.exec(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    throttle = session.get(LoginThrottle, user.email)
    if throttle is not None:
        session.delete(throttle)  # the owner proved control of the mailbox: unlock
    record_audit(
        session, action="user.password_reset", object_type="user", object_id=user.id, now=now, actor_user_id=user.id
    )
    session.commit()
    return user
