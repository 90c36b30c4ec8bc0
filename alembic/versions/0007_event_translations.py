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
    # Plain ALTER TABLE ADD COLUMN on both backends (no batch copy of `event`, which other tables'
    # foreign keys refer to); the defaults fill the rows that exist.
    op.add_column("event", sa.Column("venue_notes", sa.Text(), nullable=False, server_default=""))
    op.add_column("event", sa.Column("main_language", sa.String(length=8), nullable=False, server_default="en"))
    op.add_column("event", sa.Column("translations", sa.JSON(), nullable=False, server_default=EMPTY))
    op.add_column("ticket_type", sa.Column("translations", sa.JSON(), nullable=False, server_default=EMPTY))


DROPPED = (
    ("ticket_type", "translations"),
    ("event", "translations"),
    ("event", "main_language"),
    ("event", "venue_notes"),
)


def downgrade() -> None:
    # SQLite drops these plain columns in place (3.35+): batch mode would copy and re-create
    # `event`, which other tables' foreign keys (ON DELETE CASCADE) refer to.
    for table, column in DROPPED:
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
        else:
            op.drop_column(table, column)
