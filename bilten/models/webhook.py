"""Outgoing webhooks: an organization's endpoints, the deliveries queued for them and the log of
every attempt (bilten.services.webhooks registers, bilten.notifications.webhooks delivers)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from bilten.models.base import UTCDateTime, enum_type, new_uuid, utcnow


class WebhookEndpoint(SQLModel, table=True):
    """A URL an organization wants domain events POSTed to, signed with `secret`."""

    __tablename__ = "webhook_endpoint"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    organization_id: uuid.UUID = Field(foreign_key="organization.id", index=True, ondelete="CASCADE")
    url: str = Field(max_length=2000)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    secret: str = Field(max_length=100)  # never leaves through a public shape, except once when made/rotated
    active: bool = Field(default=True)
    consecutive_failures: int = Field(default=0)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookDeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt at next_attempt_at
    SENDING = "sending"  # claimed by a worker until claimed_until
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # out of attempts, or its endpoint was disabled: "send again" retries it


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint, delivered at least once. Deliveries sharing a `sequence_key`
    (one order) go out in (created_at, position) order: a later one waits while an earlier one is
    pending or sending."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_sequence", "endpoint_id", "sequence_key", "created_at"),
        UniqueConstraint("endpoint_id", "outbox_event_id", "event_type", name="uq_webhook_delivery_event"),
    )

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    endpoint_id: uuid.UUID = Field(foreign_key="webhook_endpoint.id", index=True, ondelete="CASCADE")
    event_type: str = Field(max_length=80)
    outbox_event_id: uuid.UUID | None = Field(default=None)
    sequence_key: str = Field(max_length=120)
    position: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: WebhookDeliveryStatus = Field(
        default=WebhookDeliveryStatus.PENDING, sa_type=enum_type(WebhookDeliveryStatus)
    )
    attempts: int = Field(default=0)  # in all
    round_attempts: int = Field(default=0)  # since queued or sent again: decides the backoff
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = Field(default=None)
    last_error: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookAttempt(SQLModel, table=True):
    """The delivery log: one row per POST, what came back and how long it took."""

    __tablename__ = "webhook_attempt"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    delivery_id: uuid.UUID = Field(foreign_key="webhook_delivery.id", index=True, ondelete="CASCADE")
    attempted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    succeeded: bool = Field(default=False)
    status_code: int | None = Field(default=None)
    duration_ms: int = Field(default=0)
    error: str = Field(default="", max_length=500)
    response_excerpt: str = Field(default="", max_length=1024)
