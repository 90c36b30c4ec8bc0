"""Platform administration of user accounts (admins only): find them, change their role, disable
and enable them, reset their two-factor sign-in. Every change is audited with the acting admin.

Two rules keep the platform administrable: nobody disables their own account, and no change may
leave the platform without an active admin (the admin rows are locked before they are counted, so
two admins demoting each other at the same moment cannot both succeed).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select, update

from bilten.models import ApiSession, RefreshToken, Role, ScanDevice, User, WebSession
from bilten.services import two_factor
from bilten.services.access import Permission, authorize
from bilten.services.accounts import revoke_all_user_sessions
from bilten.services.audit import emit_event, record_audit
from bilten.services.errors import Forbidden, NotFound, ValidationFailed
from bilten.services.transaction import transaction

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
MAX_SEARCH_LENGTH = 200


class AdminUser(BaseModel):
    """A user as the admin area shows them: never the password hash."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    email: str
    full_name: str
    role: Role
    locale: str
    is_active: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> AdminUser:
        return cls(
            id=user.id,
            email=user.email,
            full_name=user.full_name,
            role=user.role,
            locale=user.locale,
            is_active=user.is_active,
            created_at=user.created_at,
        )


class UserPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    items: list[AdminUser]
    total: int
    limit: int
    offset: int


def check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE_SIZE or offset < 0:
        raise ValidationFailed("error.page_invalid", max=MAX_PAGE_SIZE)


def search_needle(search: str) -> str:
    """The lower-cased search text; an over-long one is refused rather than silently cut."""
    needle = (search or "").strip().lower()
    if len(needle) > MAX_SEARCH_LENGTH:
        raise ValidationFailed("error.search_too_long", max=MAX_SEARCH_LENGTH)
    return needle


def parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError as exc:
        raise ValidationFailed("error.role_invalid") from exc


