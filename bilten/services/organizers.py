"""The organizer's side: the events of the organizations a user works for."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func
from sqlmodel import Session, col, select

from bilten.models import Event, EventStatus, Organization, Role, TicketType, User
from bilten.services.access import Permission, authorize, organization_ids_of


class OrganizerEventRow(BaseModel):
    """One event in the organizer's list (the organizer page, `/api/v1/organizer/events`)."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    organization_name: str
    title: str
    status: EventStatus
    starts_at: datetime
    timezone: str
    capacity: int
    reserved: int


def list_organizer_events(session: Session, *, actor: User | None) -> list[OrganizerEventRow]:
    """Every event of the actor's organizations (all events for admins), newest first."""
    user = authorize(session, actor, Permission.ORGANIZER_AREA)
    totals = (
        select(
            TicketType.event_id,
            func.sum(TicketType.quantity).label("capacity"),
            func.sum(TicketType.reserved).label("reserved"),
        )
        .group_by(col(TicketType.event_id))
        .subquery()
    )
    query = (
        select(Event, Organization.name, totals.c.capacity, totals.c.reserved)
        .join(Organization, col(Organization.id) == Event.organization_id)
        .outerjoin(totals, totals.c.event_id == Event.id)
        .order_by(col(Event.starts_at).desc())
    )
    if user.role != Role.ADMIN:
        query = query.where(col(Event.organization_id).in_(organization_ids_of(session, user)))
    return [
        OrganizerEventRow(
            id=event.id,
            organization_name=org_name,
            title=event.title,
            status=event.status,
            starts_at=event.starts_at,
            timezone=event.timezone,
            capacity=int(capacity or 0),
            reserved=int(reserved or 0),
        )
        for event, org_name, capacity, reserved in session.exec(query).all()
    ]
