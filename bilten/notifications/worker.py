"""The notification worker, in two shapes.

* Emails, with or without Redis: one loop (`run_batch_loop`) fails abandoned notifications,
  dispatches the outbox and sends due emails in batches: FOR UPDATE SKIP LOCKED claims with leases,
  lanes with one SMTP and one database connection each. Safe in several processes at once; it needs
  only the database, so a Redis outage delays no email.
* With REDIS_URL: `bilten worker` also runs a Dramatiq worker for the background exports (queue
  `exports`, bilten/jobs.py). Without Redis the web app runs the loop itself (`notification_loop()`);
  `bilten worker` runs it in the foreground.

Either way a "webhooks" thread beside them POSTs the outgoing webhooks the dispatch queued
(notifications/webhooks.py), so a slow integrator's endpoint never delays an email.

The database is the source of truth either way.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property

import dramatiq
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bilten import clock
from bilten.db import get_engine
from bilten.jobs import EXPORT_QUEUE, declare_export_actor, make_broker
from bilten.notifications.config import DeliveryConfig, get_delivery_config
from bilten.notifications.delivery import (
    Clock,
    DeliveryReport,
    Preparer,
    send_due_in_lanes,
)
from bilten.notifications.outbox import dispatch_outbox
from bilten.notifications.render_pool import make_preparer
from bilten.notifications.senders import Sender, make_sender
from bilten.notifications.webhooks import deliver_due_webhooks
from bilten.observability.logging import configure_logging
from bilten.settings import Settings, get_settings
from bilten.webhook_settings import WebhookSettings, get_webhook_settings

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    return clock.now()


class Delivery:
    """Everything one worker needs to deliver: database, sender factory, clock and configuration."""

    def __init__(
        self,
        *,
        engine: Engine | None = None,
        settings: Settings | None = None,
        config: DeliveryConfig | None = None,
        clock: Clock = utc_now,
        sender_factory: Callable[[], Sender] | None = None,
        webhook_config: WebhookSettings | None = None,
    ) -> None:
        self.engine = engine or get_engine()
        self.settings = settings or get_settings()
        self.config = config or get_delivery_config()
        self.clock = clock
        self.webhook_config = webhook_config
        self.sender_factory = sender_factory or (
            lambda: make_sender(
                self.settings, timeout=self.config.smtp_timeout_seconds, mail_folder=self.config.mail_outbox_dir
            )
        )

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    @cached_property
    def preparer(self) -> Preparer:
        """Renders the in-process worker's batches: here, or in NOTIFY_RENDER_PROCESSES processes."""
        return make_preparer(self.config.render_processes, engine=self.engine)

    def close(self) -> None:
        """Stop the render processes, if any were started."""
        preparer = self.__dict__.pop("preparer", None)
        if preparer is not None and hasattr(preparer, "close"):
            preparer.close()

    def dispatch(self) -> list[uuid.UUID]:
        with self.session() as session:
            return dispatch_outbox(session, now=self.clock())

    def send_due(self) -> DeliveryReport:
        return send_due_in_lanes(
            self._lane,
            lanes=max(1, self.config.worker_threads),
            clock=self.clock,
            config=self.config,
            mail_from=self.settings.mail_from,
            public_url=self.settings.public_url,
            preparer=self.preparer,
        )

    @contextmanager
    def _lane(self) -> Iterator[tuple[Session, Sender]]:
        """One sending lane: an SMTP connection and one database connection for the whole batch
        (no pool checkout, and its liveness ping, per step). The connection autocommits: every step
        of a lane is one statement (claim, lease renewal, "sent", reads), so a BEGIN and a COMMIT
        round trip per step would only add to each."""
        sender = self.sender_factory()
        try:
            with (
                self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection,
                Session(bind=connection, expire_on_commit=False) as session,
            ):
                yield session, sender
        finally:
            sender.close()

    def deliver_webhooks(self) -> int:
        """POST the due outgoing webhooks (notifications/webhooks.py); returns how many were tried."""
        return deliver_due_webhooks(self.engine, clock=self.clock, config=self.webhook_config)


# ---------------------------------------------------------------------------------------------
# Outgoing webhooks: a thread of their own, so a slow endpoint (up to WEBHOOK_TIMEOUT_SECONDS per
# POST) never holds up emails


def run_webhook_loop(stop_event: threading.Event, delivery: Delivery) -> None:
    """POST due webhooks until `stop_event` is set (the outbox is dispatched by the email loop)."""
    while not stop_event.is_set():
        busy = False
        try:
            config = delivery.webhook_config or get_webhook_settings()
            busy = delivery.deliver_webhooks() >= config.batch_size
        except Exception:  # the database went away, ...: log and try again after a pause
            logger.exception("webhook delivery cycle failed")
        if not busy:
            stop_event.wait(delivery.config.poll_seconds)


