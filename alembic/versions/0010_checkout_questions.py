"""questions at checkout and their answers

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 13:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import bilten.models.base
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("text", "number", "choice", "multiple_choice", "yes_no", "date", "country", "phone")


def upgrade() -> None:
    op.create_table(
        "question",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("kind", sa.Enum(*KINDS, name="questionkind", native_enum=False, length=20), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("per_ticket", sa.Boolean(), nullable=False),
        sa.Column("ticket_type_ids", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("allow_buyer_edit", sa.Boolean(), nullable=False),
        sa.Column("created_at", bilten.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", bilten.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_question_event_id"), ["event_id"], unique=False)

    op.create_table(
        "answer",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("question_id", sa.Uuid(), nullable=False),
        sa.Column("ticket_index", sa.Integer(), nullable=False),
        sa.Column("ticket_type_id", sa.Uuid(), nullable=True),
        sa.Column("ticket_id", sa.Uuid(), nullable=True),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("updated_at", bilten.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["ticket_order.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["question_id"], ["question.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.ForeignKeyConstraint(["ticket_type_id"], ["ticket_type.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id", "question_id", "ticket_index", name="uq_answer_slot"),
    )
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_answer_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_answer_question_id"), ["question_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_answer_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_answer_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_answer_question_id"))
        batch_op.drop_index(batch_op.f("ix_answer_order_id"))
    op.drop_table("answer")
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_question_event_id"))
    op.drop_table("question")
