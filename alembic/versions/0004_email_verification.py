"""email verification, login unlock links

Adds user_account.email_verified_at (accounts that exist already count as verified: they were
made before the rule), email_verification (one-time links, hashes only, with the organization
name of an organizer's sign-up) and login_unlock (the links emailed when guessing locks an
address).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import bilten.models.base
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_verified_at", bilten.models.base.UTCDateTime(timezone=True), nullable=True)
        )
    # Existing accounts predate verification: they count as verified since they were created.
    op.execute("UPDATE user_account SET email_verified_at = created_at")

    op.create_table(
        "email_verification",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("organization_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", bilten.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", bilten.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", bilten.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("email_verification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_email_verification_token_hash"), ["token_hash"], unique=True)
        batch_op.create_index(batch_op.f("ix_email_verification_user_id"), ["user_id"], unique=False)

    op.create_table(
        "login_unlock",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", bilten.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", bilten.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_at", bilten.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("used_at", bilten.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_unlock", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_unlock_token_hash"), ["token_hash"], unique=True)
        batch_op.create_index(batch_op.f("ix_login_unlock_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_unlock", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_unlock_user_id"))
        batch_op.drop_index(batch_op.f("ix_login_unlock_token_hash"))
    op.drop_table("login_unlock")
    with op.batch_alter_table("email_verification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_verification_user_id"))
        batch_op.drop_index(batch_op.f("ix_email_verification_token_hash"))
    op.drop_table("email_verification")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("email_verified_at")
