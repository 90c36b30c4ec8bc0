"""`bilten ...`: operate a Bilten installation from the shell.

bilten migrate                         apply database migrations (Alembic) up to head
bilten seed-demo                       load demo data when the database is empty
bilten create-admin --email E --password P   make (or promote) an admin account
bilten worker [--threads N]            deliver notifications in batches (and exports via Redis with REDIS_URL)
bilten backup [--output FILE] [--media]   copy the database (pg_dump / SQLite backup) to one file
bilten restore FILE --yes              replace the database with a backup (README: Backups and restore)
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from alembic.config import Config

from alembic import command
from bilten import clock
from bilten.db import session_scope
from bilten.i18n import translate
from bilten.services.errors import BiltenError
from bilten.settings import PROJECT_ROOT


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def migrate(_args: argparse.Namespace) -> int:
    command.upgrade(alembic_config(), "head")
    return 0


def seed_demo(_args: argparse.Namespace) -> int:
    from bilten.services.demo import seed_demo as load_demo

    with session_scope() as session:
        accounts = load_demo(session, now=clock.now())
    if not accounts:
        print("Database already has data: demo data not loaded.")
        return 0
    print("Demo data loaded. Sign in at http://localhost:3000/login with:")
    for account in accounts:
        print(f"  {account.role.value:<10} {account.email:<28} {account.password}")
    return 0


def create_admin(args: argparse.Namespace) -> int:
    from bilten.services.accounts import create_admin as make_admin

    email = args.email or input("Email: ")
    password = args.password or getpass.getpass("Password: ")
    try:
        with session_scope() as session:
            user = make_admin(session, email=email, password=password, now=clock.now())
    except BiltenError as exc:
        print(f"error: {translate(exc.key, 'en', **exc.params)}", file=sys.stderr)
        return 2
    print(f"Admin ready: {user.email}")
    return 0


def worker(args: argparse.Namespace) -> int:
    from bilten.notifications.worker import run_worker_until_signalled

    return run_worker_until_signalled(threads=args.threads)


def backup(args: argparse.Namespace) -> int:
    from bilten.backup import BackupError, backup_database, default_output, describe
    from bilten.settings import get_settings

    settings = get_settings()
    output = Path(args.output) if args.output else default_output(settings.database_url, clock.now())
    try:
        result = backup_database(settings, output, media=args.media)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    size = result.database_file.stat().st_size
    print(f"Backed up {describe(settings.database_url)} to {result.database_file} ({size:,} bytes)")
    for note in result.notes:
        print(note)
    return 0


def restore(args: argparse.Namespace) -> int:
    from bilten.backup import BackupError, describe, restore_database
    from bilten.settings import get_settings

    settings = get_settings()
    target = describe(settings.database_url)
    if not args.yes:
        print(
            f"error: restoring replaces every table of {target} with the backup's. Run again with --yes to do it.",
            file=sys.stderr,
        )
        return 2
    try:
        restore_database(settings, Path(args.file))
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Restored {args.file} into {target}. Run `bilten migrate` if the backup is from an older Bilten.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bilten", description="Bilten event ticketing")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(run=migrate)
    commands.add_parser("seed-demo", help="load demo data into an empty database").set_defaults(run=seed_demo)
    admin = commands.add_parser("create-admin", help="create or promote an admin account")
    admin.add_argument("--email")
    admin.add_argument("--password")
    admin.set_defaults(run=create_admin)
    notifier = commands.add_parser("worker", help="deliver notifications until stopped")
    notifier.add_argument(
        "--threads", type=int, help="Dramatiq threads for exports (with Redis); email lanes: NOTIFY_WORKER_THREADS"
    )
    notifier.set_defaults(run=worker)
    saver = commands.add_parser("backup", help="copy the database to one file (pg_dump or SQLite backup)")
    saver.add_argument("--output", "-o", help="the file to write (default: bilten-<UTC time>.dump or .sqlite3)")
    saver.add_argument("--media", action="store_true", help="also pack MEDIA_DIR into <output>.media.tar.gz")
    saver.set_defaults(run=backup)
    restorer = commands.add_parser("restore", help="replace the database with a backup")
    restorer.add_argument("file", help="a file made by `bilten backup`")
    restorer.add_argument("--yes", action="store_true", help="yes, replace the database at DATABASE_URL")
    restorer.set_defaults(run=restore)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
