"""Organizations and their teams: creating an organization, inviting members by email with a role,
accepting invitations, changing roles and removing members.

Rules: only owners manage the team (Permission.ORGANIZATION_TEAM); an organization always keeps at
least one owner; an address is invited at most once at a time and never when it already belongs to
the team; staff are invited for chosen events of the organization and get those events' door
assignments when they accept. Invitation links carry a random token of which only the SHA-256 hash
is stored; they work once, for the invited address only, for seven days.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from bilten import routes
from bilten.ids import parse_id
from bilten.models import Event, Invitation, Membership, Organization, Role, StaffAssignment, TeamRole, User
from bilten.services.access import Permission, authorize, require_verified
from bilten.services.audit import emit_event, record_audit
from bilten.services.errors import (
    AlreadyInvited,
    AlreadyMember,
    InvitationExpired,
    InvitationInvalid,
    InvitationRevoked,
    InvitationUsed,
    InvitationWrongAccount,
    LastOwner,
    NotFound,
    ValidationFailed,
)
from bilten.services.security import hash_token, new_opaque_token
from bilten.services.transaction import transaction
from bilten.services.validation import clean_email, clean_name
from bilten.settings import get_settings

INVITATION_LIFETIME = timedelta(days=7)
ORGANIZATION_NAME_MAX_LENGTH = 200
SLUG_MAX_LENGTH = 80  # the column holds 100: room for a "-123" suffix
INVITATION_TOPIC = "team.member_invited"


# ---------------------------------------------------------------------------------------------
# Public shapes


class OrganizationRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    name: str
    slug: str
    role: TeamRole | None  # the caller's role in it (None: an admin who is not a member)


class MemberRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: uuid.UUID
    email: str
    full_name: str
    role: TeamRole
    joined_at: datetime
    events: tuple[str, ...]  # titles of the organization's events they scan at (staff)


class InvitationRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    email: str
    role: TeamRole
    event_ids: tuple[uuid.UUID, ...]
    created_at: datetime
    expires_at: datetime
    expired: bool


class EventChoice(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    title: str
    starts_at: datetime
    timezone: str


class TeamOverview(BaseModel):
    model_config = ConfigDict(frozen=True)

    organization: OrganizationRow
    members: list[MemberRow]
    invitations: list[InvitationRow]
    events: list[EventChoice]


class InvitationPreview(BaseModel):
    """What an invitation link shows before it is accepted (to whoever holds the link)."""

    model_config = ConfigDict(frozen=True)

    organization_name: str
    email: str
    role: TeamRole
    status: str  # pending, expired, revoked, used


# ---------------------------------------------------------------------------------------------
# Organizations


def slugify(name: str) -> str:
    """A URL-friendly form of a name: ASCII letters, digits and dashes ("" when nothing is left)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:SLUG_MAX_LENGTH].strip("-")


def _unique_slug(session: Session, name: str) -> str:
    base = slugify(name) or "organization"
    taken = set(session.exec(select(Organization.slug).where(col(Organization.slug).startswith(base))).all())
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def clean_organization_name(name: str) -> str:
    cleaned = clean_name(name, max_length=ORGANIZATION_NAME_MAX_LENGTH)
    if not cleaned:
        raise ValidationFailed("error.organization_name_required")
    return cleaned


def add_owned_organization(session: Session, *, owner: User, name: str, now: datetime) -> Organization:
    """A new organization with `owner` as its first owner, inside the caller's transaction (never
    commits): used by `create_organization` and by registering as an organizer."""
    organization = Organization(name=clean_organization_name(name), slug=_unique_slug(session, name), created_at=now)
    session.add(organization)
    session.flush()
    session.add(Membership(organization_id=organization.id, user_id=owner.id, team_role=TeamRole.OWNER, created_at=now))
    if owner.role == Role.ATTENDEE:
        owner.role = Role.ORGANIZER  # the organizer area is theirs now
        session.add(owner)
    record_audit(
        session,
        action="organization.created",
        object_type="organization",
        object_id=organization.id,
        now=now,
        actor_user_id=owner.id,
        organization_id=organization.id,
        data={"name": organization.name, "slug": organization.slug},
    )
    return organization


