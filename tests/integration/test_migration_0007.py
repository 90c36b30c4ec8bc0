"""Migration 0007 (event texts in several languages) on an existing database: events and ticket
types made before it keep everything, read in English with no translations, on both backends; and
going back drops only the new columns (no ticket type or ticket lost to a cascade)."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlmodel import Session, select

from alembic import command
from bilten.cli import alembic_config
from bilten.db import make_engine
from bilten.models import Event, TicketType
from bilten.services.events import get_public_event
from tests.integration.conftest import create_database, drop_database
from tests.scanning_helpers import door_with_tickets


def _counts(connection) -> tuple[int, int, int]:  # noqa: ANN001
    return tuple(
        connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        for table in ("event", "ticket_type", "ticket")
    )


def _round_trip(url: str, now) -> None:  # noqa: ANN001
    config = alembic_config(url)
    command.upgrade(config, "head")
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            door = door_with_tickets(session, now=now, count=2)
            event_id = door.event.id
        with engine.connect() as connection:
            before = _counts(connection)
        command.downgrade(config, "0006")  # as it was before languages
        with engine.connect() as connection:
            assert _counts(connection) == before
            columns = {column["name"] for column in inspect(connection).get_columns("event")}
            assert not {"main_language", "translations", "venue_notes"} & columns
        command.upgrade(config, "head")
        with engine.connect() as connection:
            assert _counts(connection) == before
        with Session(engine) as session:
            event = session.get(Event, event_id)
            assert (event.main_language, event.translations, event.venue_notes) == ("en", {}, "")
            types = session.exec(select(TicketType).where(TicketType.event_id == event_id)).all()
            assert types and all(t.translations == {} for t in types)
            assert get_public_event(session, event_id=event_id, locale="de").title == event.title
    finally:
        engine.dispose()


def test_0007_on_sqlite_keeps_existing_events(tmp_path, now):
    _round_trip(f"sqlite:///{tmp_path / 'old.db'}", now)


def test_0007_on_postgresql_keeps_existing_events(now):
    url = create_database()
    try:
        _round_trip(url, now)
    finally:
        drop_database(url)
