"""Platform administration of user accounts (admins only)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from bilten.models import Role, User, UserPublic
from bilten.services.access import Permission, authorize
from bilten.services.audit import record_audit
from bilten.services.errors import NotFound, ValidationFailed

MAX_LISTED_USERS = 200


def list_users(session: Session, *, actor: User | None, search: str = "") -> list[UserPublic]:
    authorize(session, actor, Permission.ADMIN)
    query = select(User).order_by(User.created_at.desc()).limit(MAX_LISTED_USERS)
    if search.strip():
        needle = search.strip().lower()
        query = query.where(
            func.lower(User.email).contains(needle, autoescape=True)
            | func.lower(User.full_name).contains(needle, autoescape=True)
        )
    return [UserPublic.of(user) for user in session.exec(query).all()]


def set_user_role(session: Session, *, actor: User | None, user_id: uuid.UUID, role: str, now: datetime) -> UserPublic:
    admin = authorize(session, actor, Permission.ADMIN)
    try:
        new_role = Role(role)
    except ValueError as exc:
        raise ValidationFailed("error.role_invalid") from exc
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    if user.id == admin.id and new_role != Role.ADMIN:
        raise ValidationFailed("error.cannot_demote_self")
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
        data={"from": old_role, "to": new_role},
    )
    session.commit()
    return UserPublic.of(user)
