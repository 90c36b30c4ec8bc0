"""Turn domain events from the outbox into notifications, in one transaction per batch.

The outbox rows were written in the same transaction as the change they describe, so nothing is
lost between "order paid" and "email queued". Each event becomes at most one notification per
channel thanks to the idempotency key; the event is marked dispatched in the same transaction.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from bilten.i18n import normalize_locale
from bilten.models import Event, EventStatus, Invitation, Notification, Order, OutboxEvent, User, WaitingListEntry
from bilten.notifications.delivery import SECRET_PAYLOAD_FIELDS
from bilten.services.webhooks import enqueue_deliveries

logger = logging.getLogger(__name__)

EMAIL = "email"


@dataclass(frozen=True)
class Draft:
    """A notification to create: who gets what, under which idempotency key."""

    idempotency_key: str
    recipient: str
    locale: str


def _order_recipient(
    session: Session, topic: str, payload: dict[str, Any], *, per_request: uuid.UUID | None = None
) -> Draft | None:
    order = session.get(Order, uuid.UUID(str(payload["order_id"])))
    if order is None:
        return None
    # One email per order and fact, however often the event is emitted (or one per buyer request).
    return Draft(f"{topic}:{per_request or order.id}:{EMAIL}", order.buyer_email, normalize_locale(order.locale))


def _user_recipient(
    session: Session, topic: str, payload: dict[str, Any], *, per_event: uuid.UUID | None = None
) -> Draft | None:
    user = session.get(User, uuid.UUID(str(payload["user_id"])))
    if user is None:
        return None
    subject = per_event or user.id
    return Draft(f"{topic}:{subject}:{EMAIL}", user.email, normalize_locale(user.locale))


def _invitation_recipient(session: Session, topic: str, payload: dict[str, Any]) -> Draft | None:
    """The invited address (maybe without an account yet), in the language chosen when inviting."""
    invitation = session.get(Invitation, uuid.UUID(str(payload["invitation_id"])))
    if invitation is None:
        return None
    return Draft(f"{topic}:{invitation.id}:{EMAIL}", invitation.email, normalize_locale(payload.get("locale")))


def _covered_by_event_cancellation(session: Session, payload: dict[str, Any]) -> bool:
    """An organizer's cancellation of an order of a cancelled event (not a late payment's refund)."""
    if payload.get("reason"):
        return False
    order = session.get(Order, uuid.UUID(str(payload["order_id"])))
    event = session.get(Event, order.event_id) if order is not None else None
    return event is not None and event.status == EventStatus.CANCELLED


def draft_for(session: Session, event: OutboxEvent) -> Draft | None:
    """The email an outbox event asks for, or None (a topic without email, or its subject is gone)."""
    try:
        if event.topic == "order.cancelled" and _covered_by_event_cancellation(session, event.payload):
            # The buyer's "event cancelled" email (emitted when the event was cancelled) says it all:
            # the same idempotency key makes the two facts one email, whichever is dispatched first.
            return _order_recipient(session, "event.cancelled", event.payload)
        if event.topic in ("order.paid", "order.cancelled", "event.cancelled"):
            return _order_recipient(session, event.topic, event.payload)
        if event.topic == "order.tickets_resent":  # the buyer asked for the tickets email again
            return _order_recipient(
                session,
                event.topic,
                event.payload,
                per_request=uuid.UUID(str(event.payload.get("request_id") or event.id)),
            )
        if event.topic == "user.registered":
            return _user_recipient(session, event.topic, event.payload)
        if event.topic in ("password.reset_requested", "user.verification_requested", "account.locked"):
            # Every request gets its own email (each carries its own link).
            return _user_recipient(session, event.topic, event.payload, per_event=event.id)
        if event.topic == "user.signup_attempted":  # at most one an hour (services/accounts.py)
            return _user_recipient(session, event.topic, event.payload, per_event=event.id)
        if event.topic == "user.two_factor_off":  # a security notice for every time it happens
            return _user_recipient(session, event.topic, event.payload, per_event=event.id)
        if event.topic == "webhook.disabled":  # each time an endpoint is switched off
            return _user_recipient(session, event.topic, event.payload, per_event=event.id)
        if event.topic == "waiting_list.offered":  # one email per offer (an entry is offered once)
            entry = session.get(WaitingListEntry, uuid.UUID(str(event.payload["entry_id"])))
            if entry is None:
                return None
            return Draft(f"{event.topic}:{entry.id}:{EMAIL}", entry.email, normalize_locale(entry.locale))
        if event.topic == "team.member_invited":
            return _invitation_recipient(session, event.topic, event.payload)
    except (KeyError, ValueError):
        logger.error("outbox event %s (%s) has a malformed payload: %r", event.id, event.topic, event.payload)
    return None


def _insert_once(session: Session, notification: Notification) -> bool:
    """INSERT ... ON CONFLICT (idempotency_key) DO NOTHING; True when the row is new."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(Notification)
        .values(**notification.model_dump())
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(Notification.id)
    )
    return session.execute(statement).first() is not None  # (rowcount is -1 through the ORM on PostgreSQL)


def dispatch_outbox(session: Session, *, now: datetime, limit: int = 100) -> list[uuid.UUID]:
    """Create the notifications for up to `limit` undispatched events; returns the new ones' ids."""
    # SKIP LOCKED: two dispatchers (two `bilten worker`s) split the events instead of waiting.
    events = session.exec(
        select(OutboxEvent)
        .where(OutboxEvent.dispatched_at.is_(None))
        .order_by(OutboxEvent.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    enqueue_deliveries(session, events, now=now)  # outgoing webhooks, in this same transaction
    created: list[uuid.UUID] = []
    for event in events:
        draft = draft_for(session, event)
        if draft is not None:
            notification = Notification(
                idempotency_key=draft.idempotency_key,
                topic=event.topic,
                payload=dict(event.payload),
                outbox_event_id=event.id,
                channel=EMAIL,
                recipient=draft.recipient,
                locale=draft.locale,
                next_attempt_at=now,
                created_at=now,
            )
            if _insert_once(session, notification):
                created.append(notification.id)
            else:
                logger.info("outbox event %s: %s exists already", event.id, draft.idempotency_key)
        # The notification keeps what it needs; secrets do not stay in the outbox.
        if any(name in event.payload for name in SECRET_PAYLOAD_FIELDS):
            event.payload = {k: v for k, v in event.payload.items() if k not in SECRET_PAYLOAD_FIELDS}
            event.dispatched_at = now
            session.add(event)
    # The others are marked in one statement, not one UPDATE per event.
    plain = [event.id for event in events if event.dispatched_at is None]
    if plain:
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(plain))
            .values(dispatched_at=now)
            .execution_options(synchronize_session=False)
        )
    session.commit()
    return created
