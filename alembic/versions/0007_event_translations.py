"""event texts in several languages: main language, venue notes, translations

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 13:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMPTY = sa.text("'{}'")


def upgrade() -> None:
    # Existing events keep their texts as the main language: English, the platform's first language
    # (an operator with another DEFAULT_LOCALE sets each event's language in the editor).
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("venue_notes", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("main_language", sa.String(length=8), nullable=False, server_default="en"))
        batch_op.add_column(sa.Column("translations", sa.JSON(), nullable=False, server_default=EMPTY))
    with op.batch_alter_table("ticket_type", schema=None) as batch_op:
        batch_op.add_column(sa.Column("translations", sa.JSON(), nullable=False, server_default=EMPTY))


def downgrade() -> None:
    with op.batch_alter_table("ticket_type", schema=None) as batch_op:
        batch_op.drop_column("translations")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("translations")
        batch_op.drop_column("main_language")
        batch_op.drop_column("venue_notes")
