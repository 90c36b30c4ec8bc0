"""Orders, their lines, the tickets they issue and the payments that pay for them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, UniqueConstraint, text
from sqlmodel import Column, Field, SQLModel

from bilten.models.base import UTCDateTime, enum_type, new_uuid, utcnow


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class Order(SQLModel, table=True):
    __tablename__ = "ticket_order"  # "order" is an SQL reserved word
    __table_args__ = (
        # The sweeper's walk: pending holds by expiry. Partial, so the ever-growing history of
        # expired and cancelled orders (which keep their expiry time) is never scanned again.
        Index(
            "ix_ticket_order_pending_hold",
            "hold_expires_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    event_id: uuid.UUID = Field(foreign_key="event.id", index=True)
    user_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id", index=True)
    # No index of its own on status or hold_expires_at (migration 0014): queries reach orders by
    # event, buyer, user or voucher first, and the sweeper walks the partial index above.
    status: OrderStatus = Field(default=OrderStatus.PENDING, sa_type=enum_type(OrderStatus))
    buyer_email: str = Field(max_length=254, index=True)
    buyer_phone: str = Field(default="", max_length=32)
    buyer_name: str = Field(default="", max_length=200)
    locale: str = Field(default="en", max_length=10)
    total_minor: int = Field(default=0)
    currency: str = Field(max_length=3)
    payment_provider: str = Field(default="", max_length=40)
    payment_reference: str = Field(default="", max_length=255, index=True)
    hold_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The voucher this order used (one use per order) and what it took off the total. Not a database
    # foreign key: adding one to this table on SQLite means copying the table, which with foreign
    # keys on cascades into its lines and tickets. A voucher an order used is never deleted
    # (services/vouchers.py), so the link cannot dangle.
    voucher_id: uuid.UUID | None = Field(default=None, index=True)
    discount_minor: int = Field(default=0)
    # Optional company details for the invoice: {"company", "address", "vat_id"} (services/invoices.py).
    billing: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default=text("'{}'"))
    )


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_line"
    __table_args__ = (CheckConstraint("quantity > 0", name="ck_order_line_quantity"),)

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    order_id: uuid.UUID = Field(foreign_key="ticket_order.id", index=True, ondelete="CASCADE")
    ticket_type_id: uuid.UUID = Field(foreign_key="ticket_type.id", index=True)
    quantity: int
    unit_price_minor: int
    line_total_minor: int


class TicketStatus(StrEnum):
    VALID = "valid"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    REISSUED = "reissued"  # replaced by a new code (e.g. the old one leaked); revoked at the door
    TRANSFERRED = "transferred"  # handed to someone else with a new code; revoked at the door


class Ticket(SQLModel, table=True):
    __tablename__ = "ticket"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    order_id: uuid.UUID = Field(foreign_key="ticket_order.id", index=True)
    order_line_id: uuid.UUID = Field(foreign_key="order_line.id", index=True)
    event_id: uuid.UUID = Field(foreign_key="event.id", index=True)
    ticket_type_id: uuid.UUID = Field(foreign_key="ticket_type.id", index=True)
    code: str = Field(max_length=200, unique=True, index=True)
    # What a person types at the door (bilten.services.ticket_references), stored without dashes.
    reference: str = Field(max_length=10, unique=True, index=True)
    holder_name: str = Field(default="", max_length=200)
    replaces_ticket_id: uuid.UUID | None = Field(default=None, foreign_key="ticket.id")
    # Set on a ticket received by transfer (services/ticket_transfer.py) and kept when its code is
    # reissued: its holder's own link is signed over it, and the order's link no longer controls it.
    transfer_id: uuid.UUID | None = Field(default=None)
    holder_email: str = Field(default="", max_length=254, sa_column_kwargs={"server_default": ""})
    status: TicketStatus = Field(default=TicketStatus.VALID, sa_type=enum_type(TicketStatus))
    issued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PaymentStatus(StrEnum):
    CREATED = "created"
    PENDING = "pending"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    CANCELED = "canceled"
    REFUNDED = "refunded"


class Payment(SQLModel, table=True):
    __tablename__ = "payment"
    __table_args__ = (UniqueConstraint("provider", "provider_reference"),)

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    order_id: uuid.UUID = Field(foreign_key="ticket_order.id", index=True)
    provider: str = Field(max_length=40)
    provider_reference: str = Field(max_length=255)  # e.g. the Stripe Checkout Session id
    provider_payment_id: str = Field(default="", max_length=255)  # e.g. the Stripe PaymentIntent, for refunds
    checkout_url: str = Field(default="", max_length=1000)
    status: PaymentStatus = Field(default=PaymentStatus.CREATED, sa_type=enum_type(PaymentStatus))
    amount_minor: int
    currency: str = Field(max_length=3)
    refunded_minor: int = Field(default=0)
    idempotency_key: str = Field(max_length=100, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ProcessedWebhook(SQLModel, table=True):
    """Each provider event id handled once, whatever the number of deliveries."""

    __tablename__ = "processed_webhook"

    provider: str = Field(primary_key=True, max_length=40)
    event_id: str = Field(primary_key=True, max_length=255)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
