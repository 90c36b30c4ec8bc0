"""Accounts: registration, logins on the web and the API, token rotation, password changes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from pydantic import BaseModel, ConfigDict
from sqlmodel import Session, col, select, update

from bilten.ids import parse_id
from bilten.models import (
    ApiSession,
    AuditEntry,
    LoginThrottle,
    PasswordResetToken,
    RefreshToken,
    Role,
    SignInMethod,
    SignInRecord,
    User,
    UserPublic,
    WebSession,
)
from bilten.services import login_guard, teams, two_factor, verification
from bilten.services.audit import emit_event, record_audit
from bilten.services.errors import (
    InvalidCredentials,
    InvalidOneTimeCode,
    InvalidToken,
    NotAuthenticated,
    TokenReused,
    TooManyAttempts,
    TwoFactorRequired,
    TwoFactorSetupRequired,
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
from bilten.services.transaction import transaction
from bilten.services.validation import check_password_strength, clean_email, clean_name
from bilten.settings import SUPPORTED_LOCALES, get_secret_key, get_settings

SESSION_TOUCH_INTERVAL = timedelta(minutes=1)
WEB_LOGIN_GRANT_LIFETIME = timedelta(minutes=1)


class TokenPair(BaseModel):
    """An API login (`/api/v1/auth/login`, `/refresh` return it as it is)."""

    model_config = ConfigDict(frozen=True)

    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int  # seconds the access token lives


@dataclass(frozen=True)
class SignUp:
    """What signing up answers: the same shape whether or not the address had an account."""

    public: UserPublic
    user: User | None  # the new account; None when the address was taken (its owner was emailed)


SIGNUP_NOTICE_COOLDOWN = timedelta(hours=1)


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
) -> SignUp:
    """A new account, and an email with the link that confirms its address (the welcome email).
    With `organization_name` (signing up as an organizer) the organization is founded when that
    link is followed (see `services/verification.py`).

    An address that has an account already gets the same answer, after the same work (an argon2
    hash), so sign-up reveals nothing about who has an account; its owner is emailed instead
    ("someone tried to sign up with your address"), at most once an hour."""
    with transaction(session):
        email = clean_email(email)
        check_password_strength(password, email=email)
        full_name = clean_name(full_name)
        locale = locale if locale in SUPPORTED_LOCALES else "en"
        if organization_name is not None:
            organization_name = teams.clean_organization_name(organization_name)  # refuse a bad name first
        password_hash = hash_password(password)
        existing = session.exec(select(User).where(User.email == email)).first()
        if existing is not None:
            _tell_owner_of_signup_attempt(session, user=existing, now=now)
            shadow = UserPublic(id=uuid.uuid4(), email=email, full_name=full_name, role=Role.ATTENDEE, locale=locale)
            return SignUp(public=shadow, user=None)
        user = User(
            email=email,
            password_hash=password_hash,
            full_name=full_name,
            role=role,
            locale=locale,
            created_at=now,
            password_changed_at=now,
        )
        session.add(user)
        session.flush()
        record_audit(
            session, action="user.registered", object_type="user", object_id=user.id, now=now, actor_user_id=user.id
        )
        verify_url = verification.new_verification_link(
            session, user=user, now=now, organization_name=organization_name
        )
        emit_event(
            session, topic="user.registered", payload={"user_id": str(user.id), "verify_url": verify_url}, now=now
        )
        return SignUp(public=UserPublic.of(user), user=user)


def _tell_owner_of_signup_attempt(session: Session, *, user: User, now: datetime) -> None:
    recent = session.exec(
        select(AuditEntry.id).where(
            AuditEntry.action == "user.signup_attempted",
            AuditEntry.object_id == str(user.id),
            AuditEntry.created_at > now - SIGNUP_NOTICE_COOLDOWN,
        )
    ).first()
    if recent is not None or not user.is_active:
        return  # no mail bombing through the sign-up form
    record_audit(session, action="user.signup_attempted", object_type="user", object_id=user.id, now=now)
    emit_event(session, topic="user.signup_attempted", payload={"user_id": str(user.id)}, now=now)


def create_admin(session: Session, *, email: str, password: str, now: datetime) -> User:
    """Make an admin account, or promote an existing account to admin with a new password."""
    with transaction(session):
        email = clean_email(email)
        check_password_strength(password, email=email)
        user = session.exec(select(User).where(User.email == email)).first()
        if user is None:
            user = User(email=email, password_hash="", created_at=now)
        user.password_hash = hash_password(password)
        user.password_changed_at = now
        user.role = Role.ADMIN
        user.is_active = True
        user.email_verified_at = user.email_verified_at or now  # the operator vouches for the address
        session.add(user)
        session.flush()
        record_audit(session, action="user.made_admin", object_type="user", object_id=user.id, now=now)
        return user


def check_credentials(
    session: Session, *, email: str, password: str, now: datetime, otp: str = "", unlock_token: str = ""
) -> User:
    """The user behind a correct email and password (and one-time code, see `authenticate`)."""
    return authenticate(session, email=email, password=password, now=now, otp=otp, unlock_token=unlock_token)[0]


def authenticate(
    session: Session, *, email: str, password: str, now: datetime, otp: str = "", unlock_token: str = ""
) -> tuple[User, SignInMethod]:
    """The user behind a correct email and password, and how they proved it.

    Attempts are counted per email address (known or not) before the password is checked, and lock
    it for a while; an unlock link's token lets its owner in despite a lock (the rule:
    `services/login_guard.py`). An account with two-factor sign-in also needs a one-time (or
    recovery) code: without one TwoFactorRequired; a wrong one has used up its attempt like a wrong
    password. The counter is cleared only when every factor was right."""
    try:
        email = clean_email(email)
    except ValidationFailed:
        burn_password_check(password)
        raise InvalidCredentials() from None
    unlock = login_guard.take_unlock_pass(session, token=unlock_token, email=email, now=now) if unlock_token else None
    if unlock is None:
        attempt = login_guard.take_attempt(session, email=email, now=now)
        if not attempt.allowed:
            raise TooManyAttempts(minutes=get_settings().login_lock_minutes)
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None:
        burn_password_check(password)  # "no such user" costs as much time as a wrong password
        password_ok = False
    else:
        password_ok = verify_password(password, user.password_hash)
    if user is None or not password_ok or not user.is_active:
        if unlock is None and attempt.locks:
            login_guard.send_unlock_link(session, user=user, now=now)
        raise InvalidCredentials()
    method = SignInMethod.PASSWORD
    if two_factor.is_enrolled(session, user):
        if not otp:
            raise TwoFactorRequired()
        if not two_factor.accept_second_factor(session, user=user, code=otp, now=now):
            if unlock is None and attempt.locks:
                login_guard.send_unlock_link(session, user=user, now=now)
            raise InvalidOneTimeCode()
        method = SignInMethod.TWO_FACTOR
    login_guard.clear_attempts(session, email=email)
    if unlock is not None:
        login_guard.use_unlock_pass(session, unlock=unlock, now=now)
    return user, method


def _open_web_session(
    session: Session, *, user: User, now: datetime, user_agent: str, client_address: str, method: SignInMethod
) -> tuple[WebSession, str]:
    """A new browser session row, its sign-in record and audit entry (the caller commits)."""
    token = new_opaque_token()
    web_session = WebSession(
        user_id=user.id,
        token_hash=hash_token(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(days=get_settings().session_max_days),
        user_agent=user_agent[:300],
        client_address=client_address[:64],
    )
    session.add(web_session)
    record_sign_in(session, user=user, now=now, method=method, user_agent=user_agent, client_address=client_address)
    return web_session, token


def record_sign_in(
    session: Session, *, user: User, now: datetime, method: SignInMethod, user_agent: str, client_address: str
) -> None:
    """The account page's sign-in history and the audit log, in the caller's transaction."""
    session.add(
        SignInRecord(
            user_id=user.id, at=now, method=method, user_agent=user_agent[:300], client_address=client_address[:64]
        )
    )
    record_audit(
        session,
        action="user.logged_in",
        object_type="user",
        object_id=user.id,
        now=now,
        actor_user_id=user.id,
        data={"via": "api" if method == SignInMethod.API else "web", "method": str(method)},
    )


def log_in_web(
    session: Session,
    *,
    email: str,
    password: str,
    now: datetime,
    user_agent: str = "",
    client_address: str = "",
    otp: str = "",
    unlock_token: str = "",
) -> tuple[User, str]:
    """Start a browser session. Returns the user and the session token (CLI, tests; the web UI
    uses `start_web_login`, so the token never passes through the page)."""
    with transaction(session):
        user, method = authenticate(
            session, email=email, password=password, now=now, otp=otp, unlock_token=unlock_token
        )
        _, token = _open_web_session(
            session, user=user, now=now, user_agent=user_agent, client_address=client_address, method=method
        )
        return user, token


def grant_web_session(
    session: Session,
    *,
    user: User,
    now: datetime,
    user_agent: str = "",
    client_address: str = "",
    method: SignInMethod = SignInMethod.PASSWORD,
) -> str:
    """Open a browser session for a user who just proved who they are; returns a one-time grant.

    The page sends the browser with the grant to `redeem_web_login_grant` (an HTTP endpoint), which
    sets the session token as an HttpOnly cookie: neither the page's scripts nor the websocket's state
    ever hold the token itself. Commits."""
    with transaction(session):
        web_session, _ = _open_web_session(
            session, user=user, now=now, user_agent=user_agent, client_address=client_address, method=method
        )
        grant = new_opaque_token()
        web_session.grant_hash = hash_token(grant)
        web_session.grant_expires_at = now + WEB_LOGIN_GRANT_LIFETIME
        return grant


def start_web_login(
    session: Session,
    *,
    email: str,
    password: str,
    now: datetime,
    user_agent: str = "",
    client_address: str = "",
    otp: str = "",
    unlock_token: str = "",
) -> tuple[User, str]:
    """The login form: check the password (and code), open a session; returns the user and a one-time grant."""
    user, method = authenticate(session, email=email, password=password, now=now, otp=otp, unlock_token=unlock_token)
    grant = grant_web_session(
        session, user=user, now=now, user_agent=user_agent, client_address=client_address, method=method
    )
    return user, grant


def redeem_web_login_grant(session: Session, *, grant: str, now: datetime) -> str:
    """Trade a login grant (once, within a minute) for the session token the cookie keeps."""
    with transaction(session):
        web_session = session.exec(
            select(WebSession).where(WebSession.grant_hash == hash_token(grant or "")).with_for_update()
        ).first()
        if (
            web_session is None
            or web_session.revoked_at is not None
            or web_session.grant_expires_at is None
            or web_session.grant_expires_at <= now
        ):
            raise InvalidToken()
        # The token made at login was never shown to anyone; the browser gets a fresh one.
        token = new_opaque_token()
        web_session.token_hash = hash_token(token)
        web_session.grant_hash = None
        web_session.grant_expires_at = None
        web_session.last_seen_at = now
        session.add(web_session)
        return token


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
        with transaction(session):  # the reads above belong to it: a read alone needs no commit
            web_session.last_seen_at = now
            session.add(web_session)
    return user


def log_out_web(session: Session, *, token: str, now: datetime) -> None:
    with transaction(session):
        if not token:
            return
        session.exec(
            update(WebSession)
            .where(col(WebSession.token_hash) == hash_token(token), col(WebSession.revoked_at).is_(None))
            .values(revoked_at=now)
        )


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
        session_id=family_id,
        password_epoch=int(user.password_changed_at.timestamp()),
        now=now,
        lifetime=lifetime,
        secret=get_secret_key(),
    )
    return TokenPair(
        access_token=access, refresh_token=refresh, token_type="bearer", expires_in=int(lifetime.total_seconds())
    )


def log_in_api(
    session: Session,
    *,
    email: str,
    password: str,
    now: datetime,
    user_agent: str = "",
    client_address: str = "",
    otp: str = "",
    unlock_token: str = "",
) -> TokenPair:
    """An API login (answers TwoFactorRequired when the account needs a code: send it as `otp`).

    Accounts that REQUIRE_2FA covers get no API tokens before they set two-factor sign-in up (on
    the account page), as the web guard keeps them out of the admin and organizer areas."""
    with transaction(session):
        user = check_credentials(session, email=email, password=password, now=now, otp=otp, unlock_token=unlock_token)
        if two_factor.must_enrol(session, user):
            raise TwoFactorSetupRequired()
        api_session = ApiSession(
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            user_agent=user_agent[:300],
            client_address=client_address[:64],
        )
        session.add(api_session)
        pair = _issue_token_pair(session, user=user, family_id=api_session.id, now=now)
        record_sign_in(
            session, user=user, now=now, method=SignInMethod.API, user_agent=user_agent, client_address=client_address
        )
        return pair


def refresh_api_tokens(session: Session, *, refresh_token: str, now: datetime) -> TokenPair:
    """Trade a refresh token for a new pair. A token works once: presenting a used one means it
    was copied, so its whole family is revoked and the legitimate holder must log in again."""
    with transaction(session):
        stored = session.exec(
            select(RefreshToken).where(RefreshToken.token_hash == hash_token(refresh_token or "")).with_for_update()
        ).first()
        if stored is None or stored.expires_at <= now:
            raise InvalidToken()
        user = session.get(User, stored.user_id)
        if user is None or not user.is_active:
            raise InvalidToken()  # a disabled account: its tokens were revoked, no theft to report
        if two_factor.must_enrol(session, user):
            raise TwoFactorSetupRequired()  # the requirement came after the login: no new tokens until set up
        reused = stored.used_at is not None or stored.revoked_at is not None
        if reused:
            _revoke_family(session, family_id=stored.family_id, now=now)
            record_audit(
                session,
                action="user.refresh_token_reused",
                object_type="user",
                object_id=stored.user_id,
                now=now,
                data={"family_id": str(stored.family_id)},
            )
        else:
            stored.used_at = now
            session.add(stored)
            session.exec(update(ApiSession).where(col(ApiSession.id) == stored.family_id).values(last_seen_at=now))
            pair = _issue_token_pair(session, user=user, family_id=stored.family_id, now=now)
    if reused:
        raise TokenReused()  # after the commit: the family stays revoked
    return pair


def _revoke_family(session: Session, *, family_id: uuid.UUID, now: datetime) -> None:
    """End an API session: its refresh tokens and (through the `sid` claim) its access tokens."""
    session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    session.exec(
        update(ApiSession)
        .where(col(ApiSession.id) == family_id, col(ApiSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )


def revoke_all_user_sessions(session: Session, *, user_id: uuid.UUID, now: datetime, keep_web_token: str = "") -> None:
    """Every browser session (but the one kept), refresh token and API session of a user; the caller commits."""
    keep_hash = hash_token(keep_web_token) if keep_web_token else ""
    session.exec(
        update(WebSession)
        .where(
            col(WebSession.user_id) == user_id,
            col(WebSession.revoked_at).is_(None),
            col(WebSession.token_hash) != keep_hash,
        )
        .values(revoked_at=now)
    )
    session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.user_id) == user_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    session.exec(
        update(ApiSession)
        .where(col(ApiSession.user_id) == user_id, col(ApiSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )


def log_out_api(session: Session, *, refresh_token: str, now: datetime) -> None:
    """End the refresh token's API session: its refresh tokens and its access tokens, at once."""
    with transaction(session):
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


