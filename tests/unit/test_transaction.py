"""The one transaction rule (services/transaction.py) and the one table of order status moves."""

from __future__ import annotations

import sqlite3
import uuid

import psycopg
import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, create_engine, select

from bilten.models import Order, OrderStatus, User
from bilten.services.errors import TryAgain
from bilten.services.orders import IllegalTransition, change_status
from bilten.services.orders.status import TRANSITIONS
from bilten.services.transaction import assert_no_transaction, is_lock_timeout, lock_rows, transaction
from tests.factories import make_user


def emails(engine) -> set[str]:
    with Session(engine) as other:
        return set(other.exec(select(User.email)).all())


def test_a_block_that_ends_normally_is_committed(session, sqlite_engine, now):
    with transaction(session):
        session.add(User(email="kept@example.org", password_hash="-", created_at=now, password_changed_at=now))
    assert not session.in_transaction()
    assert "kept@example.org" in emails(sqlite_engine)


def test_any_error_rolls_the_whole_block_back_and_goes_on(session, sqlite_engine, now):
    with pytest.raises(ValueError, match="refused"), transaction(session):
        session.add(User(email="dropped@example.org", password_hash="-", created_at=now, password_changed_at=now))
        session.flush()
        raise ValueError("refused")
    assert not session.in_transaction()
    assert "dropped@example.org" not in emails(sqlite_engine)


def test_a_lock_wait_cut_short_becomes_try_again_on_sqlite(tmp_path, now):
    engine = create_engine(f"sqlite:///{tmp_path / 'locks.db'}", connect_args={"timeout": 0.1})
    SQLModel.metadata.create_all(engine)
    holder = engine.raw_connection()
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
    try:
        with Session(engine) as session, pytest.raises(TryAgain), transaction(session):
            session.add(User(email="late@example.org", password_hash="-", created_at=now, password_changed_at=now))
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"), True),  # raised in a pipeline
        (OperationalError("UPDATE", {}, psycopg.errors.LockNotAvailable("lock timeout")), True),  # wrapped
        (OperationalError("UPDATE", {}, sqlite3.OperationalError("database is locked")), True),
        (psycopg.errors.UniqueViolation("duplicate key"), False),
        (OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: ticket")), False),
        (ValueError("lock timeout"), False),  # the words alone do not make a lock timeout
    ],
)
def test_one_rule_tells_a_lock_timeout_on_both_databases(error, expected):
    assert is_lock_timeout(error) is expected


def test_lock_rows_reads_rows_in_id_order_and_leaves_out_missing_ones(session, now):
    made = [make_user(session, now=now) for _ in range(3)]
    with transaction(session):
        locked = lock_rows(session, User, [made[2].id, uuid.uuid4(), made[0].id, made[1].id, made[0].id])
    assert [user.id for user in locked] == sorted(user.id for user in made)
    assert lock_rows(session, User, []) == []


def test_no_network_call_with_a_transaction_open(session, now):
    make_user(session, now=now)
    session.exec(select(User)).all()  # a read begins a transaction
    with pytest.raises(RuntimeError):
        assert_no_transaction(session)
    session.commit()
    assert_no_transaction(session)


def test_order_status_moves_follow_the_one_table(now):
    order = Order(event_id=uuid.uuid4(), buyer_email="a@example.org", currency="EUR", hold_expires_at=now)
    change_status(order, OrderStatus.PAID, now=now)
    assert (order.status, order.paid_at, order.hold_expires_at) == (OrderStatus.PAID, now, None)
    change_status(order, OrderStatus.REFUNDED, now=now)
    assert order.cancelled_at == now
    with pytest.raises(IllegalTransition):
        change_status(order, OrderStatus.PENDING, now=now)
    assert TRANSITIONS[OrderStatus.REFUNDED] == frozenset()  # refunded is final
    assert all(OrderStatus.PENDING not in targets for targets in TRANSITIONS.values())  # nothing goes back to pending
