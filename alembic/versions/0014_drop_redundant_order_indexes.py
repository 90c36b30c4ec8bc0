"""drop the plain status and hold_expires_at indexes of ticket_order (the partial index of pending
holds, 0006, serves the sweeper; every other query on them starts from the event, the buyer or
the order's id)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 16:20:00.000000

Each index costs a write whenever an order changes status (the sweeper's expiries and the payments
rewrite the row: a status index entry and an expiry index entry each time) and a write per sale.
Read in the code (2026-12-04): every query filtering on `status` or `hold_expires_at` also filters
on `event_id`, `buyer_email`, `user_id`, `voucher_id` or the order's id, each indexed, or is the
sweeper's walk (the partial index); see bench/README.md, "Sweeper under load", for the plans.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_ticket_order_status", table_name="ticket_order")
    op.drop_index("ix_ticket_order_hold_expires_at", table_name="ticket_order")


def downgrade() -> None:
    op.create_index("ix_ticket_order_hold_expires_at", "ticket_order", ["hold_expires_at"], unique=False)
    op.create_index("ix_ticket_order_status", "ticket_order", ["status"], unique=False)
