"""vouchers: codes per event, and the voucher an order used

Revision ID: 0008
Revises: 0010
Create Date: 2026-12-04 13:30:00.000000

Numbered 0008 when it was written, it landed after 0009 (waiting list) and 0010 (checkout
questions): alembic follows `down_revision`, not file names, so the chain is 0007 -> 0009 -> 0010
-> 0008 -> ...
"""

from collections.abc import Sequence

import sqlalchemy as sa

import bilten.models.base
from alembic import op

revision: str = "0008"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "voucher",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "percent",
                "amount",
                "price",
                "unlock",
                name="voucherkind",
                native_enum=False,
                length=20,
                create_constraint=False,
            ),
            nullable=False,
        ),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("ticket_type_ids", sa.JSON(), nullable=False),
        sa.Column("valid_from", bilten.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("valid_until", bilten.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("unlocks_hidden", sa.Boolean(), nullable=False),
        sa.Column("created_at", bilten.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("used >= 0 AND used <= max_uses", name="ck_voucher_used"),
        sa.CheckConstraint("value >= 0", name="ck_voucher_value"),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "code", name="uq_voucher_event_code"),
    )
    op.create_index(op.f("ix_voucher_event_id"), "voucher", ["event_id"], unique=False)
    # Plain ALTERs, no batch copy: copying ticket_order on SQLite (foreign keys on) would cascade
    # into its lines and tickets. Hence no foreign key on voucher_id (see models/order.py).
    op.add_column("ticket_order", sa.Column("voucher_id", sa.Uuid(), nullable=True))
    op.add_column("ticket_order", sa.Column("discount_minor", sa.Integer(), nullable=False, server_default="0"))
    op.create_index(op.f("ix_ticket_order_voucher_id"), "ticket_order", ["voucher_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ticket_order_voucher_id"), table_name="ticket_order")
    op.drop_column("ticket_order", "discount_minor")
    op.drop_column("ticket_order", "voucher_id")
    op.drop_index(op.f("ix_voucher_event_id"), table_name="voucher")
    op.drop_table("voucher")