def create_organization(session: Session, *, actor: User | None, name: str, now: datetime) -> OrganizationRow:
    """Any signed-in user with a confirmed email address may found an organization; they become its owner."""
    try:
        with transaction(session):
            user = authorize(session, actor, Permission.ACCOUNT)
            require_verified(user)
            organization = add_owned_organization(session, owner=user, name=name, now=now)
    except IntegrityError:
        # Someone took the same slug a moment ago: the next attempt finds the next free one.
        with transaction(session):
            organization = add_owned_organization(session, owner=user, name=name, now=now)
    return OrganizationRow(id=organization.id, name=organization.name, slug=organization.slug, role=TeamRole.OWNER)


def list_organizations(session: Session, *, actor: User | None) -> list[OrganizationRow]:
    """The organizations the caller belongs to, with their role in each, by name."""
    user = authorize(session, actor, Permission.ACCOUNT)
    rows = session.exec(
        select(Organization, Membership.team_role)
        .join(Membership, col(Membership.organization_id) == Organization.id)
        .where(Membership.user_id == user.id)
        .order_by(Organization.name)
    ).all()
    return [OrganizationRow(id=org.id, name=org.name, slug=org.slug, role=TeamRole(role)) for org, role in rows]


def _organization(session: Session, organization_id: uuid.UUID) -> Organization:
    organization = session.get(Organization, organization_id)
    if organization is None:
        raise NotFound()  # reached by admins only: authorize refuses non-members first
    return organization


def _role_of(session: Session, organization_id: uuid.UUID, user_id: uuid.UUID) -> TeamRole | None:
    role = session.exec(
        select(Membership.team_role).where(Membership.organization_id == organization_id, Membership.user_id == user_id)
    ).first()
    return TeamRole(role) if role is not None else None


# ---------------------------------------------------------------------------------------------
# Reading the team


def list_members(session: Session, *, actor: User | None, organization_id: uuid.UUID) -> list[MemberRow]:
    """The team, owners first. Every member but staff may see it (read-only for managers, viewers)."""
    authorize(session, actor, Permission.ORGANIZATION_VIEW, organization_id=organization_id)
    _organization(session, organization_id)
    return _members(session, organization_id)


def list_invitations(
    session: Session, *, actor: User | None, organization_id: uuid.UUID, now: datetime
) -> list[InvitationRow]:
    """Invitations neither accepted nor revoked (expired ones included, marked), newest first."""
    authorize(session, actor, Permission.ORGANIZATION_TEAM, organization_id=organization_id)
    _organization(session, organization_id)
    return _open_invitations(session, organization_id, now)


def team_overview(session: Session, *, actor: User | None, organization_id: uuid.UUID, now: datetime) -> TeamOverview:
    """Everything the team page shows its owner: members, open invitations, the events staff can get."""
    user = authorize(session, actor, Permission.ORGANIZATION_TEAM, organization_id=organization_id)
    organization = _organization(session, organization_id)
    events = session.exec(
        select(Event).where(Event.organization_id == organization_id).order_by(col(Event.starts_at).desc())
    ).all()
    return TeamOverview(
        organization=OrganizationRow(
            id=organization.id,
            name=organization.name,
            slug=organization.slug,
            role=_role_of(session, organization_id, user.id),
        ),
        members=_members(session, organization_id),
        invitations=_open_invitations(session, organization_id, now),
        events=[EventChoice(id=e.id, title=e.title, starts_at=e.starts_at, timezone=e.timezone) for e in events],
    )


_ROLE_ORDER = {TeamRole.OWNER: 0, TeamRole.MANAGER: 1, TeamRole.VIEWER: 2, TeamRole.STAFF: 3}


def _members(session: Session, organization_id: uuid.UUID) -> list[MemberRow]:
    rows = session.exec(
        select(Membership, User)
        .join(User, col(User.id) == Membership.user_id)
        .where(Membership.organization_id == organization_id)
    ).all()
    scans: dict[uuid.UUID, list[str]] = {}
    for user_id, title in session.exec(
        select(StaffAssignment.user_id, Event.title)
        .join(Event, col(Event.id) == StaffAssignment.event_id)
        .where(Event.organization_id == organization_id)
        .order_by(col(Event.starts_at))
    ).all():
        scans.setdefault(user_id, []).append(title)
    members = [
        MemberRow(
            user_id=user.id,
            email=user.email,
            full_name=user.full_name,
            role=membership.team_role,
            joined_at=membership.created_at,
            events=tuple(scans.get(user.id, ())) if membership.team_role == TeamRole.STAFF else (),
        )
        for membership, user in rows
    ]
    return sorted(members, key=lambda m: (_ROLE_ORDER[m.role], m.email))


