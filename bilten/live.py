"""One publish/subscribe path for live pages (tickets left, sales, check-ins).

Without REDIS_URL: in-process queues. With it: every process publishes to Redis, and each process
holds ONE Redis subscription that fans messages out to its local queues, so a thousand open tabs
cost one Redis connection per worker. `publish` is synchronous and thread-safe (services call it
after commit from worker threads); `subscription` is for asyncio code (Reflex background tasks).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bilten.settings import get_settings

logger = logging.getLogger(__name__)
CHANNEL_PREFIX = "bilten:live:"
QUEUE_LIMIT = 100  # a slow tab drops old updates rather than growing without bound
RECEIVED_AT = "_received_at"  # added to each delivered message: time.monotonic() of its arrival here


def inventory_channel(event_id: object) -> str:
    return f"inventory:{event_id}"


def checkins_channel(event_id: object) -> str:
    return f"checkins:{event_id}"


def exports_channel(event_id: object) -> str:
    """Progress of the event's background exports (attendees, orders)."""
    return f"exports:{event_id}"


class _LocalFanout:
    """Subscriber queues of this process, each bound to the event loop that reads it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue]]] = defaultdict(set)

    def add(self, channel: str, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue) -> None:
        with self._lock:
            self._subscribers[channel].add((loop, queue))

    def remove(self, channel: str, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue) -> None:
        with self._lock:
            self._subscribers[channel].discard((loop, queue))
            if not self._subscribers[channel]:
                del self._subscribers[channel]

    def deliver(self, channel: str, message: dict[str, Any]) -> None:
        with self._lock:
            targets = list(self._subscribers.get(channel, ()))
        # When this process learned of the change: every tab's copy carries the same moment, so
        # dashboards can share one re-read made after it (see `RECEIVED_AT`).
        message = {**message, RECEIVED_AT: time.monotonic()}
        for loop, queue in targets:
            try:
                loop.call_soon_threadsafe(_offer, queue, message)
            except RuntimeError:  # the loop closed: its tab is gone
                self.remove(channel, loop, queue)


def _offer(queue: asyncio.Queue, message: dict[str, Any]) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(message)


_fanout = _LocalFanout()
_redis_listener: asyncio.Task | None = None
_redis_publisher = None
_publisher_lock = threading.Lock()


def publish(channel: str, message: dict[str, Any]) -> None:
    """Send a message to every subscriber of a channel, in every process. Never raises: a live
    update is a nicety, the database stays the truth."""
    url = get_settings().redis_url
    if not url:
        _fanout.deliver(channel, message)
        return
    try:
        _publisher(url).publish(CHANNEL_PREFIX + channel, json.dumps(message))
    except Exception:  # noqa: BLE001
        logger.warning("live update on %s not published", channel, exc_info=True)


def _publisher(url: str):  # noqa: ANN202
    global _redis_publisher
    with _publisher_lock:
        if _redis_publisher is None:
            import redis

            _redis_publisher = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        return _redis_publisher


@asynccontextmanager
async def subscription(*channels: str) -> AsyncIterator[asyncio.Queue]:
    """A queue receiving every message published on these channels while the block runs (a
    dashboard follows the sales and the check-ins of one event, or of all its organization's)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_LIMIT)
    for channel in channels:
        _fanout.add(channel, loop, queue)
    url = get_settings().redis_url
    if url:
        _ensure_redis_listener(url)
    try:
        yield queue
    finally:
        for channel in channels:
            _fanout.remove(channel, loop, queue)


def _ensure_redis_listener(url: str) -> None:
    global _redis_listener
    if _redis_listener is None or _redis_listener.done():
        _redis_listener = asyncio.get_running_loop().create_task(_listen_to_redis(url))


async def _listen_to_redis(url: str) -> None:
    """This process's single Redis subscription; reconnects after Redis goes away."""
    import redis.asyncio as aioredis

    while True:
        client = aioredis.Redis.from_url(url)
        try:
            pubsub = client.pubsub()
            await pubsub.psubscribe(CHANNEL_PREFIX + "*")
            async for raw in pubsub.listen():
                if raw.get("type") != "pmessage":
                    continue
                channel = raw["channel"].decode().removeprefix(CHANNEL_PREFIX)
                _fanout.deliver(channel, json.loads(raw["data"]))
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001
            logger.warning("live updates: Redis subscription lost, reconnecting", exc_info=True)
            await asyncio.sleep(1)
        finally:
            await client.aclose()
