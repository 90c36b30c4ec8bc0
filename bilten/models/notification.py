"""The transactional outbox of domain events and the notifications they turn into."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Text
from sqlmodel import Column, Field, SQLModel

from bilten.models.base import UTCDateTime, enum_type, new_uuid, utcnow


class OutboxEvent(SQLModel, table=True):
    """A domain event written in the same transaction as the change it describes."""

    __tablename__ = "outbox_event"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    topic: str = Field(max_length=80, index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    dispatched_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Notification(SQLModel, table=True):
    __tablename__ = "notification"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    channel: str = Field(default="email", max_length=20)
    status: NotificationStatus = Field(default=NotificationStatus.PENDING, sa_type=enum_type(NotificationStatus), index=True)
    recipient: str = Field(max_length=254)
    subject: str = Field(default="", max_length=300)
    content: str = Field(default="", sa_type=Text)
    locale: str = Field(default="en", max_length=10)
    attempts: int = Field(default=0)
    last_error: str = Field(default="", max_length=1000)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
