"""`bilten worker` under faults: killed halfway through a batch, Redis going away (emails do not need it).

Nothing is lost and nothing arrives twice: every email reaches the (real) SMTP server exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter

import pytest
from sqlmodel import Session, SQLModel, select

from bilten.db import make_engine
from bilten.jobs import declare_export_actor, make_broker
from bilten.models import Notification, NotificationStatus
from bilten.notifications.config import DeliveryConfig
from bilten.notifications.worker import Delivery, run_queue_worker
from bilten.settings import PROJECT_ROOT, Settings
from tests.factories import make_event, make_organization, make_user
from tests.notifications_support import RedisServer, SmtpSink, emit, make_paid_order, wait_until

FAST_ENV = {
    "NOTIFY_RETRY_DELAYS": "0.2,0.2,0.2,0.2,0.2",
    "NOTIFY_LEASE_SECONDS": "3",  # longer than any send here, even on a busy machine
    "NOTIFY_POLL_SECONDS": "0.1",
    "NOTIFY_WORKER_THREADS": "3",
    "NOTIFY_BATCH_SIZE": "20",
    "SMTP_TIMEOUT_SECONDS": "2",
}


@pytest.fixture
def sink():
    with SmtpSink() as server:
        yield server


@pytest.fixture
def own_redis():
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def _counts(engine) -> Counter:
    with Session(engine) as session:
        return Counter(status for status in session.exec(select(Notification.status)).all())


def _fill(session, now, *, users: int, orders: int) -> list[str]:
    """Welcome emails and ticket emails waiting in the outbox; returns every expected recipient."""
    recipients = []
    for n in range(users):
        user = make_user(session, now=now, email=f"member{n}@example.org")
        emit(session, "user.registered", {"user_id": str(user.id)}, now)
        recipients.append(user.email)
    event = make_event(session, organization=make_organization(session, now=now), now=now)
    for n in range(orders):
        recipients.append(make_paid_order(session, event=event, now=now, email=f"buyer{n}@example.org").buyer_email)
    return recipients


class WorkerProcess:
    """`python -m bilten.cli worker` as its own process, configured through the environment."""

    def __init__(self, *, database_url: str, sink: SmtpSink, redis_url: str | None) -> None:
        self.env = {
            **os.environ,
            **FAST_ENV,
            "DATABASE_URL": database_url,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(sink.port),
            "SMTP_TLS": "false",
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("REDIS_URL", None)
        if redis_url:
            self.env["REDIS_URL"] = redis_url
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bilten.cli", "worker"],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int | None:
        """SIGTERM: finish the message in hand and exit 0. Returns the exit code."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode if self.process else None


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    yield url, engine
    engine.dispose()


@pytest.mark.parametrize("mode", ["redis-postgres", "in-process-sqlite"])
def test_a_worker_killed_halfway_through_a_batch_loses_nothing_and_sends_nothing_twice(mode, request, now, sink):
    if mode == "redis-postgres":
        engine = request.getfixturevalue("pg_engine")
        request.getfixturevalue("pg_session")  # empties the tables afterwards
        database_url = request.getfixturevalue("pg_url")
        redis_url = request.getfixturevalue("own_redis").url
    else:
        database_url, engine = request.getfixturevalue("sqlite_url")
        redis_url = None
    with Session(engine, expire_on_commit=False) as session:
        expected = _fill(session, now, users=8, orders=2)
    sink.hold_after(3)  # three get through, then the server keeps every further message waiting at DATA
    worker = WorkerProcess(database_url=database_url, sink=sink, redis_url=redis_url)
    worker.start()
    try:
        wait_until(
            lambda: sink.held >= 1 and _counts(engine)[NotificationStatus.SENT] == 3,
            timeout=20,
            what="three emails sent and the next one in flight",
        )
        worker.kill()
        # The server notices the dead client and drops the half-sent messages: they were never delivered.
        wait_until(lambda: sink.abandoned == sink.held, what="held messages dropped")
        assert _counts(engine)[NotificationStatus.SENDING] >= 1  # claimed by the dead worker
        sink.open()

        worker.start()
        wait_until(
            lambda: _counts(engine)[NotificationStatus.SENT] == len(expected),
            timeout=30,
            what="every email sent after the restart",
        )
    finally:
        exit_code = worker.stop()
    assert Counter(sink.recipients()) == Counter(expected)  # each exactly once
    assert exit_code == 0  # SIGTERM stops the worker cleanly


def test_redis_going_away_does_not_hold_up_emails_and_none_is_sent_twice(
    pg_engine, pg_session, now, sink, own_redis, monkeypatch
):
    monkeypatch.setattr("dramatiq.worker.CONSUMER_RESTART_DELAY", 200)  # reconnect fast in the test
    exported: list[uuid.UUID] = []
    export_id = uuid.uuid4()
    monkeypatch.setattr("bilten.services.exports.run_export", exported.append)
    config = DeliveryConfig(
        retry_delays=(0.2,) * 5,
        lease_seconds=3,
        poll_seconds=0.1,
        smtp_timeout_seconds=2,
        worker_threads=2,
    )
    settings = Settings(SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port, SMTP_TLS=False)
    stop = threading.Event()
    thread = threading.Thread(
        target=run_queue_worker,
        args=(stop,),
        kwargs={"redis_url": own_redis.url, "delivery": Delivery(engine=pg_engine, settings=settings, config=config)},
    )
    thread.start()
    try:
        first = _fill(pg_session, now, users=3, orders=0)
        wait_until(lambda: len(sink.messages) == 3, what="emails while Redis is up")

        own_redis.stop()
        later = [f"late{n}@example.org" for n in range(4)]
        for address in later:
            user = make_user(pg_session, now=now, email=address)
            emit(pg_session, "user.registered", {"user_id": str(user.id)}, now)
        # Emails are claimed in batches straight from the database: Redis (exports only) is not needed.
        wait_until(lambda: len(sink.messages) == 7, timeout=20, what="emails while Redis is down")
        wait_until(lambda: _counts(pg_engine)[NotificationStatus.SENT] == 7)
        assert thread.is_alive()

        own_redis.start()
        # Exports still go through Dramatiq: the worker consumes the `exports` queue.
        broker = make_broker(own_redis.url)
        try:
            declare_export_actor(broker).send(str(export_id))
        finally:
            broker.close()
        wait_until(lambda: exported == [export_id], timeout=20, what="the export job run by the worker")
    finally:
        stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive()
    assert Counter(sink.recipients()) == Counter(first + later)
