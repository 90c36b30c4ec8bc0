"""Background jobs: one Dramatiq broker on Redis and the job it carries (emails go in batches
straight from the database, notifications/worker.py).

* `run_export` (queue `exports`): run one queued export by id (`services.exports.run_export`).
  Without REDIS_URL an export runs in a thread of the web process instead.

`bilten worker` consumes the queue. The database is the truth either way:
a job only says "look at X now", and the sweeper fails exports whose worker died. This module
imports only services, so the notification worker and the web process both depend on it and it
on neither.
"""

from __future__ import annotations

import logging
import threading
import uuid

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from bilten.services import exports
from bilten.settings import get_settings

logger = logging.getLogger(__name__)

REDIS_NAMESPACE = "bilten"
NOTIFICATION_QUEUE = "notifications"
EXPORT_QUEUE = "exports"
EXPORT_ACTOR = "run_export"

_export_sender: dramatiq.Actor | None = None
_export_sender_lock = threading.Lock()


def make_broker(redis_url: str) -> RedisBroker:
    return RedisBroker(url=redis_url, namespace=REDIS_NAMESPACE)


def run_export(job_id: str) -> None:
    """The export job itself (also what the thread runs without Redis)."""
    exports.run_export(uuid.UUID(job_id))


def declare_export_actor(broker: dramatiq.Broker) -> dramatiq.Actor:
    """Declare the export job on a broker (the worker's, to consume; the web process's, to send)."""
    return dramatiq.Actor(
        run_export,
        broker=broker,
        actor_name=EXPORT_ACTOR,
        queue_name=EXPORT_QUEUE,
        priority=10,  # emails first: they are small and people wait for them
        options={"max_retries": 0, "time_limit": int(exports.STALE_AFTER.total_seconds() * 1000)},
    )


def submit_export(job_id: uuid.UUID) -> None:
    """Start an export in the background, right after `exports.request_export` committed it."""
    url = get_settings().redis_url
    if url:
        try:
            _export_actor(url).send(str(job_id))
            return
        except dramatiq.errors.BrokerError:
            logger.warning("Redis unreachable: export %s runs in this process", job_id, exc_info=True)
    threading.Thread(target=run_export, args=(str(job_id),), name=f"export-{job_id}", daemon=True).start()


def _export_actor(url: str) -> dramatiq.Actor:
    global _export_sender
    with _export_sender_lock:
        if _export_sender is None:
            _export_sender = declare_export_actor(make_broker(url))
        return _export_sender