def search_users(
    session: Session,
    *,
    actor: User | None,
    search: str = "",
    role: str | None = None,
    active: bool | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> UserPage:
    """Users whose email or name contains `search`, optionally of one role and/or only active or
    only disabled ones, newest first, one page at a time."""
    authorize(session, actor, Permission.ADMIN)
    check_page(limit, offset)
    needle = search_needle(search)
    conditions: list[ColumnElement[bool]] = []
    if needle:
        conditions.append(
            func.lower(User.email).contains(needle, autoescape=True)
            | func.lower(User.full_name).contains(needle, autoescape=True)
        )
    if role:
        conditions.append(col(User.role) == parse_role(role))
    if active is not None:
        conditions.append(col(User.is_active) == active)
    total = session.exec(select(func.count()).select_from(User).where(*conditions)).one()
    rows = session.exec(
        select(User).where(*conditions).order_by(col(User.created_at).desc(), User.email).offset(offset).limit(limit)
    ).all()
    return UserPage(items=[AdminUser.of(user) for user in rows], total=total, limit=limit, offset=offset)


def set_user_role(session: Session, *, actor: User | None, user_id: uuid.UUID, role: str, now: datetime) -> AdminUser:
    with transaction(session):
        admin = authorize(session, actor, Permission.ADMIN)
        new_role = parse_role(role)
        active_admins = _lock_active_admins(session, acting=admin)
        user = _locked_user(session, user_id)
        if user.role == new_role:
            return AdminUser.of(user)
        if active_admins == {user.id}:
            raise ValidationFailed("error.last_admin_role")
        old_role = user.role
        user.role = new_role
        session.add(user)
        record_audit(
            session,
            action="user.role_changed",
            object_type="user",
            object_id=user.id,
            now=now,
            actor_user_id=admin.id,
            data={"email": user.email, "from": old_role, "to": new_role},
        )
        return AdminUser.of(user)


def disable_user(session: Session, *, actor: User | None, user_id: uuid.UUID, now: datetime) -> AdminUser:
    """Close an account: it can no longer log in, and every browser session, API refresh token and
    scanning device of it stops working at once (access tokens check the account on every call)."""
    with transaction(session):
        admin = authorize(session, actor, Permission.ADMIN)
        if user_id == admin.id:
            raise ValidationFailed("error.cannot_disable_self")
        active_admins = _lock_active_admins(session, acting=admin)
        user = _locked_user(session, user_id)
        if not user.is_active:
            return AdminUser.of(user)  # already disabled: nothing changes, nothing to audit
        if active_admins == {user.id}:
            raise ValidationFailed("error.last_admin_disable")
        user.is_active = False
        session.add(user)
        sessions_ended = session.exec(
            update(WebSession)
            .where(col(WebSession.user_id) == user.id, col(WebSession.revoked_at).is_(None))
            .values(revoked_at=now)
        ).rowcount
        tokens_revoked = session.exec(
            update(RefreshToken)
            .where(col(RefreshToken.user_id) == user.id, col(RefreshToken.revoked_at).is_(None))
            .values(revoked_at=now)
        ).rowcount
        session.exec(
            update(ApiSession)
            .where(col(ApiSession.user_id) == user.id, col(ApiSession.revoked_at).is_(None))
            .values(revoked_at=now)
        )
        devices_revoked = session.exec(
            update(ScanDevice)
            .where(col(ScanDevice.user_id) == user.id, col(ScanDevice.revoked_at).is_(None))
            .values(revoked_at=now)
        ).rowcount
        record_audit(
            session,
            action="user.disabled",
            object_type="user",
            object_id=user.id,
            now=now,
            actor_user_id=admin.id,
            data={
                "email": user.email,
                "web_sessions_ended": sessions_ended,
                "refresh_tokens_revoked": tokens_revoked,
                "scan_devices_revoked": devices_revoked,
            },
        )
        return AdminUser.of(user)


def enable_user(session: Session, *, actor: User | None, user_id: uuid.UUID, now: datetime) -> AdminUser:
    """Open a disabled account again. Its old sessions stay ended: the user logs in afresh."""
    with transaction(session):
        admin = authorize(session, actor, Permission.ADMIN)
        user = _locked_user(session, user_id)
        if user.is_active:
            return AdminUser.of(user)
        user.is_active = True
        session.add(user)
        record_audit(
            session,
            action="user.enabled",
            object_type="user",
            object_id=user.id,
            now=now,
            actor_user_id=admin.id,
            data={"email": user.email},
        )
        return AdminUser.of(user)


def _locked_user(session: Session, user_id: uuid.UUID) -> User:
    user = session.exec(select(User).where(User.id == user_id).with_for_update()).first()
    if user is None:
        raise NotFound()
    return user


def _lock_active_admins(session: Session, *, acting: User) -> set[uuid.UUID]:
    """The active admins' ids, their rows locked in id order before any other row, so concurrent
    role changes and disables are counted one after the other and never deadlock. An actor who
    lost the admin role while waiting for the lock is refused."""
    query = select(User.id).where(User.role == Role.ADMIN, col(User.is_active).is_(True)).order_by(col(User.id))
    admin_ids = set(session.exec(query.with_for_update()).all())
    if acting.id not in admin_ids:
        raise Forbidden()
    return admin_ids


def reset_two_factor(session: Session, *, actor: User | None, user_id: uuid.UUID, now: datetime) -> AdminUser:
    """For a user who lost their phone: remove their two-factor enrolment and recovery codes and
    sign them out everywhere (browsers, API tokens); they sign in with the password and enrol again
    (REQUIRE_2FA sends them to). Commits."""
    with transaction(session):
        admin = authorize(session, actor, Permission.ADMIN)
        if user_id == admin.id:
            # A stolen admin session must not strip the admin's own second factor: they turn it off
            # on their account page, with their password and a code.
            raise ValidationFailed("error.cannot_reset_own_two_factor")
        user = _locked_user(session, user_id)
        was_enrolled = two_factor.is_enrolled(session, user)
        two_factor.remove_enrolment(session, user_id=user.id)
        revoke_all_user_sessions(session, user_id=user.id, now=now)
        record_audit(
            session,
            action="user.two_factor_reset",
            object_type="user",
            object_id=user.id,
            now=now,
            actor_user_id=admin.id,
            data={"email": user.email, "was_enrolled": was_enrolled},
        )
        emit_event(session, topic="user.two_factor_off", payload={"user_id": str(user.id), "by_admin": True}, now=now)
        return AdminUser.of(user)
