"""Freed seats go to the waiting list first: the hand-on at the heart of the waiting list.

A seat given back (an expired hold, a cancellation, a refund, an offer that ran out) or added (a
raised quantity) goes, in the SAME transaction, to the next person in line for its ticket type as
an offer: the seat stays counted in `TicketType.reserved`, now held by the offer, so it never shows
as free to the rush (no "N left", no reopened sold-out gate, no order can take it in between).

Two transactions freeing seats at once never offer to the same person: the people in line are
locked `FOR UPDATE SKIP LOCKED`, so each takes its own. Kept free of the orders package (which
calls in here) so the import graph stays one way: orders.seats -> waiting_offers -> models.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from bilten.models import Event, EventStatus, TicketType, WaitingListEntry, WaitingListSettings, WaitingState
from bilten.services.audit import emit_event, record_audit

DEFAULT_OFFER_HOURS = 24
OFFERED_TOPIC = "waiting_list.offered"

_TYPES_WITH_WAITERS = (
    select(WaitingListEntry.ticket_type_id)
    .where(
        col(WaitingListEntry.state) == WaitingState.WAITING,
        col(WaitingListEntry.ticket_type_id).in_(bindparam("ids", expanding=True)),
    )
    .distinct()
)
_CLAIM = (
    update(WaitingListEntry)
    .where(
        col(WaitingListEntry.id) == bindparam("entry_id"),
        col(WaitingListEntry.ticket_type_id) == bindparam("type_id"),
        col(WaitingListEntry.state) == WaitingState.OFFERED,
        col(WaitingListEntry.offer_expires_at) > bindparam("now"),
    )
    .values(state=WaitingState.REDEEMED, order_id=bindparam("order_id"), changed_at=bindparam("now"))
    .returning(col(WaitingListEntry.id))
    .execution_options(synchronize_session=False)
)


def offer_hours(session: Session, event_id: uuid.UUID) -> int | None:
    """How long an offer of this event stays valid; None when its waiting list is off."""
    settings = session.get(WaitingListSettings, event_id)
    if settings is None:
        return DEFAULT_OFFER_HOURS
    return settings.offer_hours if settings.enabled else None


def hand_on_seats(session: Session, freed: Iterable[tuple[uuid.UUID, int]], *, now: datetime) -> dict[uuid.UUID, int]:
    """Offer freed seats (ticket type id, how many) to the people in line, first come first served.
    Returns how many seats of each type went to offers: the caller gives back only the rest. Inside
    the caller's transaction; costs one small read when nobody waits."""
    wanted = {type_id: n for type_id, n in freed if n > 0}
    if not wanted:
        return {}
    waiting = set(session.execute(_TYPES_WITH_WAITERS, {"ids": list(wanted)}).scalars())
    offered: dict[uuid.UUID, int] = {}
    for type_id in sorted(waiting):
        made = _offer(session, type_id, wanted[type_id], now=now)
        if made:
            offered[type_id] = made
    if offered:
        session.flush()  # before a caller that commits through the driver (hold_sweep's pipeline)
    return offered


def offer_free_seats(session: Session, ticket_type_id: uuid.UUID, *, now: datetime) -> int:
    """Seats free for sale (a raised quantity) go to the people in line first: each offered seat is
    taken by the guarded seat UPDATE. Inside the caller's transaction; returns how many were offered."""
    ticket_type = session.get(TicketType, ticket_type_id, populate_existing=True)
    if ticket_type is None:
        return 0
    free = ticket_type.quantity - ticket_type.reserved
    if free <= 0:
        return 0
    entries = _next_in_line(session, ticket_type_id, free, now=now)
    if not entries:
        return 0
    taken = session.execute(
        update(TicketType)
        .where(col(TicketType.id) == ticket_type_id, col(TicketType.reserved) + len(entries) <= TicketType.quantity)
        .values(reserved=col(TicketType.reserved) + len(entries))
        .returning(col(TicketType.id))
        .execution_options(synchronize_session=False)
    ).first()
    session.expire(ticket_type, ["reserved"])
    if taken is None:
        return 0
    for entry in entries:
        _make_offer(session, entry, now=now)
    return len(entries)


def claim_offer(
    session: Session, entry_id: uuid.UUID, *, ticket_type_id: uuid.UUID, order_id: uuid.UUID, now: datetime
) -> bool:
    """An order takes over the seat held by an offer still valid: one guarded UPDATE, so an offer is
    redeemed once, and never after it ran out."""
    row = session.execute(
        _CLAIM, {"entry_id": entry_id, "type_id": ticket_type_id, "order_id": order_id, "now": now}
    ).first()
    return row is not None


def _offer(session: Session, type_id: uuid.UUID, seats: int, *, now: datetime) -> int:
    entries = _next_in_line(session, type_id, seats, now=now)
    for entry in entries:
        _make_offer(session, entry, now=now)
    return len(entries)


def _next_in_line(session: Session, type_id: uuid.UUID, limit: int, *, now: datetime) -> list[WaitingListEntry]:
    """Up to `limit` people waiting for this type, in line order, locked; none when the event's
    list is off or the event no longer sells."""
    ticket_type = session.get(TicketType, type_id)
    event = session.get(Event, ticket_type.event_id) if ticket_type is not None else None
    if event is None or event.status != EventStatus.PUBLISHED or event.ends_at <= now:
        return []
    if offer_hours(session, event.id) is None:
        return []
    query = (
        select(WaitingListEntry)
        .where(WaitingListEntry.ticket_type_id == type_id, WaitingListEntry.state == WaitingState.WAITING)
        .order_by(col(WaitingListEntry.created_at), col(WaitingListEntry.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return list(session.exec(query).all())


def _make_offer(session: Session, entry: WaitingListEntry, *, now: datetime) -> None:
    hours = offer_hours(session, entry.event_id) or DEFAULT_OFFER_HOURS
    entry.state = WaitingState.OFFERED
    entry.offered_at = now
    entry.offer_expires_at = now + timedelta(hours=hours)
    entry.changed_at = now
    session.add(entry)
    record_audit(
        session,
        action="waiting_list.offered",
        object_type="waiting_list_entry",
        object_id=entry.id,
        now=now,
        data={"event_id": str(entry.event_id), "ticket_type_id": str(entry.ticket_type_id)},
    )
    emit_event(session, topic=OFFERED_TOPIC, payload={"entry_id": str(entry.id)}, now=now)
