"""Events, their ticket types and the staff assigned to scan at their doors."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Text, UniqueConstraint, text
from sqlalchemy import true as sa_true
from sqlmodel import Column, Field, SQLModel

from bilten.models.base import UTCDateTime, enum_type, new_uuid, utcnow

# Texts an organizer gives per language, besides the main-language text in the field's own column:
# {"title": {"de": "...", "fr": "..."}, "description": {...}} (see services/translations.py).
Translations = dict[str, dict[str, str]]


def _translations_column() -> Column:
    return Column(JSON, nullable=False, server_default=text("'{}'"))


class EventStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class Event(SQLModel, table=True):
    __tablename__ = "event"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    organization_id: uuid.UUID = Field(foreign_key="organization.id", index=True)
    title: str = Field(max_length=200)
    slug: str = Field(max_length=120, index=True)
    description: str = Field(default="", sa_type=Text)
    status: EventStatus = Field(default=EventStatus.DRAFT, sa_type=enum_type(EventStatus), index=True)
    venue_name: str = Field(default="", max_length=200)
    venue_address: str = Field(default="", max_length=300)
    city: str = Field(default="", max_length=100, index=True)
    timezone: str = Field(default="UTC", max_length=64)
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    image_url: str = Field(default="", max_length=500)
    # How to get in, where to park, what to bring: shown on the event page and with the tickets.
    venue_notes: str = Field(default="", sa_type=Text)
    # The language of the texts in the columns above; `translations` holds the other languages
    # (title, description, venue_notes), and readers without one of them get the main language.
    main_language: str = Field(default="en", max_length=8, sa_column_kwargs={"server_default": "en"})
    translations: Translations = Field(default_factory=dict, sa_column=_translations_column())
    # May ticket holders hand their tickets to someone else (services/ticket_transfer.py)?
    allow_ticket_transfer: bool = Field(default=True, sa_column_kwargs={"server_default": sa_true()})
    # Ed25519 key pair for signed ticket codes; the private half never leaves the server.
    signing_public_key: str = Field(default="", max_length=64)
    signing_private_key_sealed: str = Field(default="", max_length=200)  # AES-GCM under SECRET_KEY
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TicketType(SQLModel, table=True):
    __tablename__ = "ticket_type"
    __table_args__ = (
        CheckConstraint("price_minor >= 0", name="ck_ticket_type_price"),
        CheckConstraint("quantity >= 0", name="ck_ticket_type_quantity"),
        CheckConstraint("reserved >= 0 AND reserved <= quantity", name="ck_ticket_type_reserved"),
        CheckConstraint("min_per_order >= 1 AND max_per_order >= min_per_order", name="ck_ticket_type_limits"),
        CheckConstraint("tax_rate_bp >= 0 AND tax_rate_bp <= 10000", name="ck_ticket_type_tax_rate"),
    )

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    event_id: uuid.UUID = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=120)
    description: str = Field(default="", max_length=500)
    price_minor: int = Field(default=0)
    currency: str = Field(default="EUR", max_length=3)
    quantity: int = Field(default=0)
    # Seats held by pending orders or sold: changed only by one conditional UPDATE per order,
    # so two buyers can never take the same seat.
    reserved: int = Field(default=0)
    sales_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sales_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    min_per_order: int = Field(default=1)
    max_per_order: int = Field(default=10)
    position: int = Field(default=0)
    # Hidden types are not listed to buyers and cannot be bought through the public shop.
    is_hidden: bool = Field(default=False)
    # Tax rate on invoices, in basis points (1900 = 19 %); see services/invoices.py.
    tax_rate_bp: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Name and description in the event's other languages: {"name": {"de": ...}, "description": {...}}.
    translations: Translations = Field(default_factory=dict, sa_column=_translations_column())


class StaffAssignment(SQLModel, table=True):
    """A staff account allowed to scan at an event, optionally at one gate only."""

    __tablename__ = "staff_assignment"
    __table_args__ = (UniqueConstraint("event_id", "user_id"),)

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    event_id: uuid.UUID = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    gate: str = Field(default="", max_length=60)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
