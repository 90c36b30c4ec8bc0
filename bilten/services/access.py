"""The one guard: who may do what. Pages, state handlers, API routes and services all ask `authorize`.

Platform admins may do everything. Organizers act on their organizations' events through a team
membership whose role decides how far they go:

| permission            | owner | manager | viewer | staff                      |
|-----------------------|-------|---------|--------|----------------------------|
| ORGANIZATION_TEAM     | yes   |         |        |                            |
| ORGANIZATION_MANAGE   | yes   | yes     |        |                            |
| ORGANIZATION_VIEW     | yes   | yes     | yes    |                            |
| EVENT_MANAGE          | yes   | yes     |        |                            |
| EVENT_VIEW            | yes   | yes     | yes    |                            |
| EVENT_SCAN            | yes   | yes     |        | events they are assigned to |

Anyone assigned to scan at an event (StaffAssignment) may scan there, member or not. Every
signed-in user manages their own account. Users with the platform role "organizer" reach the
organizer area even before they belong to an organization, so they can create one.

Acting in public (founding an organization, publishing an event) also needs a confirmed email
address: `require_verified` (see `services/verification.py`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import and_, bindparam
from sqlmodel import Session, select

from bilten.models import Event, Membership, Role, StaffAssignment, TeamRole, User
from bilten.services.errors import EmailNotVerified, Forbidden, NotAuthenticated, NotFound


class Permission(StrEnum):
    ACCOUNT = "account"  # any signed-in user, on their own account and orders
    ADMIN = "platform.admin"  # users, roles, the whole platform
    ORGANIZER_AREA = "organizer.area"  # the organizer workspace (create or work for an organization)
    ORGANIZATION_TEAM = "organization.team"  # invite members, change their roles, remove them
    ORGANIZATION_MANAGE = "organization.manage"  # create events in an organization
    ORGANIZATION_VIEW = "organization.view"  # the organization's dashboard and reports
    EVENT_MANAGE = "event.manage"  # one event: edit it, its ticket types, orders, refunds, staff
    EVENT_VIEW = "event.view"  # one event's dashboard, orders and attendee lists, exports (read-only)
    EVENT_SCAN = "event.scan"  # check tickets in at one event's doors


_ROLES_ALLOWED: dict[Permission, frozenset[TeamRole]] = {
    Permission.ORGANIZATION_TEAM: frozenset({TeamRole.OWNER}),
    Permission.ORGANIZATION_MANAGE: frozenset({TeamRole.OWNER, TeamRole.MANAGER}),
    Permission.ORGANIZATION_VIEW: frozenset({TeamRole.OWNER, TeamRole.MANAGER, TeamRole.VIEWER}),
    Permission.EVENT_MANAGE: frozenset({TeamRole.OWNER, TeamRole.MANAGER}),
    Permission.EVENT_VIEW: frozenset({TeamRole.OWNER, TeamRole.MANAGER, TeamRole.VIEWER}),
    Permission.EVENT_SCAN: frozenset({TeamRole.OWNER, TeamRole.MANAGER}),
}
_EVENT_PERMISSIONS = frozenset({Permission.EVENT_MANAGE, Permission.EVENT_VIEW, Permission.EVENT_SCAN})
_ORGANIZATION_PERMISSIONS = frozenset(
    {Permission.ORGANIZATION_TEAM, Permission.ORGANIZATION_MANAGE, Permission.ORGANIZATION_VIEW}
)


def authorize(
    session: Session,
    user: User | None,
    permission: Permission,
    *,
    organization_id: uuid.UUID | None = None,
    event_id: uuid.UUID | None = None,
) -> User:
    """Return the user when allowed; raise NotAuthenticated (nobody signed in), NotFound (no such
    event) or Forbidden."""
    if user is None or not user.is_active:
        raise NotAuthenticated()
    event = None
    if permission in _EVENT_PERMISSIONS:
        event = session.get(Event, event_id) if event_id else None
        if event is None:
            raise NotFound()  # for admins too: an unknown event is unknown to everyone
    if user.role == Role.ADMIN or permission == Permission.ACCOUNT:
        return user
    if permission == Permission.ADMIN:
        raise Forbidden()
    if permission == Permission.ORGANIZER_AREA:
        if user.role == Role.ORGANIZER or any(role != TeamRole.STAFF for role in team_roles(session, user.id).values()):
            return user
        raise Forbidden()
    if permission in _ORGANIZATION_PERMISSIONS:
        role = team_roles(session, user.id).get(organization_id) if organization_id else None
        if role in _ROLES_ALLOWED[permission]:
            return user
        raise Forbidden()
    assert event is not None
    if team_roles(session, user.id).get(event.organization_id) in _ROLES_ALLOWED[permission]:
        return user
    if permission == Permission.EVENT_SCAN and _is_assigned_staff(session, user.id, event.id):
        return user
    raise Forbidden()


@dataclass(frozen=True)
class ScanAccess:
    user: User
    event: Event
    assigned_gate: str | None  # staff assigned to one gate scan there, whatever their device says


_SCAN_ACCESS = (
    select(Event, Membership.team_role, StaffAssignment.id, StaffAssignment.gate)
    .outerjoin(
        Membership,
        and_(Membership.organization_id == Event.organization_id, Membership.user_id == bindparam("user_id")),
    )
    .outerjoin(
        StaffAssignment,
        and_(StaffAssignment.event_id == Event.id, StaffAssignment.user_id == bindparam("user_id")),
    )
    .where(Event.id == bindparam("event_id"))
)


def authorize_scan(session: Session, user: User | None, event_id: uuid.UUID) -> ScanAccess:
    """`authorize(..., EVENT_SCAN)` for the door's hot path: the same rule, in one query that also
    brings the event and the user's assigned gate (every scan pays for this, so one round trip)."""
    if user is None or not user.is_active:
        raise NotAuthenticated()
    row = session.execute(_SCAN_ACCESS, {"user_id": user.id, "event_id": event_id}).first()
    if row is None:
        raise NotFound()
    event, team_role, assignment_id, gate = row
    allowed = user.role == Role.ADMIN or team_role in _ROLES_ALLOWED[Permission.EVENT_SCAN] or assignment_id is not None
    if not allowed:
        raise Forbidden()
    return ScanAccess(user=user, event=event, assigned_gate=gate if assignment_id is not None else None)


