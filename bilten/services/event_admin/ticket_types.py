"""Ticket types of an event: create and change them. A change never takes a quantity below what is
held or sold, even against a sale committing at the same moment."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from bilten.models import TicketType, User
from bilten.services.access import Permission, authorize
from bilten.services.audit import record_audit
from bilten.services.errors import NotFound, ValidationFailed
from bilten.services.event_admin.events import lock_event
from bilten.services.event_admin.fields import TicketTypeFields, audit_values, refuse_cancelled, resolve_type_fields
from bilten.services.event_admin.reading import TicketTypeRow, ticket_type_row
from bilten.services.transaction import transaction
from bilten.services.waiting_offers import offer_free_seats


def create_ticket_type(
    session: Session, *, actor: User | None, event_id: uuid.UUID, fields: TicketTypeFields, now: datetime
) -> TicketTypeRow:
    with transaction(session):
        user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
        event = lock_event(session, event_id)
        refuse_cancelled(event)
        values = resolve_type_fields(session, fields, event, None)
        last = session.exec(select(func.max(TicketType.position)).where(TicketType.event_id == event.id)).first()
        position = (last + 1) if last is not None else 0
        ticket_type = TicketType(event_id=event.id, reserved=0, position=position, **values)
        session.add(ticket_type)
        record_audit(
            session,
            action="ticket_type.created",
            object_type="ticket_type",
            object_id=ticket_type.id,
            now=now,
            actor_user_id=user.id,
            organization_id=event.organization_id,
            data={"event_id": str(event.id), **audit_values(values)},
        )
    return ticket_type_row(ticket_type)


class _QuantityBelowSold(Exception):
    """Raised inside the transaction so that it rolls back; answered with a ValidationFailed."""


def update_ticket_type(
    session: Session,
    *,
    actor: User | None,
    event_id: uuid.UUID,
    ticket_type_id: uuid.UUID,
    fields: TicketTypeFields,
    now: datetime,
) -> TicketTypeRow:
    """Change a ticket type. Its quantity never drops below what is held or sold: the new values
    are written by one UPDATE guarded by `reserved <= quantity`, so a reservation committed after
    the checks here still wins and the change is refused. (The row may be busy with a sale: the
    wait is capped at 3 s like every lock wait.)"""
    try:
        with transaction(session):
            user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
            event = lock_event(session, event_id)
            refuse_cancelled(event)
            current = session.get(TicketType, ticket_type_id)
            if current is None or current.event_id != event.id:
                raise NotFound()
            values = resolve_type_fields(session, fields, event, current)
            changed = sorted(name for name, value in values.items() if getattr(current, name) != value)
            guarded = (
                update(TicketType)
                .where(
                    col(TicketType.id) == ticket_type_id,
                    col(TicketType.event_id) == event.id,
                    col(TicketType.reserved) <= values["quantity"],
                )
                .values(**values)
                .returning(col(TicketType.id))
                .execution_options(synchronize_session=False)
            )
            if session.execute(guarded).first() is None:
                raise _QuantityBelowSold()
            # Seats added to a sold-out type go to the people on its waiting list first.
            offer_free_seats(session, ticket_type_id, now=now)
            record_audit(
                session,
                action="ticket_type.updated",
                object_type="ticket_type",
                object_id=ticket_type_id,
                now=now,
                actor_user_id=user.id,
                organization_id=event.organization_id,
                data={"event_id": str(event.id), "fields": changed, **audit_values(values)},
            )
    except _QuantityBelowSold:
        with transaction(session):
            sold = session.exec(select(TicketType.reserved).where(TicketType.id == ticket_type_id)).one()
        raise ValidationFailed("error.ticket_quantity_below_sold", sold=sold) from None
    with transaction(session):
        session.refresh(current)
        return ticket_type_row(current)
