"""Holds that ran out give their seats back, in small batches, while the sale goes on.

What a batch guarantees (`release_expired_batch`, one transaction):
- Each expired hold is released exactly once. The batch's orders are locked with
  `FOR UPDATE SKIP LOCKED` and re-checked as pending under the lock, so a second sweeper, a buyer
  paying or an organizer cancelling at that moment never sees the same order released twice; an
  order being paid right now is skipped and left to its payment.
- One sweeper at a time on PostgreSQL: every web worker runs the sweep loop, but a batch first
  takes a transaction-level advisory lock and gives way when another sweeper holds it (several
  sweepers would only queue behind each other and the buyers on the same ticket-type rows). The
  lock ends with the transaction, so a sweeper that dies never blocks the next one.
- Buyers barely wait. The seats go back with ONE decrement per ticket type per batch, sent last
  and together with the COMMIT in one round trip (as `place_order` does), so the hot ticket-type
  row is locked for the server's time only. The schema's CHECK (0 <= reserved <= quantity) guards
  it: a count that would go below zero aborts the whole batch, nothing is half released.
- Cheap for the database: a few set-wise statements per batch (the audit entries in one INSERT),
  committed without waiting for the disk (`synchronous_commit = off`, this transaction only): a
  crash may forget the last batches, which are then simply released again.
- As before: an `order.expired` audit entry per order; open checkouts are cancelled and returned,
  for the caller to make unpayable at the provider after the commit (a network call never holds
  a lock); pages and dashboards learn the new counts.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, func, insert, select, text, update
from sqlmodel import Session, col

from bilten import live
from bilten.debounce import Debouncer
from bilten.models import AuditEntry, Order, OrderLine, OrderStatus, Payment, PaymentStatus, TicketType
from bilten.observability import metrics
from bilten.services import orders, vouchers
from bilten.services.waiting_offers import hand_on_seats

BATCH_SIZE = 200
# pg_try_advisory_xact_lock key of the sweeper ("bilten" + 1 in ASCII): no other lock uses it.
SWEEPER_LOCK_KEY = 0x62696C74656E01
SEATS_PUBLISH_DELAY_SECONDS = 0.25


@dataclass(frozen=True)
class ReleasedHold:
    order_id: uuid.UUID
    event_id: uuid.UUID
    open_checkouts: list[tuple[str, str]]  # (provider, provider_reference) to make unpayable


def release_expired_batch(session: Session, *, now: datetime, limit: int = BATCH_SIZE) -> list[ReleasedHold] | None:
    """Expire up to `limit` pending orders whose hold ran out by `now`, return their seats and
    commit. Returns the released holds (fewer than `limit`: none are left), or None when another
    sweeper is at work on PostgreSQL (this one should stop)."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    if postgresql and not session.execute(_TRY_SWEEPER_LOCK).scalar_one():
        session.rollback()
        return None
    if postgresql:
        # A crash may forget the last batches committed: they are simply released again.
        session.execute(_COMMIT_WITHOUT_WAITING_FOR_DISK)
    found = session.execute(_EXPIRED_HOLDS, {"now": now, "limit": limit}).all()
    if not found:
        session.rollback()
        return []
    order_ids = [order_id for order_id, _, _ in found]
    seats = session.execute(_SEATS_HELD, {"order_ids": order_ids}).all()
    session.execute(_MARK_EXPIRED, {"order_ids": order_ids})
    vouchers.give_back_uses(session, order_ids)  # their voucher uses, before the seats (placing's lock order)
    checkouts = defaultdict(list)
    paying = [order_id for order_id, _, provider in found if provider]  # a checkout was opened
    if paying:
        for order_id, provider, reference in session.execute(_CANCEL_OPEN_PAYMENTS, {"order_ids": paying, "now": now}):
            checkouts[order_id].append((provider, reference))
    if postgresql:  # one statement writes the batch's entries: a fraction of 200 single-row inserts
        session.execute(_AUDIT_EXPIRIES, {"order_ids": order_ids, "now": now})
    else:
        session.connection().execute(_AUDIT_INSERT, [_expiry_audit_row(order_id, now) for order_id in order_ids])

    # Freed seats go to the waiting list first (their offers keep them held), the rest back on sale.
    offered = hand_on_seats(session, [(type_id, quantity) for type_id, quantity in seats], now=now)
    given_back = [(type_id, quantity - offered.get(type_id, 0)) for type_id, quantity in seats]
    given_back = [(type_id, quantity) for type_id, quantity in given_back if quantity > 0]
    if postgresql:
        _return_seats_and_commit_in_one_round_trip(session, given_back)
    else:
        for type_id, quantity in given_back:
            session.execute(_GIVE_BACK_SEATS, {"type_id": type_id, "n": quantity})
        session.commit()

    metrics.count_order("expired", len(found))  # committed just above
    for event_id in {event_id for _, event_id, _ in found}:
        _publish_seats_left(session, event_id)
    return [
        ReleasedHold(order_id=order_id, event_id=event_id, open_checkouts=checkouts.get(order_id, []))
        for order_id, event_id, _ in found
    ]