def is_allowed(session: Session, user: User | None, permission: Permission, **scope: uuid.UUID | None) -> bool:
    try:
        authorize(session, user, permission, **scope)
    except (NotAuthenticated, Forbidden, NotFound):
        return False
    return True


def team_roles(session: Session, user_id: uuid.UUID) -> dict[uuid.UUID, TeamRole]:
    """The user's role in each organization they belong to."""
    rows = session.exec(select(Membership.organization_id, Membership.team_role).where(Membership.user_id == user_id))
    return dict(rows.all())


def _is_assigned_staff(session: Session, user_id: uuid.UUID, event_id: uuid.UUID) -> bool:
    query = select(StaffAssignment.id).where(StaffAssignment.user_id == user_id, StaffAssignment.event_id == event_id)
    return session.exec(query).first() is not None


def organization_ids_of(
    session: Session, user: User, permission: Permission = Permission.ORGANIZATION_VIEW
) -> set[uuid.UUID]:
    """The organizations in which this user holds `permission` (admins hold it everywhere: callers
    check for admins themselves and do not filter)."""
    allowed = _ROLES_ALLOWED[permission]
    return {org_id for org_id, role in team_roles(session, user.id).items() if role in allowed}


def require_verified(user: User) -> None:
    """Refuse an account whose email address is not confirmed yet."""
    if user.email_verified_at is None:
        raise EmailNotVerified()


class Workplace(StrEnum):
    """Where a person works, so signing in lands them there (the UI maps it to a page)."""

    ADMIN = "admin"  # the platform's admin area
    ORGANIZER = "organizer"  # their organizations' events
    DOOR = "door"  # the scanner, for an event they are assigned to that has not ended
    TICKETS = "tickets"  # a buyer: their tickets


def workplace_of(session: Session, user: User, *, now: datetime) -> Workplace:
    """Admins administer; organizers (by platform role or team membership) organize; staff still
    assigned to an event that has not ended scan; everyone else bought tickets."""
    if user.role == Role.ADMIN:
        return Workplace.ADMIN
    if user.role == Role.ORGANIZER or team_roles(session, user.id):
        return Workplace.ORGANIZER
    upcoming_assignment = (
        select(StaffAssignment.id)
        .join(Event, Event.id == StaffAssignment.event_id)
        .where(StaffAssignment.user_id == user.id, Event.ends_at >= now)
    )
    if session.exec(upcoming_assignment).first() is not None:
        return Workplace.DOOR
    return Workplace.TICKETS
