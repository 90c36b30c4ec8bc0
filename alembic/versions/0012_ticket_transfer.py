"""ticket transfer: events allow or forbid it, transferred tickets know their holder's address

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both backends (no batch copy of tables other foreign keys refer to).
    # Existing events allow transfers, like new ones (the organizer forbids them in the editor).
    op.add_column("event", sa.Column("allow_ticket_transfer", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column("ticket", sa.Column("transfer_id", sa.Uuid(), nullable=True))
    op.add_column("ticket", sa.Column("holder_email", sa.String(length=254), nullable=False, server_default=""))


DROPPED = (("ticket", "holder_email"), ("ticket", "transfer_id"), ("event", "allow_ticket_transfer"))


def downgrade() -> None:
    # Tickets handed over keep their rows; their old codes stay revoked as "cancelled".
    op.execute("UPDATE ticket SET status = 'cancelled' WHERE status = 'transferred'")
    for table, column in DROPPED:
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_column(table, column)
