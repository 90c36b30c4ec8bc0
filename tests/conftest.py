"""Shared test set-up: settings from the environment, one clock set by the tests, a database per test."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

# Settings are read once, at first use: fix them before any bilten module loads them.
_SCRATCH = Path(tempfile.mkdtemp(prefix="bilten-tests-"))
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
os.environ["SECRET_KEY_FILE"] = str(_SCRATCH / "secret")
os.environ["MEDIA_DIR"] = str(_SCRATCH / "media")  # uploaded pictures never land in the repo
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_SCRATCH / "metrics")  # this run's metric files
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_SCRATCH / 'default.db'}")
os.environ.pop("REDIS_URL", None)
os.environ.pop("STRIPE_SECRET_KEY", None)
# Admins and owners in tests sign in with a password only; the two-factor tests set REQUIRE_2FA themselves.
os.environ.setdefault("REQUIRE_2FA", "none")
# Test payments, said explicitly (outside demo mode none would be active); Stripe tests switch.
os.environ["PAYMENT_PROVIDER"] = "test"
# Rate limits are off unless a test turns them on (`rate_limits` in tests/ratelimit_support.py): the
# suite logs in and buys from one address many times a minute.
from bilten.ratelimit import setting_names  # noqa: E402 - reads no settings on import

for _setting in setting_names():
    os.environ[_setting] = ""

if "faketime" in os.environ.get("LD_PRELOAD", ""):
    # libfaketime 0.9.10 (Debian 12) fails every absolute clock_nanosleep with EINVAL, so under
    # `faketime` Python's time.sleep raises at once. Sleep on a select() timeout instead: the suite
    # runs with the calendar moved, and a sleep still sleeps.
    import select
    import time

    def _sleep_despite_faketime(seconds: float) -> None:
        if seconds > 0:
            select.select([], [], [], seconds)

    time.sleep = _sleep_despite_faketime

import pytest  # noqa: E402
from sqlalchemy.pool import StaticPool  # noqa: E402
from sqlmodel import Session, SQLModel, create_engine  # noqa: E402

import bilten.models  # noqa: E402,F401
from bilten import clock  # noqa: E402
from bilten.db import make_engine  # noqa: E402

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres"
)
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


# The tests' "now": the start of the hour the run began in, so tests never depend on the day they
# were written (the unit suite passes under `faketime -f +400d`) and hourly figures fall on whole hours.
TEST_NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def now() -> datetime:
    return TEST_NOW


@pytest.fixture(autouse=True)
def app_clock(now) -> Iterator[clock.FrozenClock]:
    """The app's own clock (state handlers, API, workers in this process) stands at `now` too."""
    with clock.frozen_at(now) as frozen:
        yield frozen


@pytest.fixture
def sqlite_engine():
    """A private in-memory SQLite database with every table."""
    engine = create_engine("sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool)
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def app_database(sqlite_engine, monkeypatch):
    """The app's own sessions (`session_scope` in state handlers, the live namespace) open on this
    test's database: the same real SQLite the test reads, not a stand-in."""
    monkeypatch.setattr("bilten.db.get_engine", lambda: sqlite_engine)
    return sqlite_engine


@pytest.fixture
def fresh_tab(app_database):
    """A new browser tab's state tree whose handlers use this test's database."""
    from reflex.state import State  # noqa: PLC0415 - only the state tests need Reflex

    return State(_reflex_internal_init=True)


@pytest.fixture
def session(sqlite_engine) -> Iterator[Session]:
    with Session(sqlite_engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def scratch_dir() -> Path:
    return _SCRATCH


def make_sqlite_file_engine(path: Path):
    return make_engine(f"sqlite:///{path}")
