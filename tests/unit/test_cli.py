"""`bilten` commands, run as a user would run them."""

import os
import subprocess
import sys

from sqlmodel import Session, select

from bilten.db import make_engine
from bilten.models import Role, User
from bilten.services.security import verify_password


def bilten(db_path, *args, stdin=""):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_path}"}
    return subprocess.run(
        [sys.executable, "-m", "bilten.cli", *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


def test_migrate_seed_and_create_admin(tmp_path):
    db = tmp_path / "cli.db"
    assert bilten(db, "migrate").returncode == 0
    seeded = bilten(db, "seed-demo")
    assert seeded.returncode == 0 and "admin@demo.bilten.org" in seeded.stdout and "Demo-admin-2026" in seeded.stdout
    assert "already has data" in bilten(db, "seed-demo").stdout

    made = bilten(db, "create-admin", "--email", "Boss@Example.org", "--password", "Strong-pass-2026")
    assert made.returncode == 0, made.stderr
    refused = bilten(db, "create-admin", "--email", "weak@example.org", "--password", "short")
    assert refused.returncode == 2 and "at least 10" in refused.stderr
    prompted = bilten(db, "create-admin", stdin="chief@example.org\nPrompted-pass-2026\n")
    assert prompted.returncode == 0, prompted.stderr

    engine = make_engine(f"sqlite:///{db}")
    with Session(engine) as session:
        boss = session.exec(select(User).where(User.email == "boss@example.org")).one()
        assert boss.role == Role.ADMIN and verify_password("Strong-pass-2026", boss.password_hash)
        assert session.exec(select(User).where(User.email == "chief@example.org")).one().role == Role.ADMIN
        assert session.exec(select(User).where(User.email == "weak@example.org")).first() is None
    engine.dispose()
