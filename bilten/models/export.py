"""Background exports of an event's attendees or orders (CSV or XLSX), with their progress."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from bilten.models.base import UTCDateTime, enum_type, new_uuid, utcnow


class ExportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ExportKind(StrEnum):
    ATTENDEES = "attendees"
    ORDERS = "orders"


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class ExportJob(SQLModel, table=True):
    __tablename__ = "export_job"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    organization_id: uuid.UUID = Field(foreign_key="organization.id", index=True, ondelete="CASCADE")
    event_id: uuid.UUID = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    requested_by_user_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    kind: ExportKind = Field(sa_type=enum_type(ExportKind))
    file_format: ExportFormat = Field(sa_type=enum_type(ExportFormat))
    status: ExportStatus = Field(default=ExportStatus.QUEUED, sa_type=enum_type(ExportStatus), index=True)
    rows_total: int = Field(default=0)
    rows_done: int = Field(default=0)
    file_name: str = Field(default="", max_length=200)  # under EXPORT settings' folder once done
    error: str = Field(default="", max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
