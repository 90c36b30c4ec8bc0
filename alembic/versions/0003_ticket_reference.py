"""ticket reference: a short code a person can type at the door

Adds `ticket.reference` (ten characters of Crockford base32, unique) and gives every existing
ticket one, drawn from `secrets` as new tickets get theirs (bilten/services/ticket_references.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 03:00:00.000000
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here on purpose: a migration must not change when the app's module does.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_LENGTH = 10
BATCH = 1000


def _draw(taken: set[str]) -> str:
    while True:
        reference = "".join(secrets.choice(ALPHABET) for _ in range(REFERENCE_LENGTH))
        if reference not in taken:
            taken.add(reference)
            return reference


def upgrade() -> None:
    # Plain ALTER TABLE statements, no batch copy: on SQLite a batch recreates `ticket`, and dropping
    # the old table fails while check-ins and replacement tickets point at it (foreign keys are on).
    # SQLite adds a NOT NULL column only with a default: '' until every row is filled just below.
    op.add_column(
        "ticket",
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False, server_default=""),
    )
    connection = op.get_bind()
    ticket = sa.table("ticket", sa.column("id", sa.Uuid()), sa.column("reference", sa.String(10)))
    taken: set[str] = set()
    while True:
        ids = connection.execute(sa.select(ticket.c.id).where(ticket.c.reference == "").limit(BATCH)).scalars().all()
        if not ids:
            break
        connection.execute(
            ticket.update().where(ticket.c.id == sa.bindparam("ticket_id")).values(reference=sa.bindparam("ref")),
            [{"ticket_id": ticket_id, "ref": _draw(taken)} for ticket_id in ids],
        )
    op.create_index(op.f("ix_ticket_reference"), "ticket", ["reference"], unique=True)
    if connection.dialect.name != "sqlite":  # SQLite cannot drop a default in place; the app always sets one
        op.alter_column("ticket", "reference", server_default=None)


def downgrade() -> None:
    op.drop_index(op.f("ix_ticket_reference"), table_name="ticket")
    op.drop_column("ticket", "reference")  # SQLite >= 3.35 drops a column in place
