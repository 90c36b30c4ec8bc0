"""The waiting list of a sold-out ticket type: people in line, and each event's waiting-list settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from bilten.models.base import UTCDateTime, enum_type, new_uuid, utcnow


class WaitingState(StrEnum):
    WAITING = "waiting"  # in line
    OFFERED = "offered"  # a seat is held for this person until offer_expires_at
    REDEEMED = "redeemed"  # the offered seat became an order
    EXPIRED = "expired"  # the offer ran out unused: the seat went to the next person
    REMOVED = "removed"  # taken off the list by the organizer


class WaitingListEntry(SQLModel, table=True):
    """One person in line for one ticket type. Their place is (created_at, id). An offered entry
    holds one seat: it counts in `TicketType.reserved` until redeemed (the order takes it over) or
    expired (the seat passes on)."""

    __tablename__ = "waiting_list_entry"
    __table_args__ = (
        # One place in line per address and ticket type, while in line or holding an offer.
        Index(
            "uq_waiting_list_entry_active",
            "ticket_type_id",
            "email",
            unique=True,
            postgresql_where=text("state IN ('waiting', 'offered')"),
            sqlite_where=text("state IN ('waiting', 'offered')"),
        ),
        # The next in line per ticket type, and the offers that ran out: both partial, small.
        Index(
            "ix_waiting_list_entry_line",
            "ticket_type_id",
            "created_at",
            "id",
            postgresql_where=text("state = 'waiting'"),
            sqlite_where=text("state = 'waiting'"),
        ),
        Index(
            "ix_waiting_list_entry_offer_expiry",
            "offer_expires_at",
            postgresql_where=text("state = 'offered'"),
            sqlite_where=text("state = 'offered'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    event_id: uuid.UUID = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    ticket_type_id: uuid.UUID = Field(foreign_key="ticket_type.id", ondelete="CASCADE")
    email: str = Field(max_length=254)
    name: str = Field(default="", max_length=200)
    locale: str = Field(default="en", max_length=10)
    state: WaitingState = Field(default=WaitingState.WAITING, sa_type=enum_type(WaitingState))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    offered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    offer_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    order_id: uuid.UUID | None = Field(default=None, foreign_key="ticket_order.id")
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WaitingListSettings(SQLModel, table=True):
    """An event's waiting-list settings; an event without a row has the list on, offers valid 24 h."""

    __tablename__ = "waiting_list_settings"

    event_id: uuid.UUID = Field(foreign_key="event.id", primary_key=True, ondelete="CASCADE")
    enabled: bool = Field(default=True)
    offer_hours: int = Field(default=24)
