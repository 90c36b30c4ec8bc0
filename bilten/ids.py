"""Ids: reading them from outside (routes, forms, query strings, payloads), the one parser; and making
new ones cheaply."""

from __future__ import annotations

import os
import threading
import uuid


def parse_id(value: object) -> uuid.UUID | None:
    """The UUID `value` names, or None when it names none (empty, malformed, or not text)."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


_POOL_IDS = 256  # random bytes are read for this many ids at once: one system call, not one per id


class _RandomPool(threading.local):
    def __init__(self) -> None:
        self.data = b""
        self.offset = 0


_pool = _RandomPool()


def _forget_pool() -> None:
    """A forked worker must not hand out the ids its parent's pool holds too."""
    global _pool  # noqa: PLW0603
    _pool = _RandomPool()


os.register_at_fork(after_in_child=_forget_pool)


def new_id() -> uuid.UUID:
    """A random (version 4) UUID, as `uuid.uuid4()`, from the operating system's random source read
    for many ids at once (an order places several rows; each `uuid4()` is a system call)."""
    pool = _pool
    if pool.offset >= len(pool.data):
        pool.data, pool.offset = os.urandom(16 * _POOL_IDS), 0
    start = pool.offset
    pool.offset = start + 16
    return uuid.UUID(bytes=pool.data[start : start + 16], version=4)
