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
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True))

    connection = op.get_bind()
    ticket = sa.table("ticket", sa.column("id", sa.Uuid()), sa.column("reference", sa.String(10)))
    taken: set[str] = set()
    while True:
        ids = (
            connection.execute(sa.select(ticket.c.id).where(ticket.c.reference.is_(None)).limit(BATCH)).scalars().all()
        )
        if not ids:
            break
        connection.execute(
            ticket.update().where(ticket.c.id == sa.bindparam("ticket_id")).values(reference=sa.bindparam("ref")),
            [{"ticket_id": ticket_id, "ref": _draw(taken)} for ticket_id in ids],
        )

    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.alter_column("reference", existing_type=sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False)
        batch_op.create_index(batch_op.f("ix_ticket_reference"), ["reference"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_reference"))
        batch_op.drop_column("reference")