def _return_seats_and_commit_in_one_round_trip(session: Session, seats: Sequence[Any]) -> None:
    raw: Any = session.connection().connection.driver_connection  # psycopg's connection (PostgreSQL only)
    with raw.pipeline():
        for type_id, quantity in seats:  # sorted by id, as buyers lock them: no deadlock
            session.execute(_GIVE_BACK_SEATS, {"type_id": type_id, "n": quantity})
        raw.commit()
    session.commit()  # SQLAlchemy's bookkeeping: the database has committed already


def _expiry_audit_row(order_id: uuid.UUID, now: datetime) -> dict:
    return {
        "id": uuid.uuid4(),
        "action": "order.expired",
        "object_type": "order",
        "object_id": str(order_id),
        "actor_user_id": None,
        "organization_id": None,
        "data": {},
        "created_at": now,
    }


# Built once: the sweeper runs these a few hundred times in a rush.
_TRY_SWEEPER_LOCK = select(func.pg_try_advisory_xact_lock(SWEEPER_LOCK_KEY))
_AUDIT_INSERT = insert(AuditEntry.__table__)  # type: ignore[attr-defined]  # SQLModel tables have one
_AUDIT_EXPIRIES = text(
    "INSERT INTO audit_entry (id, action, object_type, object_id, data, created_at) "
    "SELECT gen_random_uuid(), 'order.expired', 'order', order_id::text, '{}', :now "
    "FROM unnest(CAST(:order_ids AS uuid[])) AS order_id"
)
_COMMIT_WITHOUT_WAITING_FOR_DISK = text("SET LOCAL synchronous_commit = off")
_EXPIRED_HOLDS = (
    select(col(Order.id), col(Order.event_id), col(Order.payment_provider))
    # A literal status (not a parameter): the planner can then use the partial index of pending holds.
    .where(text("ticket_order.status = 'pending'"), col(Order.hold_expires_at) <= bindparam("now"))
    .order_by(col(Order.hold_expires_at))
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)  # not rendered on SQLite, where one writer runs at a time
)
_SEATS_HELD = (
    select(col(OrderLine.ticket_type_id), func.sum(OrderLine.quantity))
    .where(col(OrderLine.order_id).in_(bindparam("order_ids", expanding=True)))
    .group_by(col(OrderLine.ticket_type_id))
    .order_by(col(OrderLine.ticket_type_id))
)
_MARK_EXPIRED = (
    update(Order)
    .where(col(Order.id).in_(bindparam("order_ids", expanding=True)))
    .values(status=OrderStatus.EXPIRED)
    .execution_options(synchronize_session=False)
)
_CANCEL_OPEN_PAYMENTS = (
    update(Payment)
    .where(
        col(Payment.order_id).in_(bindparam("order_ids", expanding=True)),
        col(Payment.status).in_([PaymentStatus.CREATED, PaymentStatus.PENDING]),
    )
    .values(status=PaymentStatus.CANCELED, updated_at=bindparam("now"))
    .returning(col(Payment.order_id), col(Payment.provider), col(Payment.provider_reference))
    .execution_options(synchronize_session=False)
)
_GIVE_BACK_SEATS = (  # guarded by the CHECK constraint: below zero aborts the batch
    update(TicketType)
    .where(col(TicketType.id) == bindparam("type_id"))
    .values(reserved=TicketType.reserved - bindparam("n"))
    .execution_options(synchronize_session=False)
)


# ---------------------------------------------------------------------------------------------
# Telling open pages


def _publish_seats_left(session: Session, event_id: uuid.UUID) -> None:
    """After commit. A long sweep commits several batches a second: the first is published at
    once, then at most one fresh count per quarter second and event. (SQLite publishes at once:
    its in-memory test databases share one connection a timer thread must not use.)"""
    engine = session.get_bind()
    if engine.dialect.name == "sqlite":
        _publish(event_id, orders.availability(session, event_id))
        session.commit()  # ends the read transaction
    else:
        _seats_publisher.schedule(event_id, engine, event_id)


def _publish_in_new_session(engine: Engine, event_id: uuid.UUID) -> None:
    with Session(engine) as session:
        _publish(event_id, orders.availability(session, event_id))


def _publish(event_id: uuid.UUID, left: dict[str, int]) -> None:
    live.publish(live.inventory_channel(event_id), {"event_id": str(event_id), "available": left})


_seats_publisher = Debouncer(SEATS_PUBLISH_DELAY_SECONDS, _publish_in_new_session)
wait_for_pending_publishes = _seats_publisher.wait
