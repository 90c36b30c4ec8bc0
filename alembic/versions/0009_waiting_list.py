"""waiting list: entries per ticket type and each event's settings

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-04 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import bilten.models.base
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("state IN ('waiting', 'offered')")
WAITING = sa.text("state = 'waiting'")
OFFERED = sa.text("state = 'offered'")


def upgrade() -> None:
    op.create_table(
        "waiting_list_entry",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("ticket_type_id", sa.Uuid(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("locale", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "waiting",
                "offered",
                "redeemed",
                "expired",
                "removed",
                name="waitingstate",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("created_at", bilten.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("offered_at", bilten.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("offer_expires_at", bilten.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("changed_at", bilten.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["order_id"], ["ticket_order.id"]),
        sa.ForeignKeyConstraint(["ticket_type_id"], ["ticket_type.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("waiting_list_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_waiting_list_entry_event_id"), ["event_id"], unique=False)
        batch_op.create_index(
            "uq_waiting_list_entry_active",
            ["ticket_type_id", "email"],
            unique=True,
            postgresql_where=ACTIVE,
            sqlite_where=ACTIVE,
        )
        batch_op.create_index(
            "ix_waiting_list_entry_line",
            ["ticket_type_id", "created_at", "id"],
            unique=False,
            postgresql_where=WAITING,
            sqlite_where=WAITING,
        )
        batch_op.create_index(
            "ix_waiting_list_entry_offer_expiry",
            ["offer_expires_at"],
            unique=False,
            postgresql_where=OFFERED,
            sqlite_where=OFFERED,
        )
    op.create_table(
        "waiting_list_settings",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("offer_hours", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("event_id"),
    )


def downgrade() -> None:
    op.drop_table("waiting_list_settings")
    with op.batch_alter_table("waiting_list_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_waiting_list_entry_offer_expiry")
        batch_op.drop_index("ix_waiting_list_entry_line")
        batch_op.drop_index("uq_waiting_list_entry_active")
        batch_op.drop_index(batch_op.f("ix_waiting_list_entry_event_id"))
    op.drop_table("waiting_list_entry")
