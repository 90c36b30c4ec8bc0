"""`bilten backup` and `bilten restore`: the database to one file and back.

PostgreSQL: `pg_dump --format=custom` (compressed, restorable table by table) and `pg_restore
--clean --if-exists --no-owner --single-transaction` into DATABASE_URL: all or nothing, objects owned
by the restoring user. pg_dump must be at least the server's major version (Debian's
`postgresql-client-15` for PostgreSQL 15). The password is handed over in PGPASSWORD, never on the
command line where `ps` shows it.

SQLite: SQLite's online backup API (what the `sqlite3` shell's `.backup` does): a consistent copy
even while the app writes.

Media: with local storage `--media` also packs MEDIA_DIR into `<backup>.media.tar.gz`; with S3 the
bucket's own versioning and replication are the backup (nothing is copied). Exports are not backed
up: they are temporary (EXPORT_RETENTION_HOURS) and can be made again.

The signing keys of events' tickets are sealed with SECRET_KEY: keep SECRET_KEY (safely, apart from
the backups), or the restored tickets cannot be verified.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tarfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from bilten.settings import Settings

PG_ARCHIVE_MAGIC = b"PGDMP"
SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupError(RuntimeError):
    """A backup or restore could not be done; the message says why (shown to the operator)."""


@dataclass(frozen=True)
class BackupResult:
    database_file: Path
    media_file: Path | None
    notes: list[str]


def describe(database_url: str) -> str:
    """The database's URL without its password, to show."""
    return make_url(database_url).render_as_string(hide_password=True)


def default_output(database_url: str, now: datetime) -> Path:
    suffix = "dump" if _is_postgres(database_url) else "sqlite3"
    return Path(f"bilten-{now:%Y%m%d-%H%M%S}.{suffix}")


def backup_database(settings: Settings, output: Path, *, media: bool = False) -> BackupResult:
    url = settings.database_url
    output.parent.mkdir(parents=True, exist_ok=True)
    if _is_postgres(url):
        _pg_dump(url, output)
    elif settings.is_sqlite:
        _sqlite_copy(_sqlite_path(url), output)
    else:
        raise BackupError(f"cannot back up {describe(url)}: PostgreSQL and SQLite only")
    notes: list[str] = []
    media_file = None
    if media:
        if settings.storage_backend == "s3":
            notes.append(
                f"media: kept in S3 bucket {settings.s3_bucket!r}, not copied: "
                "turn on the bucket's versioning (and replication) to back it up"
            )
        else:
            media_file = output.with_name(output.name + ".media.tar.gz")
            with tarfile.open(media_file, "w:gz") as archive:
                folder = Path(settings.media_dir)
                if folder.is_dir():
                    archive.add(folder, arcname="media")
            notes.append(f"media: {settings.media_dir} packed into {media_file}")
    return BackupResult(database_file=output, media_file=media_file, notes=notes)


def restore_database(settings: Settings, source: Path) -> None:
    """Replace the database at DATABASE_URL with the backup in `source`."""
    url = settings.database_url
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    with open(source, "rb") as handle:
        head = handle.read(16)
    if _is_postgres(url):
        if not head.startswith(PG_ARCHIVE_MAGIC):
            raise BackupError(f"{source} is not a pg_dump custom-format archive (made by `bilten backup`)")
        _pg_restore(url, source)
    elif settings.is_sqlite:
        if head != SQLITE_MAGIC:
            raise BackupError(f"{source} is not an SQLite database (made by `bilten backup`)")
        _sqlite_restore(source, _sqlite_path(url))
    else:
        raise BackupError(f"cannot restore into {describe(url)}: PostgreSQL and SQLite only")


# -- PostgreSQL ---------------------------------------------------------------------------------


def _is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the environment carrying it."""
    parsed: URL = make_url(url)
    env = {**os.environ}
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found: install PostgreSQL's client tools (Debian: postgresql-client)")
    return found


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip() or done.returncode}")


def _pg_dump(url: str, output: Path) -> None:
    dsn, env = _libpq(url)
    partial = output.with_name(output.name + ".part")
    try:
        _run([_tool("pg_dump"), "--format=custom", "--file", str(partial), "--dbname", dsn], env)
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)


def _pg_restore(url: str, source: Path) -> None:
    dsn, env = _libpq(url)
    _run(
        [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--dbname",
            dsn,
            str(source),
        ],
        env,
    )


# -- SQLite -------------------------------------------------------------------------------------


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    partial = target.with_name(target.name + ".part")
    partial.unlink(missing_ok=True)
    try:
        with sqlite3.connect(source) as reader, sqlite3.connect(partial) as writer:
            reader.backup(writer)
        writer.close()
        reader.close()
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def _sqlite_restore(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as reader, sqlite3.connect(target) as writer:
        reader.backup(writer)  # page by page under the target's lock: readers see old or new, whole
    writer.close()
    reader.close()
