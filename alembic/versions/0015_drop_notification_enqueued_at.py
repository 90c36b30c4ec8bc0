"""drop notification.enqueued_at (unused since the email worker claims batches in lanes instead of
putting notifications on a Redis queue)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 19:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

import bilten.models.base
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN on both backends (SQLite >= 3.35): the column has no index
    # or constraint, so no batch copy of the table is needed.
    op.drop_column("notification", "enqueued_at")


def downgrade() -> None:
    op.add_column(
        "notification", sa.Column("enqueued_at", bilten.models.base.UTCDateTime(timezone=True), nullable=True)
    )
