"""Door staff: organizers assign accounts to their events (optionally to one gate)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict
from sqlalchemy import or_
from sqlmodel import Session, col, select

from bilten.models import Event, EventStatus, Membership, Role, StaffAssignment, User
from bilten.services.access import Permission, authorize
from bilten.services.audit import record_audit
from bilten.services.errors import NotFound, ValidationFailed
from bilten.services.transaction import transaction
from bilten.services.validation import clean_email, clean_name

RECENTLY_ENDED = timedelta(days=1)  # the scan list keeps an event for a day after it ends


class StaffRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    user_id: uuid.UUID
    email: str
    full_name: str
    gate: str


class ScannableEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    title: str
    starts_at: datetime
    timezone: str
    venue_name: str
    gate: str


def assign_staff(
    session: Session, *, actor: User | None, event_id: uuid.UUID, email: str, gate: str, now: datetime
) -> StaffRow:
    with transaction(session):
        organizer = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
        user = session.exec(select(User).where(User.email == clean_email(email))).first()
        if user is None:
            raise ValidationFailed("error.staff_unknown_user")
        gate = clean_name(gate, max_length=60)
        assignment = session.exec(
            select(StaffAssignment).where(StaffAssignment.event_id == event_id, StaffAssignment.user_id == user.id)
        ).first() or StaffAssignment(event_id=event_id, user_id=user.id, created_at=now)
        assignment.gate = gate
        session.add(assignment)
        record_audit(
            session,
            action="staff.assigned",
            object_type="event",
            object_id=event_id,
            now=now,
            actor_user_id=organizer.id,
            data={"user_id": str(user.id), "gate": gate},
        )
        return StaffRow(user_id=user.id, email=user.email, full_name=user.full_name, gate=gate)


def remove_staff(
    session: Session, *, actor: User | None, event_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> None:
    with transaction(session):
        organizer = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
        assignment = session.exec(
            select(StaffAssignment).where(StaffAssignment.event_id == event_id, StaffAssignment.user_id == user_id)
        ).first()
        if assignment is None:
            raise NotFound()
        session.delete(assignment)
        record_audit(
            session,
            action="staff.removed",
            object_type="event",
            object_id=event_id,
            now=now,
            actor_user_id=organizer.id,
            data={"user_id": str(user_id)},
        )


def list_staff(session: Session, *, actor: User | None, event_id: uuid.UUID) -> list[StaffRow]:
    authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
    rows = session.exec(
        select(StaffAssignment, User)
        .join(User, col(User.id) == StaffAssignment.user_id)
        .where(StaffAssignment.event_id == event_id)
        .order_by(User.email)
    ).all()
    return [StaffRow(user_id=u.id, email=u.email, full_name=u.full_name, gate=a.gate) for a, u in rows]


def scannable_events(session: Session, *, actor: User | None, now: datetime) -> list[ScannableEvent]:
    """Events this person may scan at that have not long ended: assigned ones for staff, their
    organizations' for organizers, all for admins."""
    user = authorize(session, actor, Permission.ACCOUNT)
    query = (
        select(Event, StaffAssignment.gate)
        .outerjoin(StaffAssignment, (col(StaffAssignment.event_id) == Event.id) & (StaffAssignment.user_id == user.id))
        .where(Event.status == EventStatus.PUBLISHED, Event.ends_at > now - RECENTLY_ENDED)
        .order_by(col(Event.starts_at))
    )
    if user.role != Role.ADMIN:
        member_of = select(Membership.organization_id).where(Membership.user_id == user.id)
        query = query.where(or_(col(StaffAssignment.id).is_not(None), col(Event.organization_id).in_(member_of)))
    return [
        ScannableEvent(
            id=e.id, title=e.title, starts_at=e.starts_at, timezone=e.timezone, venue_name=e.venue_name, gate=gate or ""
        )
        for e, gate in session.exec(query).all()
    ]
