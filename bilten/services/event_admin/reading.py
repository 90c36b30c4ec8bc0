"""An event as its organizers edit it, and where they may create one.

`EditableEvent` and `TicketTypeRow` are also what the organizers' API returns unchanged
(`serialization_alias` gives the JSON name; fields with `exclude=True` are for the editor page only).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func
from sqlmodel import Session, col, select

from bilten.models import Event, EventStatus, Order, OrderStatus, Organization, Role, TicketType, User
from bilten.services.access import Permission, authorize, organization_ids_of
from bilten.services.reports import OrganizationChoice
from bilten.services.transaction import transaction
from bilten.services.translations import copy_translations


class TicketTypeRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    name: str
    description: str
    price_minor: int = Field(serialization_alias="price")
    currency: str
    quantity: int
    reserved: int = Field(serialization_alias="sold_or_held")
    min_per_order: int
    max_per_order: int
    sales_start: datetime | None
    sales_end: datetime | None
    is_hidden: bool = Field(serialization_alias="hidden")
    position: int = Field(0, exclude=True)
    tax_rate_bp: int = 0  # on invoices, in basis points (1900 = 19 %)
    translations: dict[str, dict[str, str]] = {}  # {"name": {"de": ...}, ...}


class EditableEvent(BaseModel):
    """An event as its organizers edit it: every field, hidden ticket types too, and what
    cancelling it would touch."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str = Field("", exclude=True)
    title: str
    description: str
    venue_name: str = Field(serialization_alias="venue")
    venue_address: str
    city: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    status: EventStatus
    image_url: str
    ticket_types: list[TicketTypeRow]
    paid_orders: int = Field(0, exclude=True)
    pending_orders: int = Field(0, exclude=True)
    venue_notes: str = ""
    main_language: str = "en"
    translations: dict[str, dict[str, str]] = {}  # {"title": {"de": ...}, ...}
    allow_ticket_transfer: bool = True  # may holders transfer tickets (services/ticket_transfer.py)


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
        return editable_event(session, actor=actor, event_id=event_id)


def editable_event(session: Session, *, actor: User | None, event_id: uuid.UUID) -> EditableEvent:
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
        ticket_types=[ticket_type_row(t) for t in types],
        paid_orders=int(counts.get(OrderStatus.PAID, 0)),
        pending_orders=int(counts.get(OrderStatus.PENDING, 0)),
        venue_notes=event.venue_notes,
        main_language=event.main_language,
        translations=copy_translations(event.translations),
        allow_ticket_transfer=event.allow_ticket_transfer,
    )


def ticket_type_row(t: TicketType) -> TicketTypeRow:
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
