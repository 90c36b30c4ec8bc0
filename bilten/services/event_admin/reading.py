"""An event as its organizers edit it, and where they may create one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from bilten.models import Event, EventStatus, Order, OrderStatus, Organization, Role, TicketType, User
from bilten.services.access import Permission, authorize, organization_ids_of
from bilten.services.transaction import transaction
from bilten.services.translations import copy_translations


@dataclass(frozen=True)
class OrganizationChoice:
    id: uuid.UUID
    name: str


@dataclass(frozen=True)
class TicketTypeRow:
    id: uuid.UUID
    name: str
    description: str
    price_minor: int
    currency: str
    quantity: int
    reserved: int
    min_per_order: int
    max_per_order: int
    sales_start: datetime | None
    sales_end: datetime | None
    is_hidden: bool
    position: int
    tax_rate_bp: int = 0
    translations: dict[str, dict[str, str]] = field(default_factory=dict)  # {"name": {"de": ...}, ...}


@dataclass(frozen=True)
class EditableEvent:
    """An event as its organizers edit it: every field, hidden ticket types too, and what
    cancelling it would touch."""

    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    title: str
    description: str
    venue_name: str
    venue_address: str
    city: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    status: EventStatus
    image_url: str
    ticket_types: list[TicketTypeRow] = field(default_factory=list)
    paid_orders: int = 0
    pending_orders: int = 0
    venue_notes: str = ""
    main_language: str = "en"
    translations: dict[str, dict[str, str]] = field(default_factory=dict)  # {"title": {"de": ...}, ...}


def manageable_organizations(session: Session, *, actor: User | None) -> list[OrganizationChoice]:
    """The organizations in which the actor may create events (all of them for admins)."""
    with transaction(session):  # reads only
        user = authorize(session, actor, Permission.ORGANIZER_AREA)
        query = select(Organization).order_by(Organization.name)
        if user.role != Role.ADMIN:
            managed = organization_ids_of(session, user, Permission.ORGANIZATION_MANAGE)
            query = query.where(col(Organization.id).in_(managed))
        return [OrganizationChoice(id=org.id, name=org.name) for org in session.exec(query).all()]


def get_event_for_editing(session: Session, *, actor: User | None, event_id: uuid.UUID) -> EditableEvent:
    with transaction(session):  # reads only
        return _editable_event(session, actor=actor, event_id=event_id)


def _editable_event(session: Session, *, actor: User | None, event_id: uuid.UUID) -> EditableEvent:
    authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
    event = session.get_one(Event, event_id)
    organization = session.get(Organization, event.organization_id)
    types = session.exec(
        select(TicketType)
        .where(TicketType.event_id == event.id)
        .order_by(col(TicketType.position), col(TicketType.name))
    ).all()
    counts = dict(
        session.exec(
            select(Order.status, func.count(col(Order.id)))
            .where(Order.event_id == event.id, col(Order.status).in_([OrderStatus.PAID, OrderStatus.PENDING]))
            .group_by(Order.status)
        ).all()
    )
    return EditableEvent(
        id=event.id,
        organization_id=event.organization_id,
        organization_name=organization.name if organization else "",
        title=event.title,
        description=event.description,
        venue_name=event.venue_name,
        venue_address=event.venue_address,
        city=event.city,
        timezone=event.timezone,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        status=event.status,
        image_url=event.image_url,
        ticket_types=[_type_row(t) for t in types],
        paid_orders=int(counts.get(OrderStatus.PAID, 0)),
        pending_orders=int(counts.get(OrderStatus.PENDING, 0)),
        venue_notes=event.venue_notes,
        main_language=event.main_language,
        translations=copy_translations(event.translations),
    )


def _type_row(t: TicketType) -> TicketTypeRow:
    return TicketTypeRow(
        id=t.id,
        name=t.name,
        description=t.description,
        price_minor=t.price_minor,
        currency=t.currency,
        quantity=t.quantity,
        reserved=t.reserved,
        min_per_order=t.min_per_order,
        max_per_order=t.max_per_order,
        sales_start=t.sales_start,
        sales_end=t.sales_end,
        is_hidden=t.is_hidden,
        position=t.position,
        tax_rate_bp=t.tax_rate_bp,
        translations=copy_translations(t.translations),
    )
