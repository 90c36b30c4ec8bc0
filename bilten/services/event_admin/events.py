"""Events: create, edit, publish, unpublish, duplicate, give a picture. Each is one transaction
that locks the event row (waits capped: services/transaction.py) and writes an audit entry."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session

from bilten.models import Event, EventStatus, Organization, TicketType, User
from bilten.services import media
from bilten.services.access import Permission, authorize, require_verified
from bilten.services.audit import emit_event, record_audit
from bilten.services.errors import NotFound, ValidationFailed
from bilten.services.event_admin.fields import (
    MAX_TITLE_LENGTH,
    EventFields,
    check_sales_window,
    event_ticket_types,
    refuse_cancelled,
    resolve_event_fields,
    slug_of,
)
from bilten.services.ticket_codes import generate_event_keys
from bilten.services.transaction import lock_row, transaction
from bilten.services.translations import copy_translations


def lock_event(session: Session, event_id: uuid.UUID) -> Event:
    """The event row, locked until the transaction ends (a sale or another edit waits at most 3 s)."""
    event = lock_row(session, Event, event_id)
    if event is None:
        raise NotFound()
    return event


def create_event(
    session: Session, *, actor: User | None, organization_id: uuid.UUID | None, fields: EventFields, now: datetime
) -> Event:
    """A new draft event in one of the actor's organizations, with its own ticket signing key."""
    with transaction(session):
        if organization_id is None:
            authorize(session, actor, Permission.ORGANIZER_AREA)
            raise ValidationFailed("error.organization_required")
        user = authorize(session, actor, Permission.ORGANIZATION_MANAGE, organization_id=organization_id)
        if session.get(Organization, organization_id) is None:
            raise NotFound()
        values = resolve_event_fields(fields, None, now=now)
        keys = generate_event_keys()
        event = Event(
            organization_id=organization_id,
            slug=slug_of(values["title"]),
            status=EventStatus.DRAFT,
            signing_public_key=keys.public_key,
            signing_private_key_sealed=keys.encrypted_private_key,
            created_at=now,
            **values,
        )
        session.add(event)
        record_audit(
            session,
            action="event.created",
            object_type="event",
            object_id=event.id,
            now=now,
            actor_user_id=user.id,
            organization_id=organization_id,
            data={"title": event.title},
        )
    return event


def update_event(
    session: Session, *, actor: User | None, event_id: uuid.UUID, fields: EventFields, now: datetime
) -> Event:
    with transaction(session):
        user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
        event = lock_event(session, event_id)
        refuse_cancelled(event)
        values = resolve_event_fields(fields, event, now=now)
        if (values["starts_at"], values["ends_at"]) != (event.starts_at, event.ends_at):
            for ticket_type in event_ticket_types(session, event.id):
                check_sales_window(ticket_type.sales_start, ticket_type.sales_end, values["ends_at"])
        changed = sorted(name for name, value in values.items() if getattr(event, name) != value)
        for name, value in values.items():
            setattr(event, name, value)
        if "title" in changed:
            event.slug = slug_of(event.title)
        session.add(event)
        record_audit(
            session,
            action="event.updated",
            object_type="event",
            object_id=event.id,
            now=now,
            actor_user_id=user.id,
            organization_id=event.organization_id,
            data={"fields": changed},
        )
    return event


def publish_event(session: Session, *, actor: User | None, event_id: uuid.UUID, now: datetime) -> Event:
    """Put a draft on sale: it needs dates still ahead, at least one ticket type buyers can see, and
    a publisher whose email address is confirmed."""
    with transaction(session):
        user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
        require_verified(user)  # an unconfirmed address puts nothing on sale
        event = lock_event(session, event_id)
        refuse_cancelled(event)
        if event.status == EventStatus.PUBLISHED:
            return event
        if event.ends_at <= event.starts_at:
            raise ValidationFailed("error.event_ends_before_start")
        if event.ends_at <= now:
            raise ValidationFailed("error.event_in_past")
        if not any(not t.is_hidden for t in event_ticket_types(session, event.id)):
            raise ValidationFailed("error.event_needs_ticket_types")
        _set_status(session, event, EventStatus.PUBLISHED, "event.published", user=user, now=now)
        emit_event(session, topic="event.published", payload={"event_id": str(event.id)}, now=now)
    return event


