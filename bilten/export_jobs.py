"""Where background exports run: a Dramatiq job on the `exports` queue when REDIS_URL is set
(consumed by `bilten worker`, next to the notifications), a thread of the web process otherwise.

The database is the truth either way: a job only says "run export X now", `services.exports.run_export`
runs a queued export once, and the sweeper fails exports whose worker died.
"""

from __future__ import annotations

import logging
import threading
import uuid

import dramatiq

from bilten.services import exports
from bilten.settings import get_settings

logger = logging.getLogger(__name__)

QUEUE_NAME = "exports"
ACTOR_NAME = "run_export"

_sender: dramatiq.Actor | None = None
_sender_lock = threading.Lock()


def run(job_id: str) -> None:
    """The job itself (also what the thread runs)."""
    exports.run_export(uuid.UUID(job_id))


def declare_export_actor(broker: dramatiq.Broker) -> dramatiq.Actor:
    """Declare the export job on a broker (the worker's, to consume; the web process's, to send)."""
    return dramatiq.Actor(
        run,
        broker=broker,
        actor_name=ACTOR_NAME,
        queue_name=QUEUE_NAME,
        priority=10,  # emails first: they are small and people wait for them
        options={"max_retries": 0, "time_limit": int(exports.STALE_AFTER.total_seconds() * 1000)},
    )


def submit(job_id: uuid.UUID) -> None:
    """Start an export in the background, right after `exports.request_export` committed it."""
    url = get_settings().redis_url
    if url:
        try:
            _queue_actor(url).send(str(job_id))
            return
        except dramatiq.errors.BrokerError:
            logger.warning("Redis unreachable: export %s runs in this process", job_id, exc_info=True)
    threading.Thread(target=run, args=(str(job_id),), name=f"export-{job_id}", daemon=True).start()


def _queue_actor(url: str) -> dramatiq.Actor:
    global _sender
    with _sender_lock:
        if _sender is None:
            from bilten.notifications.worker import make_broker

            _sender = declare_export_actor(make_broker(url))
        return _sender
