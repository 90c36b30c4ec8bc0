"""Vouchers: codes that lower (or fix) the price of some ticket types of one event, or unlock its
hidden types, a limited number of times within a validity window."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from bilten.models.base import UTCDateTime, enum_type, new_uuid, utcnow


class VoucherKind(StrEnum):
    PERCENT = "percent"  # value: 1..100 percent off each covered ticket
    AMOUNT = "amount"  # value: minor units off each covered ticket (never below 0)
    PRICE = "price"  # value: the covered tickets' unit price, in minor units
    UNLOCK = "unlock"  # no discount: only unlocks hidden ticket types


class Voucher(SQLModel, table=True):
    __tablename__ = "voucher"
    __table_args__ = (
        # Codes are stored upper-case: one code per event, whatever case buyers type.
        UniqueConstraint("event_id", "code", name="uq_voucher_event_code"),
        # The use counter: taken by one guarded UPDATE per order (used < max_uses), given back
        # when a hold expires or an order is cancelled; the schema refuses anything out of range.
        CheckConstraint("used >= 0 AND used <= max_uses", name="ck_voucher_used"),
        CheckConstraint("value >= 0", name="ck_voucher_value"),
    )

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    event_id: uuid.UUID = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    code: str = Field(max_length=64)
    kind: VoucherKind = Field(sa_type=enum_type(VoucherKind))
    value: int = Field(default=0)
    max_uses: int = Field(default=1)
    used: int = Field(default=0)
    # Ticket type ids (as strings) the voucher covers; empty: every type of the event.
    ticket_type_ids: list[str] = Field(default_factory=list, sa_type=JSON)
    valid_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    valid_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    unlocks_hidden: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
