"""A small JSON cache: Redis when REDIS_URL is set (shared by every worker), else this process's memory.

Only for data that can be rebuilt from the database; a cache failure is logged and treated as a miss.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from bilten.settings import get_settings

logger = logging.getLogger(__name__)
KEY_PREFIX = "bilten:cache:"
_local: dict[str, tuple[float, str]] = {}
_local_lock = threading.Lock()
_clients: dict[str, Any] = {}
_client_lock = threading.Lock()


def _redis():  # noqa: ANN202
    url = get_settings().redis_url
    if not url:
        return None
    with _client_lock:
        if url not in _clients:
            import redis

            _clients[url] = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        return _clients[url]


def get_json(key: str) -> Any | None:
    client = _redis()
    try:
        if client is not None:
            raw = client.get(KEY_PREFIX + key)
            return json.loads(raw) if raw else None
    except Exception:  # noqa: BLE001
        logger.warning("cache read failed for %s", key, exc_info=True)
        return None
    with _local_lock:
        entry = _local.get(key)
        if entry is None or entry[0] < time.monotonic():
            _local.pop(key, None)
            return None
        return json.loads(entry[1])


def set_json(key: str, value: Any, *, ttl_seconds: int) -> None:
    raw = json.dumps(value)
    client = _redis()
    try:
        if client is not None:
            client.set(KEY_PREFIX + key, raw, ex=ttl_seconds)
            return
    except Exception:  # noqa: BLE001
        logger.warning("cache write failed for %s", key, exc_info=True)
        return
    with _local_lock:
        _local[key] = (time.monotonic() + ttl_seconds, raw)


def delete(key: str) -> None:
    client = _redis()
    try:
        if client is not None:
            client.delete(KEY_PREFIX + key)
            return
    except Exception:  # noqa: BLE001
        logger.warning("cache delete failed for %s", key, exc_info=True)
        return
    with _local_lock:
        _local.pop(key, None)


def clear_local() -> None:
    with _local_lock:
        _local.clear()