def _open_invitations(session: Session, organization_id: uuid.UUID, now: datetime) -> list[InvitationRow]:
    invitations = session.exec(
        select(Invitation)
        .where(
            Invitation.organization_id == organization_id,
            col(Invitation.accepted_at).is_(None),
            col(Invitation.revoked_at).is_(None),
        )
        .order_by(col(Invitation.created_at).desc(), Invitation.email)
    ).all()
    return [_invitation_row(invitation, now) for invitation in invitations]


def _invitation_row(invitation: Invitation, now: datetime) -> InvitationRow:
    return InvitationRow(
        id=invitation.id,
        email=invitation.email,
        role=invitation.team_role,
        event_ids=tuple(uuid.UUID(value) for value in invitation.event_ids),
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
        expired=invitation.expires_at <= now,
    )


# ---------------------------------------------------------------------------------------------
# Inviting and joining


def _parse_role(role: str | TeamRole) -> TeamRole:
    try:
        return TeamRole(str(role))
    except ValueError:
        raise ValidationFailed("error.team_role_invalid") from None


def _organization_event_ids(
    session: Session, organization_id: uuid.UUID, event_ids: Iterable[uuid.UUID | str]
) -> list[uuid.UUID]:
    """The given events, each checked to belong to the organization (in the given order, once each)."""
    wanted: list[uuid.UUID] = []
    for value in event_ids:
        event_id = parse_id(value)
        if event_id is None:
            raise ValidationFailed("error.team_event_not_in_organization")
        if event_id not in wanted:
            wanted.append(event_id)
    if not wanted:
        return []
    found = set(
        session.exec(select(Event.id).where(col(Event.id).in_(wanted), Event.organization_id == organization_id)).all()
    )
    if found != set(wanted):
        raise ValidationFailed("error.team_event_not_in_organization")
    return wanted


def invite_member(
    session: Session,
    *,
    actor: User | None,
    organization_id: uuid.UUID,
    email: str,
    role: str | TeamRole,
    event_ids: Iterable[uuid.UUID | str] = (),
    now: datetime,
) -> InvitationRow:
    """Invite an address to the team with a role (staff: for chosen events of the organization).
    The invitation email with its one-time link goes out through the outbox, in this transaction."""
    with transaction(session):
        owner = authorize(session, actor, Permission.ORGANIZATION_TEAM, organization_id=organization_id)
        organization = _organization(session, organization_id)
        email = clean_email(email)
        team_role = _parse_role(role)
        events = _organization_event_ids(session, organization_id, event_ids)
        if team_role == TeamRole.STAFF and not events:
            raise ValidationFailed("error.team_staff_needs_events")
        if team_role != TeamRole.STAFF:
            events = []  # other roles reach every event of the organization
        invitee = session.exec(select(User).where(User.email == email)).first()
        if invitee is not None and _role_of(session, organization_id, invitee.id) is not None:
            raise AlreadyMember()
        pending = session.exec(
            select(Invitation).where(
                Invitation.organization_id == organization_id,
                Invitation.email == email,
                col(Invitation.accepted_at).is_(None),
                col(Invitation.revoked_at).is_(None),
            )
        ).first()
        if pending is not None:
            if pending.expires_at > now:
                raise AlreadyInvited()
            pending.revoked_at = now  # an expired invitation makes way for the new one
            session.add(pending)
            session.flush()

        token = new_opaque_token()
        invitation = Invitation(
            organization_id=organization_id,
            email=email,
            team_role=team_role,
            event_ids=[str(event_id) for event_id in events],
            token_hash=hash_token(token),
            invited_by_user_id=owner.id,
            created_at=now,
            expires_at=now + INVITATION_LIFETIME,
        )
        session.add(invitation)
        try:
            session.flush()
        except IntegrityError:  # the same address was invited at the same moment (one pending per address)
            raise AlreadyInvited() from None
        record_audit(
            session,
            action="team.member_invited",
            object_type="organization",
            object_id=organization_id,
            now=now,
            actor_user_id=owner.id,
            organization_id=organization_id,
            data={
                "invitation_id": str(invitation.id),
                "email": email,
                "role": team_role.value,
                "event_ids": invitation.event_ids,
            },
        )
        accept_url = get_settings().public_url.rstrip("/") + routes.join_url(token)
        emit_event(
            session,
            topic=INVITATION_TOPIC,
            payload={
                "invitation_id": str(invitation.id),
                "accept_url": accept_url,
                # The invitee's language when they have an account, else the inviting owner's.
                "locale": (invitee or owner).locale,
                "organization": organization.name,
            },
            now=now,
        )
        return _invitation_row(invitation, now)


