"""Who did what to which object, and when."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Column, Field, SQLModel

from bilten.models.base import UTCDateTime, new_uuid, utcnow


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    action: str = Field(max_length=80, index=True)  # e.g. "order.placed", "user.logged_in"
    actor_user_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id", index=True)
    object_type: str = Field(max_length=40)
    object_id: str = Field(max_length=64, index=True)
    organization_id: uuid.UUID | None = Field(default=None, foreign_key="organization.id", index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
