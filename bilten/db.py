"""The database engine and session factory shared by services, the CLI, workers and tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from bilten.settings import get_settings

SQLITE_BUSY_TIMEOUT_MS = 3000  # the same cap on lock waits as PostgreSQL's lock_timeout below
POSTGRES_LOCK_TIMEOUT_MS = 3000


def make_engine(url: str, *, pool_size: int | None = None, max_overflow: int | None = None) -> Engine:
    """An engine tuned for its backend: WAL and a busy timeout on SQLite, a lock cap on PostgreSQL."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 3})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # noqa: ANN001
            cursor = dbapi_connection.cursor()
            if ":memory:" not in url:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.close()

        return engine
    return create_engine(
        url,
        pool_size=pool_size if pool_size is not None else get_settings().db_pool_size,
        max_overflow=max_overflow if max_overflow is not None else get_settings().db_max_overflow,
        pool_timeout=10,
        pool_pre_ping=True,
        connect_args={"options": f"-c lock_timeout={POSTGRES_LOCK_TIMEOUT_MS}", "connect_timeout": 5},
    )


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session for one unit of work; services decide when to commit."""
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session
