"""Guessing passwords: a bounded number of checks per address, and the owner always has a way in.

The rule, per email address (known or not, so a lock reveals nothing):

- **Count first, check after.** Every login attempt first takes a number from the address's
  counter in one statement (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING` on PostgreSQL and
  SQLite alike) and commits it, then verifies the password (argon2, the slow part). Attempts
  numbered above `LOGIN_MAX_FAILURES` are refused without any password check, so however many
  guesses arrive at once, at most `LOGIN_MAX_FAILURES` passwords are checked per lock period.
  The attempt that takes the last number also starts the lock (`LOGIN_LOCK_MINUTES`); the first
  attempt after the lock ran out starts a fresh count. A correct password clears the counter.
- **The owner is told and can get in.** When guessing locks a real, active account, its owner is
  emailed a one-time unlock link (only its hash is stored), valid while the lock lasts; at most one
  such email per lock period. Following it lifts the lock. From then on, for
  `LOGIN_UNLOCK_PASS_MINUTES`, a login that carries the link's token skips the address's counter:
  the owner's correct password gets in even while an attacker keeps locking the address. The pass
  is bound to that account, ends with the first successful login, and allows
  `UNLOCK_PASS_TRIES` wrong passwords (a typo or two), so it is no back door for guessing: using
  it needs the owner's mailbox as well as their password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bilten.models import LoginThrottle, LoginUnlock, User
from bilten.models.base import UTCDateTime
from bilten.services.audit import emit_event, record_audit
from bilten.services.errors import InvalidToken
from bilten.services.security import hash_token, new_opaque_token
from bilten.services.transaction import transaction
from bilten.settings import get_settings

UNLOCK_PASS_TRIES = 3


@dataclass(frozen=True)
class Attempt:
    number: int  # this attempt's place in the current count
    allowed: bool  # may its password be checked?
    locks: bool  # does it take the last number (and so start the lock)?


def take_attempt(session: Session, *, email: str, now: datetime) -> Attempt:
    """Count one login attempt on `email` and commit it, before any password is checked."""
    with transaction(session):
        settings = get_settings()
        limit = settings.login_max_failures
        lock_end = literal(now + timedelta(minutes=settings.login_lock_minutes), UTCDateTime())
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        expired = and_(col(LoginThrottle.locked_until).is_not(None), col(LoginThrottle.locked_until) <= now)
        counted = col(LoginThrottle.failures) + 1
        first_lock = lock_end if limit <= 1 else literal(None, UTCDateTime())
        statement = (
            insert(LoginThrottle)
            .values(email=email, failures=1, last_failure_at=now, locked_until=first_lock)
            .on_conflict_do_update(
                index_elements=["email"],
                set_={
                    "failures": case((expired, 1), else_=counted),
                    "locked_until": case(
                        (expired, first_lock),
                        (and_(col(LoginThrottle.locked_until).is_(None), counted >= limit), lock_end),
                        else_=LoginThrottle.locked_until,
                    ),
                    "last_failure_at": now,
                },
            )
            .returning(col(LoginThrottle.failures))
        )
        number = session.execute(statement).scalar_one()
        return Attempt(number=number, allowed=number <= limit, locks=number == limit)


def clear_attempts(session: Session, *, email: str) -> None:
    """A correct password: the count starts again (committed by the caller's transaction)."""
    session.execute(delete(LoginThrottle).where(col(LoginThrottle.email) == email))


def send_unlock_link(session: Session, *, user: User | None, now: datetime) -> None:
    """Guessing has just locked `user`'s address: email its owner an unlock link, once per lock."""
    with transaction(session):
        if user is None or not user.is_active:
            return  # unknown or disabled addresses lock the same way, silently
        recent = session.exec(
            select(LoginUnlock.id).where(
                LoginUnlock.user_id == user.id, col(LoginUnlock.used_at).is_(None), LoginUnlock.expires_at > now
            )
        ).first()
        if recent is not None:
            return  # a link from this lock period still works: no mail bombing through failed logins
        token = new_opaque_token()
        lock_minutes = get_settings().login_lock_minutes
        session.add(
            LoginUnlock(
                user_id=user.id,
                token_hash=hash_token(token),
                created_at=now,
                expires_at=now + timedelta(minutes=lock_minutes),
            )
        )
        unlock_url = f"{get_settings().public_url.rstrip('/')}/login?unlock={token}"
        emit_event(
            session,
            topic="account.locked",
            payload={"user_id": str(user.id), "unlock_url": unlock_url, "minutes": lock_minutes},
            now=now,
        )
        record_audit(session, action="user.login_locked", object_type="user", object_id=user.id, now=now)


def _live_unlock(session: Session, token: str, now: datetime) -> LoginUnlock | None:
    if not token:
        return None
    return session.exec(
        select(LoginUnlock).where(
            LoginUnlock.token_hash == hash_token(token),
            col(LoginUnlock.used_at).is_(None),
            LoginUnlock.expires_at > now,
        )
    ).first()


def unlock_login(session: Session, *, token: str, now: datetime) -> str:
    """Follow an unlock link: lift the lock of its account's address and start the owner's pass.
    Returns the address (for the login form). An unknown, used or expired link: InvalidToken."""
    with transaction(session):
        unlock = _live_unlock(session, token, now)
        user = session.get(User, unlock.user_id) if unlock is not None else None
        if unlock is None or user is None or not user.is_active:
            raise InvalidToken()
        if unlock.opened_at is None:
            unlock.opened_at = now
            unlock.expires_at = now + timedelta(minutes=get_settings().login_unlock_pass_minutes)
            session.add(unlock)
            record_audit(
                session,
                action="user.login_unlocked",
                object_type="user",
                object_id=user.id,
                now=now,
                actor_user_id=user.id,
            )
        clear_attempts(session, email=user.email)
        return user.email


def take_unlock_pass(session: Session, *, token: str, email: str, now: datetime) -> LoginUnlock | None:
    """The followed unlock link of `email`'s account, one try of it taken and committed; None when
    the token is not such a link or its tries are spent (the login then counts as usual)."""
    with transaction(session):
        unlock = _live_unlock(session, token, now)
        if unlock is None or unlock.opened_at is None:
            return None
        user = session.get(User, unlock.user_id)
        if user is None or user.email != email:
            return None
        taken = session.execute(
            update(LoginUnlock)
            .where(
                col(LoginUnlock.id) == unlock.id,
                col(LoginUnlock.used_at).is_(None),
                col(LoginUnlock.failures) < UNLOCK_PASS_TRIES,
            )
            .values(failures=LoginUnlock.failures + 1)
            .returning(col(LoginUnlock.id))
        ).first()
        return unlock if taken is not None else None


def use_unlock_pass(session: Session, *, unlock: LoginUnlock, now: datetime) -> None:
    """The pass let the owner in: it is spent (committed by the caller's transaction)."""
    session.execute(update(LoginUnlock).where(col(LoginUnlock.id) == unlock.id).values(used_at=now))
