"""Shared test set-up: settings from the environment, a fixed clock, a database per test."""

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
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_SCRATCH / 'default.db'}")
os.environ.pop("REDIS_URL", None)
os.environ.pop("STRIPE_SECRET_KEY", None)

import pytest  # noqa: E402
from sqlalchemy.pool import StaticPool  # noqa: E402
from sqlmodel import Session, SQLModel, create_engine  # noqa: E402

import bilten.models  # noqa: E402,F401
from bilten.db import make_engine  # noqa: E402

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres"
)
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def sqlite_engine():
    """A private in-memory SQLite database with every table."""
    engine = create_engine("sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool)
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(sqlite_engine) -> Iterator[Session]:
    with Session(sqlite_engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def scratch_dir() -> Path:
    return _SCRATCH


def make_sqlite_file_engine(path: Path):
    return make_engine(f"sqlite:///{path}")
