"""One transaction rule for every service: commit on success, roll back on any error, lock waits
capped and turned into one "try again" answer, rows locked in one order, no transaction open
during a network call.

    with transaction(session):
        order = lock_rows(session, Order, [order_id])[0]
        ...                                  # no commit, no rollback by hand

A service is one use case and (normally) one transaction; a use case that must call a payment
provider splits around it: read in one transaction, `assert_no_transaction`, call the network,
write in a second transaction that re-reads under lock. (pretix: `transaction.atomic()` plus
`base/services/locking.py`; cosmicpython: a unit of work that rolls back unless committed.)
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, SQLModel, select

from bilten.services.errors import TryAgain

Row = TypeVar("Row", bound=SQLModel)

POSTGRES_LOCK_NOT_AVAILABLE = "55P03"  # SQLSTATE of a wait cut short by lock_timeout (db.py: 3 s)


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """Run the block as one transaction: commit when it ends normally, roll back when anything is
    raised (a domain error included), and answer a lock wait that hit its cap with TryAgain.

    Whatever the session read before the block belongs to the same transaction (SQLAlchemy begins
    one on first use); a block may return early: what it wrote so far is committed."""
    try:
        yield session
        session.commit()
    except BaseException as exc:
        session.rollback()
        if is_lock_timeout(exc):
            raise TryAgain() from exc
        raise


def is_lock_timeout(exc: BaseException) -> bool:
    """Did a statement give up waiting for a lock? PostgreSQL: SQLSTATE 55P03 (lock_timeout), raised
    by psycopg directly (pipeline mode) or wrapped by SQLAlchemy. SQLite: its busy timeout ran out."""
    error: Any = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(error, psycopg.Error):
        return error.sqlstate == POSTGRES_LOCK_NOT_AVAILABLE
    if isinstance(error, sqlite3.OperationalError):
        return "database is locked" in str(error) or "database table is locked" in str(error)
    return False


def lock_rows(session: Session, model: type[Row], ids: Iterable[uuid.UUID]) -> list[Row]:
    """Lock rows of one table FOR UPDATE in id order (two transactions locking overlapping rows take
    them in the same order: no deadlock) and return them freshly read, in id order. Missing ids are
    left out. Only inside a transaction: the locks last until it ends."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    primary_key: Any = model.id  # type: ignore[attr-defined]
    query = (
        select(model)
        .where(primary_key.in_(wanted))
        .order_by(primary_key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(session.exec(query).all())


def lock_row(session: Session, model: type[Row], row_id: uuid.UUID) -> Row | None:
    """`lock_rows` for one row: the row, freshly read and locked, or None."""
    rows = lock_rows(session, model, [row_id])
    return rows[0] if rows else None


def assert_no_transaction(session: Session) -> None:
    """Refuse to go on with a transaction open: a network call (Stripe, SMTP) inside one would hold
    its locks and a pooled connection for as long as the other side takes to answer."""
    if session.in_transaction():
        raise RuntimeError("a transaction is open: end it before calling the network")
