"""Who holds a ticket to an event, one row per ticket: holder, buyer, type and whether (where, when)
it is in. One query and one row shape for the back office's attendee pages (`event_orders`) and the
door's check-in list (`checkins`, the scanning API), so both always answer alike.

Searched by ticket holder, buyer name or email, the order's or ticket's id (its first characters,
as the back office shows them), a ticket's full code (what a scanner reads: whole, it is a secret)
or its reference (K7QM-4XHT-2P, what a person reads out)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, String, and_, cast, func, or_
from sqlmodel import Session, col, select

from bilten.models import CheckIn, CheckInResult, Order, Ticket, TicketStatus, TicketType
from bilten.services.ticket_references import normalize_reference

MAX_SEARCH_LENGTH = 200
MIN_ID_PREFIX = 4  # shorter hex strings would match half the list by accident
HEX_DIGITS = frozenset("0123456789abcdef")


class AttendeeRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    ticket_id: uuid.UUID
    order_id: uuid.UUID
    holder_name: str
    buyer_email: str
    buyer_name: str
    ticket_type: str
    ticket_status: TicketStatus
    checked_in_at: datetime | None
    gate: str
    checkin_id: uuid.UUID | None
    conflicts: int  # offline scans that let this ticket in a second time


def find_attendees(
    session: Session, *, event_id: uuid.UUID, search: str = "", offset: int = 0, limit: int = 500
) -> list[AttendeeRow]:
    """The event's tickets matching `search`, by holder, buyer and id; the caller checks who asks."""
    # At most one live valid check-in per ticket (a unique index): a plain outer join.
    live_checkin = and_(
        col(CheckIn.ticket_id) == Ticket.id,
        col(CheckIn.result) == CheckInResult.VALID,
        col(CheckIn.undone_at).is_(None),
    )
    conflicts = (
        select(CheckIn.ticket_id, func.count().label("n"))
        .where(
            col(CheckIn.event_id) == event_id,
            col(CheckIn.offline).is_(True),
            col(CheckIn.device_result) == CheckInResult.VALID.value,
            col(CheckIn.result) == CheckInResult.ALREADY_USED,
        )
        .group_by(col(CheckIn.ticket_id))
        .subquery()
    )
    query = (
        select(  # type: ignore[call-overload]  # sqlmodel types select() for up to 4 columns
            Ticket,
            Order.buyer_email,
            Order.buyer_name,
            TicketType.name,
            CheckIn.id,
            CheckIn.scanned_at,
            CheckIn.gate,
            conflicts.c.n,
        )
        .join(Order, col(Order.id) == Ticket.order_id)
        .join(TicketType, col(TicketType.id) == Ticket.ticket_type_id)
        .outerjoin(CheckIn, live_checkin)
        .outerjoin(conflicts, conflicts.c.ticket_id == Ticket.id)
        .where(*attendee_conditions(event_id, search))
        .order_by(col(Ticket.holder_name), col(Order.buyer_email), col(Ticket.id))
        .offset(offset)
        .limit(limit)
    )
    return [
        AttendeeRow(
            ticket_id=ticket.id,
            order_id=ticket.order_id,
            holder_name=ticket.holder_name,
            buyer_email=email,
            buyer_name=buyer_name,
            ticket_type=type_name,
            ticket_status=TicketStatus(ticket.status),
            checked_in_at=scanned_at,
            gate=gate or "",
            checkin_id=checkin_id,
            conflicts=int(conflict_count or 0),
        )
        for ticket, email, buyer_name, type_name, checkin_id, scanned_at, gate, conflict_count in session.exec(
            query
        ).all()
    ]


def count_attendees(session: Session, *, event_id: uuid.UUID, search: str = "") -> int:
    total = session.exec(
        select(func.count())
        .select_from(Ticket)
        .join(Order, col(Order.id) == Ticket.order_id)
        .where(*attendee_conditions(event_id, search))
    ).one()
    return int(total or 0)


def attendee_conditions(event_id: uuid.UUID, search: str) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [col(Ticket.event_id) == event_id]
    needle = search_needle(search)
    if needle:
        clauses: list[ColumnElement[bool]] = [
            func.lower(Ticket.holder_name).contains(needle, autoescape=True),
            func.lower(Order.buyer_email).contains(needle, autoescape=True),
            func.lower(Order.buyer_name).contains(needle, autoescape=True),
            col(Ticket.code) == search.strip(),  # codes are case-sensitive and whole: they are secrets
        ]
        reference = normalize_reference(search)
        if reference:  # typed as a person reads it: any case, dashes, O for 0
            clauses.append(col(Ticket.reference) == reference)
        prefix = id_prefix(needle)
        if prefix:
            clauses.append(uuid_text(Ticket.id).startswith(prefix, autoescape=True))
            clauses.append(uuid_text(Ticket.order_id).startswith(prefix, autoescape=True))
        conditions.append(or_(*clauses))
    return conditions


def search_needle(search: str) -> str:
    return (search or "").strip().lower()[:MAX_SEARCH_LENGTH]


def id_prefix(needle: str) -> str:
    """The hex digits of an id fragment ("3F2A-91", "3f2a91..."), or "" when it is no id."""
    digits = needle.replace("-", "")
    return digits if len(digits) >= MIN_ID_PREFIX and set(digits) <= HEX_DIGITS else ""


def uuid_text(column: Any) -> Any:
    """A UUID column as 32 lowercase hex digits on every backend (PostgreSQL prints dashes)."""
    return func.replace(func.lower(cast(column, String)), "-", "")
