"""pending holds by expiry: a partial index for the sweeper

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 10:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table("ticket_order", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ticket_order_pending_hold",
            ["hold_expires_at"],
            unique=False,
            postgresql_where=PENDING,
            sqlite_where=PENDING,
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket_order", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_order_pending_hold")
