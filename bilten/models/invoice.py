"""Invoices and credit notes: a numbered, frozen snapshot of what was sold, to whom, with its taxes.

An issued document never changes: seller, buyer, lines and totals are copied onto it when it is
issued, so later edits to the organization's legal details or to ticket types leave it as it was.
Numbers come from one gap-free counter per organization (InvoiceSequence), shared by invoices and
credit notes (as pretix does): the accountant sees one unbroken series."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, UniqueConstraint
from sqlmodel import Column, Field, SQLModel

from bilten.models.base import UTCDateTime, enum_type, new_uuid, utcnow


class InvoiceKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class InvoiceSettings(SQLModel, table=True):
    """An organization's legal details as a seller, and how its prices are meant."""

    __tablename__ = "invoice_settings"

    organization_id: uuid.UUID = Field(foreign_key="organization.id", primary_key=True, ondelete="CASCADE")
    legal_name: str = Field(default="", max_length=200)
    address: str = Field(default="", max_length=500)
    vat_id: str = Field(default="", max_length=40)
    # True: ticket prices are gross (tax included); False: net, tax is added on top.
    prices_include_tax: bool = Field(default=True)
    number_prefix: str = Field(default="INV", max_length=12)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class InvoiceSequence(SQLModel, table=True):
    """The next number an organization's invoice or credit note gets. Drawn with one
    `UPDATE ... RETURNING` inside the paying transaction: the row stays locked until it commits, and
    a rollback gives the number back, so numbers are never reused and never skipped."""

    __tablename__ = "invoice_sequence"
    __table_args__ = (CheckConstraint("next_number >= 1", name="ck_invoice_sequence_next"),)

    organization_id: uuid.UUID = Field(foreign_key="organization.id", primary_key=True, ondelete="CASCADE")
    next_number: int = Field(default=1)


class Invoice(SQLModel, table=True):
    __tablename__ = "invoice"
    __table_args__ = (
        UniqueConstraint("organization_id", "sequence_number", name="uq_invoice_org_number"),
        UniqueConstraint("order_id", "kind", name="uq_invoice_order_kind"),
    )

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    organization_id: uuid.UUID = Field(foreign_key="organization.id", index=True)
    order_id: uuid.UUID = Field(foreign_key="ticket_order.id", index=True)
    kind: InvoiceKind = Field(default=InvoiceKind.INVOICE, sa_type=enum_type(InvoiceKind))
    sequence_number: int
    number: str = Field(max_length=40)  # e.g. INV-2026-00042
    # A credit note names the invoice it cancels.
    refers_to_id: uuid.UUID | None = Field(default=None, foreign_key="invoice.id")
    locale: str = Field(default="en", max_length=10)
    currency: str = Field(max_length=3)
    net_minor: int
    tax_minor: int
    gross_minor: int
    prices_include_tax: bool
    seller: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    buyer: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # [{"description", "quantity", "unit_net", "tax_rate_bp", "tax", "net", "gross"}], minor units
    lines: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # [{"tax_rate_bp", "net", "tax", "gross"}] per rate
    tax_totals: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    event_title: str = Field(default="", max_length=300)
    issued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