def unpublish_event(session: Session, *, actor: User | None, event_id: uuid.UUID, now: datetime) -> Event:
    """Back to draft: the public page and the shop close; orders and tickets stay valid."""
    with transaction(session):
        user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
        event = lock_event(session, event_id)
        refuse_cancelled(event)
        if event.status != EventStatus.DRAFT:
            _set_status(session, event, EventStatus.DRAFT, "event.unpublished", user=user, now=now)
    return event


def _set_status(session: Session, event: Event, status: EventStatus, action: str, *, user: User, now: datetime) -> None:
    previous = event.status
    event.status = status
    session.add(event)
    record_audit(
        session,
        action=action,
        object_type="event",
        object_id=event.id,
        now=now,
        actor_user_id=user.id,
        organization_id=event.organization_id,
        data={"from": str(previous), "to": str(status)},
    )


def duplicate_event(
    session: Session, *, actor: User | None, event_id: uuid.UUID, now: datetime, title_suffix: str = " (copy)"
) -> Event:
    """A draft copy with the same details and ticket types (nothing sold, a signing key of its own)."""
    with transaction(session):
        user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
        source = session.get(Event, event_id)
        if source is None:
            raise NotFound()
        keys = generate_event_keys()
        title = (source.title[: MAX_TITLE_LENGTH - len(title_suffix)] + title_suffix).strip()
        copy = Event(
            organization_id=source.organization_id,
            title=title,
            slug=slug_of(title),
            description=source.description,
            status=EventStatus.DRAFT,
            venue_name=source.venue_name,
            venue_address=source.venue_address,
            city=source.city,
            timezone=source.timezone,
            starts_at=source.starts_at,
            ends_at=source.ends_at,
            image_url=source.image_url,
            venue_notes=source.venue_notes,
            main_language=source.main_language,
            translations=copy_translations(source.translations),
            signing_public_key=keys.public_key,
            signing_private_key_sealed=keys.encrypted_private_key,
            created_at=now,
        )
        session.add(copy)
        for ticket_type in event_ticket_types(session, source.id):
            session.add(_copy_of(ticket_type, event_id=copy.id))
        record_audit(
            session,
            action="event.duplicated",
            object_type="event",
            object_id=copy.id,
            now=now,
            actor_user_id=user.id,
            organization_id=copy.organization_id,
            data={"source_event_id": str(source.id)},
        )
    return copy


def _copy_of(ticket_type: TicketType, *, event_id: uuid.UUID) -> TicketType:
    return TicketType(
        event_id=event_id,
        name=ticket_type.name,
        description=ticket_type.description,
        price_minor=ticket_type.price_minor,
        currency=ticket_type.currency,
        quantity=ticket_type.quantity,
        reserved=0,
        sales_start=ticket_type.sales_start,
        sales_end=ticket_type.sales_end,
        min_per_order=ticket_type.min_per_order,
        max_per_order=ticket_type.max_per_order,
        position=ticket_type.position,
        is_hidden=ticket_type.is_hidden,
        translations=copy_translations(ticket_type.translations),
    )


def check_event_image_allowed(session: Session, *, actor: User | None, event_id: uuid.UUID) -> User:
    """May `actor` give this event a picture? Asked before the upload is decoded (bilten/image_pool.py
    does that; the caller closes this session meanwhile), then `set_event_image` records the file."""
    with transaction(session):  # reads only
        user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
        event = session.get(Event, event_id)
        if event is None:
            raise NotFound()
        refuse_cancelled(event)
    return user


def set_event_image(session: Session, *, actor: User | None, event_id: uuid.UUID, name: str, now: datetime) -> Event:
    """Show a picture stored by `media.store_image` (checked, cleaned, random name) on the event.
    The previous file stays: duplicated events may still show it."""
    with transaction(session):
        user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
        media.check_picture(name)  # a name this app made, of a file that exists (here or in the bucket)
        event = lock_event(session, event_id)
        refuse_cancelled(event)
        event.image_url = media.media_url(name)
        session.add(event)
        record_audit(
            session,
            action="event.image_set",
            object_type="event",
            object_id=event.id,
            now=now,
            actor_user_id=user.id,
            organization_id=event.organization_id,
            data={"image": name},
        )
    return event
