"""The one guard: who may do what. Pages, state handlers and API routes all ask `authorize`.

Platform admins may do everything. Organizers act on their own organizations' events through a
team membership; staff scan at the events they are assigned to; every signed-in user manages
their own account.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlmodel import Session, select

from bilten.models import Event, Membership, Role, StaffAssignment, User
from bilten.services.errors import Forbidden, NotAuthenticated, NotFound


class Permission(StrEnum):
    ACCOUNT = "account"  # any signed-in user, on their own account and orders
    ADMIN = "platform.admin"  # users, roles, the whole platform
    ORGANIZER_AREA = "organizer.area"  # the organizer dashboard (some organization to work for)
    ORGANIZATION_MANAGE = "organization.manage"  # one organization and all of its events
    EVENT_MANAGE = "event.manage"  # one event: edit it, its orders, attendees, exports
    EVENT_SCAN = "event.scan"  # check tickets in at one event's doors


def authorize(
    session: Session,
    user: User | None,
    permission: Permission,
    *,
    organization_id: uuid.UUID | None = None,
    event_id: uuid.UUID | None = None,
) -> User:
    """Return the user when allowed; raise NotAuthenticated (nobody signed in) or Forbidden."""
    if user is None or not user.is_active:
        raise NotAuthenticated()
    event = None
    if permission in (Permission.EVENT_MANAGE, Permission.EVENT_SCAN):
        event = session.get(Event, event_id) if event_id else None
        if event is None:
            raise NotFound()  # for admins too: an unknown event is unknown to everyone
    if user.role == Role.ADMIN or permission == Permission.ACCOUNT:
        return user
    if permission == Permission.ORGANIZER_AREA:
        if _member_organization_ids(session, user.id):
            return user
    elif permission == Permission.ORGANIZATION_MANAGE:
        if organization_id is not None and organization_id in _member_organization_ids(session, user.id):
            return user
    elif event is not None:
        if event.organization_id in _member_organization_ids(session, user.id):
            return user
        if permission == Permission.EVENT_SCAN and _is_assigned_staff(session, user.id, event.id):
            return user
    raise Forbidden()


def is_allowed(session: Session, user: User | None, permission: Permission, **scope: uuid.UUID | None) -> bool:
    try:
        authorize(session, user, permission, **scope)
    except (NotAuthenticated, Forbidden, NotFound):
        return False
    return True


def _member_organization_ids(session: Session, user_id: uuid.UUID) -> set[uuid.UUID]:
    return set(session.exec(select(Membership.organization_id).where(Membership.user_id == user_id)).all())


def _is_assigned_staff(session: Session, user_id: uuid.UUID, event_id: uuid.UUID) -> bool:
    query = select(StaffAssignment.id).where(StaffAssignment.user_id == user_id, StaffAssignment.event_id == event_id)
    return session.exec(query).first() is not None


def organization_ids_of(session: Session, user: User) -> set[uuid.UUID]:
    """The organizations whose data this user may see (admins: pass None to mean all)."""
    return _member_organization_ids(session, user.id)
