"""The database engine and session factory shared by services, the CLI, workers and tests."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache, lru_cache

from sqlalchemy import Insert, Table, event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from bilten.observability import metrics
from bilten.settings import get_settings

SQLITE_BUSY_TIMEOUT_MS = 3000  # the same cap on lock waits as PostgreSQL's lock_timeout below
POSTGRES_LOCK_TIMEOUT_MS = 3000


def _json_text(value: object) -> str:
    """JSON columns keep letters as they are ("Über", not "\\u00dcber"), so a search for a word
    in an event's translated texts finds it on both backends."""
    return json.dumps(value, ensure_ascii=False)


def make_engine(url: str, *, pool_size: int | None = None, max_overflow: int | None = None) -> Engine:
    """An engine tuned for its backend: WAL and a busy timeout on SQLite, a lock cap on PostgreSQL."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 3}, json_serializer=_json_text)

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
        json_serializer=_json_text,
        connect_args={"options": f"-c lock_timeout={POSTGRES_LOCK_TIMEOUT_MS}", "connect_timeout": 5},
    )


@lru_cache
def get_engine() -> Engine:
    engine = make_engine(get_settings().database_url)
    metrics.watch_pool(engine)  # bilten_db_pool_in_use
    return engine


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session for one unit of work; services decide when to commit."""
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


def insert_new_rows(session: Session) -> None:
    """Insert the objects added to the session with plain INSERTs (one per table, parents first)
    and let the session forget them; they stay readable as detached objects.

    For hot paths that only create rows: the unit of work's bookkeeping for a handful of new
    objects costs several times the inserts themselves. Changed (not new) objects are left to the
    next flush as usual."""
    new_objects = list(session.new)
    by_table = defaultdict(list)
    for obj in new_objects:
        by_table[obj.__table__].append(obj)
    # The session's connection, Core statements: the ORM's execution layer adds nothing to a plain
    # INSERT but its cost (about as much as the statement's own).
    connection = session.connection()
    for table in sorted(by_table, key=_TABLE_ORDER.__getitem__):
        keys = _column_keys(table)
        rows = [{key: getattr(obj, key) for key in keys} for obj in by_table[table]]
        connection.execute(_insert(table), rows)
    for obj in new_objects:
        session.expunge(obj)


@cache
def _insert(table: Table) -> Insert:
    return table.insert()


@cache
def _column_keys(table: Table) -> tuple[str, ...]:
    return tuple(column.key for column in table.columns)


class _TableOrder(dict):
    """Tables in foreign-key order (parents first), computed once all models are imported."""

    def __missing__(self, table):  # noqa: ANN001, ANN204
        self.update({t: n for n, t in enumerate(SQLModel.metadata.sorted_tables)})
        return super().__getitem__(table)


_TABLE_ORDER = _TableOrder()