def start_webhook_thread(stop_event: threading.Event, delivery: Delivery) -> threading.Thread:
    thread = threading.Thread(target=run_webhook_loop, args=(stop_event, delivery), name="webhooks", daemon=True)
    thread.start()
    return thread


# ---------------------------------------------------------------------------------------------
# Without Redis


def run_batch_loop(stop_event: threading.Event, delivery: Delivery) -> None:
    """Fail abandoned notifications, dispatch the outbox and send due emails in batch lanes, until
    `stop_event` is set (the batch in hand is finished first). Needs only the database: the claims
    (FOR UPDATE SKIP LOCKED, with leases) make several workers at once safe, with or without Redis."""
    while not stop_event.is_set():
        busy = False
        try:
            delivery.dispatch()
            report = delivery.send_due()  # runs fail_abandoned first
            busy = report.attempted >= delivery.config.batch_size
        except Exception:  # the database went away, ...: log and try again after a pause
            logger.exception("notification worker cycle failed")
        if not busy:
            stop_event.wait(delivery.config.poll_seconds)


def run_in_process_worker(stop_event: threading.Event, *, delivery: Delivery | None = None) -> None:
    """Dispatch and send until `stop_event` is set. Safe to run in several processes at once."""
    own_delivery = delivery is None  # whoever made the Delivery stops its render processes
    delivery = delivery or Delivery()
    logger.info("notification worker running in-process (no Redis)")
    webhooks = start_webhook_thread(stop_event, delivery)
    try:
        run_batch_loop(stop_event, delivery)
    finally:
        webhooks.join(timeout=60)
        if own_delivery:
            delivery.close()


async def notification_loop(*, delivery: Delivery | None = None) -> None:
    """The in-process worker as an asyncio task, for the web app's lifespan (no Redis only).

    With REDIS_URL set it returns at once: `bilten worker` delivers then. Cancelling the task stops
    the loop after the message in hand.
    """
    settings = delivery.settings if delivery else get_settings()
    if settings.redis_url:
        logger.info("REDIS_URL is set: notifications are delivered by `bilten worker`")
        return
    stop = threading.Event()
    thread_done = asyncio.ensure_future(asyncio.to_thread(run_in_process_worker, stop, delivery=delivery))
    try:
        await asyncio.shield(thread_done)
    finally:
        stop.set()
        await asyncio.wait([thread_done])


# ---------------------------------------------------------------------------------------------
# With Redis: emails go the same batch way; Dramatiq carries only the background exports


def run_queue_worker(
    stop_event: threading.Event, *, redis_url: str, delivery: Delivery | None = None, threads: int | None = None
) -> None:
    """Send emails in batch lanes (as without Redis) and consume the Redis `exports` queue with
    Dramatiq threads, until `stop_event` is set. Emails never touch Redis: if it goes away they are
    still delivered; only exports wait."""
    own_delivery = delivery is None
    delivery = delivery or Delivery()
    broker = make_broker(redis_url)
    declare_export_actor(broker)
    worker = dramatiq.Worker(broker, worker_threads=threads or delivery.config.worker_threads, worker_timeout=200)
    worker.start()
    webhooks = start_webhook_thread(stop_event, delivery)
    logger.info("notification worker sending in batches; Dramatiq consumes queue %r", EXPORT_QUEUE)
    try:
        run_batch_loop(stop_event, delivery)
    finally:
        worker.stop(timeout=int(delivery.config.smtp_timeout_seconds * 1000) + 5000)
        broker.close()
        webhooks.join(timeout=60)
        if own_delivery:
            delivery.close()


def run_worker(stop_event: threading.Event, *, threads: int | None = None) -> None:
    """What `bilten worker` runs: the queue worker with REDIS_URL, the in-process loop without."""
    settings = get_settings()
    if settings.redis_url:
        run_queue_worker(stop_event, redis_url=settings.redis_url, threads=threads)
    else:
        run_in_process_worker(stop_event)


def run_worker_until_signalled(*, threads: int | None = None) -> int:
    """Run in the foreground; SIGTERM or Ctrl-C finishes the messages in hand, then exits."""
    configure_logging()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    # Housekeeping rides along: expired holds return their seats even with no web worker up.
    from bilten.tasks import sweep_until

    sweeper = threading.Thread(target=sweep_until, args=(stop,), name="sweeper", daemon=True)
    sweeper.start()
    run_worker(stop, threads=threads)
    sweeper.join(timeout=10)
    return 0