def _invitation_by_token(session: Session, token: str, *, lock: bool = False) -> Invitation:
    token = (token or "").strip()
    if not token or len(token) > 200:
        raise InvitationInvalid()
    query = select(Invitation).where(Invitation.token_hash == hash_token(token))
    invitation = session.exec(query.with_for_update() if lock else query).first()
    if invitation is None:
        raise InvitationInvalid()
    return invitation


def _status(invitation: Invitation, now: datetime) -> str:
    if invitation.accepted_at is not None:
        return "used"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= now:
        return "expired"
    return "pending"


def invitation_preview(session: Session, *, token: str, now: datetime) -> InvitationPreview:
    """The organization, address and role an invitation link is for (the link is the proof)."""
    invitation = _invitation_by_token(session, token)
    organization = _organization(session, invitation.organization_id)
    return InvitationPreview(
        organization_name=organization.name,
        email=invitation.email,
        role=invitation.team_role,
        status=_status(invitation, now),
    )


_STATUS_ERRORS = {"used": InvitationUsed, "revoked": InvitationRevoked, "expired": InvitationExpired}


def accept_invitation(session: Session, *, actor: User | None, token: str, now: datetime) -> OrganizationRow:
    """Join the team: the signed-in account must be the invited address. Staff also get the door
    assignments of the invitation's events (those still in the organization). The link came by
    email to that address, so following it also confirms the address."""
    try:
        with transaction(session):
            user = authorize(session, actor, Permission.ACCOUNT)
            invitation = _invitation_by_token(session, token, lock=True)
            status = _status(invitation, now)
            if status in _STATUS_ERRORS:
                raise _STATUS_ERRORS[status]()
            if user.email != invitation.email:
                raise InvitationWrongAccount()
            organization = _organization(session, invitation.organization_id)
            if _role_of(session, organization.id, user.id) is not None:
                raise AlreadyMember()
            session.add(
                Membership(
                    organization_id=organization.id, user_id=user.id, team_role=invitation.team_role, created_at=now
                )
            )
            assigned = []
            if invitation.team_role == TeamRole.STAFF:
                still_ours = set(
                    session.exec(
                        select(Event.id).where(
                            Event.organization_id == organization.id,
                            col(Event.id).in_([uuid.UUID(value) for value in invitation.event_ids]),
                        )
                    ).all()
                )
                already = set(
                    session.exec(
                        select(StaffAssignment.event_id).where(
                            StaffAssignment.user_id == user.id, col(StaffAssignment.event_id).in_(still_ours)
                        )
                    ).all()
                )
                for event_id in sorted(still_ours - already):
                    session.add(StaffAssignment(event_id=event_id, user_id=user.id, created_at=now))
                    assigned.append(str(event_id))
            invitation.accepted_at = now
            session.add(invitation)
            if user.email_verified_at is None:
                user.email_verified_at = now
                session.add(user)
            record_audit(
                session,
                action="team.invitation_accepted",
                object_type="organization",
                object_id=organization.id,
                now=now,
                actor_user_id=user.id,
                organization_id=organization.id,
                data={"invitation_id": str(invitation.id), "role": invitation.team_role.value, "event_ids": assigned},
            )
    except IntegrityError:  # accepted twice at once: the first one won
        raise AlreadyMember() from None
    return OrganizationRow(
        id=organization.id, name=organization.name, slug=organization.slug, role=invitation.team_role
    )


def revoke_invitation(
    session: Session, *, actor: User | None, organization_id: uuid.UUID, invitation_id: uuid.UUID, now: datetime
) -> None:
    with transaction(session):
        owner = authorize(session, actor, Permission.ORGANIZATION_TEAM, organization_id=organization_id)
        invitation = session.get(Invitation, invitation_id, with_for_update=True)
        if invitation is None or invitation.organization_id != organization_id:
            raise NotFound()
        if invitation.accepted_at is not None:
            raise InvitationUsed()
        if invitation.revoked_at is not None:
            raise InvitationRevoked()
        invitation.revoked_at = now
        session.add(invitation)
        record_audit(
            session,
            action="team.invitation_revoked",
            object_type="organization",
            object_id=organization_id,
            now=now,
            actor_user_id=owner.id,
            organization_id=organization_id,
            data={"invitation_id": str(invitation.id), "email": invitation.email},
        )