def user_for_access_token(session: Session, *, token: str, now: datetime) -> User:
    """The user behind a live access token. One query: the user joined to the token's API session
    by primary keys, so a logged-out, revoked or disabled session answers 401 at once."""
    if not token:
        raise NotAuthenticated()
    claims = decode_access_token(token, secret=get_secret_key(), now=now)
    user_id, session_id = parse_id(claims.get("sub")), parse_id(claims.get("sid"))
    if user_id is None or session_id is None:
        raise InvalidToken()
    row = session.exec(
        select(User, ApiSession.revoked_at)
        .join(ApiSession, col(ApiSession.user_id) == User.id)
        .where(ApiSession.id == session_id, User.id == user_id)
    ).first()
    if row is None:
        raise InvalidToken()
    user, session_revoked_at = row
    # A password change invalidates every access token issued before it.
    if (
        session_revoked_at is not None
        or not user.is_active
        or claims.get("pwd") != int(user.password_changed_at.timestamp())
    ):
        raise InvalidToken()
    return user


def access_token_session_id(token: str) -> uuid.UUID | None:
    """The API session an access token belongs to (already verified by `user_for_access_token`)."""
    try:
        return parse_id(jwt.decode(token, options={"verify_signature": False}).get("sid"))
    except jwt.PyJWTError:
        return None


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
    with transaction(session):
        user = session.get(User, user_id)
        if user is None:
            raise NotAuthenticated()
        if not verify_password(current_password, user.password_hash):
            raise InvalidCredentials()
        check_password_strength(new_password, email=user.email)
        user.password_hash = hash_password(new_password)
        user.password_changed_at = now
        session.add(user)
        revoke_all_user_sessions(session, user_id=user.id, now=now, keep_web_token=keep_web_session_token)
        record_audit(
            session,
            action="user.password_changed",
            object_type="user",
            object_id=user.id,
            now=now,
            actor_user_id=user.id,
        )


