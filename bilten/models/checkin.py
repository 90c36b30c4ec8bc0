"""Door scans: every attempt is recorded, with the device's nonce so a retried upload counts once."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from bilten.models.base import UTCDateTime, enum_type, new_uuid, utcnow


class CheckInResult(StrEnum):
    VALID = "valid"
    ALREADY_USED = "already_used"
    INVALID = "invalid"
    WRONG_EVENT = "wrong_event"
    CANCELLED = "cancelled"


class CheckIn(SQLModel, table=True):
    __tablename__ = "check_in"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    event_id: uuid.UUID = Field(foreign_key="event.id", index=True)
    ticket_id: uuid.UUID | None = Field(default=None, foreign_key="ticket.id", index=True)
    gate: str = Field(default="", max_length=60)
    device_id: str = Field(default="", max_length=100)
    staff_user_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    scanned_at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    result: CheckInResult = Field(sa_type=enum_type(CheckInResult))
    nonce: str = Field(max_length=100, unique=True)
    offline: bool = Field(default=False)
    undone_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
