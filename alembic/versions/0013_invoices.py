"""invoices: sellers' legal details, a gap-free number sequence per organization, invoices and
credit notes, tax rates per ticket type, billing details on orders

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

import bilten.models.base
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMPTY = sa.text("'{}'")


def upgrade() -> None:
    op.create_table(
        "invoice_settings",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("legal_name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("vat_id", sa.String(length=40), nullable=False),
        sa.Column("prices_include_tax", sa.Boolean(), nullable=False),
        sa.Column("number_prefix", sa.String(length=12), nullable=False),
        sa.Column("updated_at", bilten.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("organization_id"),
    )
    op.create_table(
        "invoice_sequence",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("next_number", sa.Integer(), nullable=False),
        sa.CheckConstraint("next_number >= 1", name="ck_invoice_sequence_next"),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("organization_id"),
    )
    op.create_table(
        "invoice",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("sequence_number", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("refers_to_id", sa.Uuid(), nullable=True),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("net_minor", sa.Integer(), nullable=False),
        sa.Column("tax_minor", sa.Integer(), nullable=False),
        sa.Column("gross_minor", sa.Integer(), nullable=False),
        sa.Column("prices_include_tax", sa.Boolean(), nullable=False),
        sa.Column("seller", sa.JSON(), nullable=False),
        sa.Column("buyer", sa.JSON(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("tax_totals", sa.JSON(), nullable=False),
        sa.Column("event_title", sa.String(length=300), nullable=False),
        sa.Column("issued_at", bilten.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"]),
        sa.ForeignKeyConstraint(["order_id"], ["ticket_order.id"]),
        sa.ForeignKeyConstraint(["refers_to_id"], ["invoice.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organization_id", "sequence_number", name="uq_invoice_org_number"),
        sa.UniqueConstraint("order_id", "kind", name="uq_invoice_order_kind"),
    )
    op.create_index("ix_invoice_organization_id", "invoice", ["organization_id"])
    op.create_index("ix_invoice_order_id", "invoice", ["order_id"])
    op.create_index("ix_invoice_issued_at", "invoice", ["issued_at"])
    # Plain ADD COLUMN on both backends (no batch copy of tables others refer to).
    op.add_column("ticket_type", sa.Column("tax_rate_bp", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("ticket_order", sa.Column("billing", sa.JSON(), nullable=False, server_default=EMPTY))
    if op.get_bind().dialect.name != "sqlite":  # SQLite cannot add a constraint to a table in place
        op.create_check_constraint(
            "ck_ticket_type_tax_rate", "ticket_type", "tax_rate_bp >= 0 AND tax_rate_bp <= 10000"
        )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        op.drop_constraint("ck_ticket_type_tax_rate", "ticket_type", type_="check")
    for table, column in (("ticket_order", "billing"), ("ticket_type", "tax_rate_bp")):
        if sqlite:
            op.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
        else:
            op.drop_column(table, column)
    op.drop_table("invoice")
    op.drop_table("invoice_sequence")
    op.drop_table("invoice_settings")
