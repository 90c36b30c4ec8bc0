"""PostgreSQL and Redis for real. `make test` starts both; a test here never skips when they are down."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel, create_engine

from alembic import command
from bilten.api import api
from bilten.api.deps import get_now, get_session
from bilten.cli import alembic_config
from bilten.clock import RunningClock, set_clock, using
from bilten.db import make_engine
from bilten.services import checkins, hold_sweep, orders
from tests.conftest import POSTGRES_ADMIN_URL, REDIS_TEST_URL


def _admin_engine():
    return create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")


def create_database() -> str:
    """A new empty PostgreSQL database; returns its URL."""
    name = f"bilten_test_{uuid.uuid4().hex[:10]}"
    engine = _admin_engine()
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({exc}); `make test` starts it")
    finally:
        engine.dispose()
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = make_url(url).database
    engine = _admin_engine()
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    url = create_database()
    command.upgrade(alembic_config(url), "head")
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def pg_engine(pg_url):
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_session(pg_engine) -> Iterator[Session]:
    with Session(pg_engine, expire_on_commit=False) as session:
        yield session
    checkins.wait_for_pending_publishes()  # live counters scheduled by scans and sales read this database
    orders.wait_for_pending_publishes()
    hold_sweep.wait_for_pending_publishes()
    tables = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
    with pg_engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} CASCADE"))


@pytest.fixture(autouse=True)
def app_clock(now) -> Iterator[RunningClock]:
    """Here the app's clock starts at `now` and runs: workers and retries see time pass."""
    with using(RunningClock(now)) as running:
        yield running


class Clock:
    """The API's clock in a test: starts at the tests' `now`, moved by setting `clock.now`."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(now, app_clock) -> Iterator[Clock]:
    test_clock = Clock(now)
    set_clock(test_clock)  # the app's clock follows it (reset by `app_clock` afterwards)
    yield test_clock


@pytest.fixture
def client(pg_engine, pg_session, clock) -> Iterator[TestClient]:
    """The REST API over HTTP (ASGI), on the test PostgreSQL database and the test clock."""

    def session_override():
        with Session(pg_engine, expire_on_commit=False) as session:
            yield session

    api.dependency_overrides[get_session] = session_override
    api.dependency_overrides[get_now] = clock
    with TestClient(api, raise_server_exceptions=True) as test_client:
        yield test_client
    api.dependency_overrides.clear()


@pytest.fixture
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_TEST_URL} ({exc}); `make test` starts it")
    finally:
        client.close()
    return REDIS_TEST_URL


@pytest.fixture
def pg_app_database(pg_engine, monkeypatch):
    """The app's own sessions (`session_scope` in background threads, the sweeper, the sold-out
    gate's recount) open on the test's PostgreSQL database: the real one, not a stand-in."""
    monkeypatch.setattr("bilten.db.get_engine", lambda: pg_engine)
    return pg_engine
