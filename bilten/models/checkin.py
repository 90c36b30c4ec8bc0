"""Door scans: every attempt is recorded, with the device's nonce so a retried upload counts once."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from bilten.models.base import UTCDateTime, enum_type, new_uuid, utcnow


class CheckInResult(StrEnum):
    VALID = "valid"
    ALREADY_USED = "already_used"
    INVALID = "invalid"
    WRONG_EVENT = "wrong_event"
    CANCELLED = "cancelled"


class CheckIn(SQLModel, table=True):
    """One scan attempt and the server's verdict. A ticket is in when it has a `valid` check-in
    that was not undone; later scans of it are `already_used`."""

    __tablename__ = "check_in"
    __table_args__ = (
        # One live "valid" check-in per ticket, enforced by the database on every backend.
        Index(
            "uq_check_in_live_valid",
            "ticket_id",
            unique=True,
            postgresql_where=text("result = 'valid' AND undone_at IS NULL"),
            sqlite_where=text("result = 'valid' AND undone_at IS NULL"),
        ),
    )

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
    # What an offline device showed; "valid" here with an `already_used` result is a conflict:
    # two doors let the same ticket in while the network was down.
    device_result: str = Field(default="", max_length=20)
    manual: bool = Field(default=False)
    undone_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    undone_by_user_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")

    @property
    def is_conflict(self) -> bool:
        return self.offline and self.device_result == CheckInResult.VALID and self.result == CheckInResult.ALREADY_USED


class ScanDevice(SQLModel, table=True):
    """A phone signed in once by a staff member for the door: a long-lived, revocable token
    (only its hash is stored) so scanning goes on all event long without signing in again."""

    __tablename__ = "scan_device"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    name: str = Field(default="", max_length=100)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