# ---------------------------------------------------------------------------------------------
# Changing the team


def _membership_for_update(session: Session, organization_id: uuid.UUID, user_id: uuid.UUID) -> Membership:
    membership = session.exec(
        select(Membership)
        .where(Membership.organization_id == organization_id, Membership.user_id == user_id)
        .with_for_update()
    ).first()
    if membership is None:
        raise NotFound()
    return membership


def _check_not_last_owner(session: Session, membership: Membership) -> None:
    """Refuse when `membership` is the organization's only owner. The owners' rows are locked so two
    owners demoting each other at the same moment cannot leave the organization without one."""
    if membership.team_role != TeamRole.OWNER:
        return
    owners = session.exec(
        select(Membership.id)
        .where(Membership.organization_id == membership.organization_id, Membership.team_role == TeamRole.OWNER)
        .with_for_update()
    ).all()
    if len(owners) <= 1:
        raise LastOwner()


def _organization_assignments(organization_id: uuid.UUID, user_id: uuid.UUID):  # noqa: ANN202 (a DELETE)
    of_organization = select(Event.id).where(Event.organization_id == organization_id)
    return delete(StaffAssignment).where(
        col(StaffAssignment.user_id) == user_id, col(StaffAssignment.event_id).in_(of_organization)
    )


def change_role(
    session: Session,
    *,
    actor: User | None,
    organization_id: uuid.UUID,
    user_id: uuid.UUID,
    role: str | TeamRole,
    event_ids: Iterable[uuid.UUID | str] | None = None,
    now: datetime,
) -> MemberRow:
    """Give a member another role. Staff scan at chosen events: `event_ids` replaces their events
    (needed unless they already have some). Leaving the staff role ends their door assignments here."""
    with transaction(session):
        owner = authorize(session, actor, Permission.ORGANIZATION_TEAM, organization_id=organization_id)
        new_role = _parse_role(role)
        events = _organization_event_ids(session, organization_id, event_ids or ())
        membership = _membership_for_update(session, organization_id, user_id)
        old_role = membership.team_role
        if old_role == TeamRole.OWNER and new_role != TeamRole.OWNER:
            _check_not_last_owner(session, membership)
        if new_role == TeamRole.STAFF:
            if events:
                session.exec(_organization_assignments(organization_id, user_id))
                session.add_all(StaffAssignment(event_id=e, user_id=user_id, created_at=now) for e in events)
            elif not session.exec(_assignment_count(organization_id, user_id)).one():
                raise ValidationFailed("error.team_staff_needs_events")
        elif old_role == TeamRole.STAFF:
            session.exec(_organization_assignments(organization_id, user_id))
        membership.team_role = new_role
        session.add(membership)
        record_audit(
            session,
            action="team.role_changed",
            object_type="organization",
            object_id=organization_id,
            now=now,
            actor_user_id=owner.id,
            organization_id=organization_id,
            data={
                "user_id": str(user_id),
                "from": old_role.value,
                "to": new_role.value,
                "event_ids": [str(e) for e in events],
            },
        )
        return next(m for m in _members(session, organization_id) if m.user_id == user_id)


def _assignment_count(organization_id: uuid.UUID, user_id: uuid.UUID):  # noqa: ANN202 (a SELECT)
    return (
        select(func.count(col(StaffAssignment.id)))
        .join(Event, col(Event.id) == StaffAssignment.event_id)
        .where(StaffAssignment.user_id == user_id, Event.organization_id == organization_id)
    )


def remove_member(
    session: Session, *, actor: User | None, organization_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> None:
    """Owners remove members; any member may leave. The last owner stays. The member's door
    assignments at the organization's events end with their membership."""
    with transaction(session):
        user = authorize(session, actor, Permission.ACCOUNT)
        if user.id != user_id:
            authorize(session, user, Permission.ORGANIZATION_TEAM, organization_id=organization_id)
        membership = _membership_for_update(session, organization_id, user_id)
        _check_not_last_owner(session, membership)
        session.delete(membership)
        session.exec(_organization_assignments(organization_id, user_id))
        record_audit(
            session,
            action="team.member_left" if user.id == user_id else "team.member_removed",
            object_type="organization",
            object_id=organization_id,
            now=now,
            actor_user_id=user.id,
            organization_id=organization_id,
            data={"user_id": str(user_id), "role": membership.team_role.value},
        )
