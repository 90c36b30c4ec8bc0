"""The migrations build the whole schema from nothing, on both backends, and match the models."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from alembic import command
from bilten.cli import alembic_config
from bilten.db import make_engine
from tests.integration.conftest import create_database, drop_database


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