def set_user_locale(session: Session, *, user_id: uuid.UUID, locale: str) -> None:
    with transaction(session):
        user = session.get(User, user_id)
        if user is None or locale not in SUPPORTED_LOCALES:
            return
        user.locale = locale
        session.add(user)


PASSWORD_RESET_LIFETIME = timedelta(hours=1)
PASSWORD_RESET_COOLDOWN = timedelta(minutes=1)


def request_password_reset(session: Session, *, email: str, now: datetime) -> None:
    """Email a one-time reset link to the account, if there is one. The caller always answers the
    same way, so this reveals nothing about which addresses have accounts."""
    with transaction(session):
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
            session,
            topic="password.reset_requested",
            payload={"user_id": str(user.id), "reset_url": reset_url},
            now=now,
        )
        record_audit(session, action="user.password_reset_requested", object_type="user", object_id=user.id, now=now)


def reset_password(session: Session, *, token: str, new_password: str, now: datetime) -> User:
    """Set a new password with a reset link; the link works once, and every session ends."""
    with transaction(session):
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
        revoke_all_user_sessions(session, user_id=user.id, now=now)
        throttle = session.get(LoginThrottle, user.email)
        if throttle is not None:
            session.delete(throttle)  # the owner proved control of the mailbox: unlock
        record_audit(
            session, action="user.password_reset", object_type="user", object_id=user.id, now=now, actor_user_id=user.id
        )
        return user
