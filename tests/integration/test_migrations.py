"""The migrations build the whole schema from nothing, on both backends, and match the models."""

import re

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import Session, SQLModel

from alembic import command
from bilten.cli import alembic_config
from bilten.db import make_engine
from bilten.services.tickets import reissue_ticket
from tests.integration.conftest import create_database, drop_database
from tests.scanning_helpers import door_with_tickets, link


def _differences(engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)


def _upgrade_check_and_downgrade(url: str) -> None:
    config = alembic_config(url)
    command.upgrade(config, "head")
    engine = make_engine(url)
    try:
        assert set(SQLModel.metadata.tables) <= set(inspect(engine).get_table_names())
        assert _differences(engine) == []
    finally:
        engine.dispose()
    command.downgrade(config, "base")
    engine = make_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


def test_sqlite_upgrades_from_empty_to_head_without_drift(tmp_path):
    _upgrade_check_and_downgrade(f"sqlite:///{tmp_path / 'fresh.db'}")


def test_postgresql_upgrades_from_empty_to_head_without_drift():
    url = create_database()
    try:
        _upgrade_check_and_downgrade(url)
    finally:
        drop_database(url)


def test_0003_gives_every_existing_ticket_its_own_reference(tmp_path, now):
    """Tickets issued before references existed get one each (random, unique) on upgrade."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(url)
    command.upgrade(config, "head")
    engine = make_engine(url)
    with Session(engine) as session:
        door = door_with_tickets(session, now=now, count=5)
        reissue_ticket(session, ticket_id=door.tickets[0].id, now=now, access_token=link(door.tickets[0].order_id))
    command.downgrade(config, "0002")  # as it was: tickets without references
    with engine.connect() as connection:
        assert "reference" not in {column["name"] for column in inspect(connection).get_columns("ticket")}

    command.upgrade(config, "head")
    with engine.connect() as connection:
        references = connection.execute(text("SELECT reference FROM ticket")).scalars().all()
        indexes = {index["name"]: index for index in inspect(connection).get_indexes("ticket")}
    engine.dispose()
    assert len(references) == 6 == len(set(references))  # the reissued one and its replacement too
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{10}", reference) for reference in references)
    assert indexes["ix_ticket_reference"]["unique"]
