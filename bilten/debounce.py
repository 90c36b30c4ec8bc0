"""Run an action at most once per short delay and key, however often it is asked for.

Live counters (seats left, check-ins) change many times a second in a rush. Recomputing and
publishing them after every sale or scan costs a query and a message each time, for numbers a
screen shows a moment later anyway. A `Debouncer` runs the action once, on a timer thread, after
the first request of a burst; requests arriving meanwhile ride along. The action runs after the
delay, so it reads the latest numbers: nothing committed before it starts is missed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable

logger = logging.getLogger(__name__)


class Debouncer:
    def __init__(self, delay_seconds: float, action: Callable[..., None]) -> None:
        self._delay = delay_seconds
        self._action = action
        self._lock = threading.Lock()
        self._pending: dict[Hashable, threading.Timer] = {}

    def schedule(self, key: Hashable, *args: object) -> None:
        """Run `action(*args)` within the delay, unless a run for `key` is already waiting."""
        with self._lock:
            if key in self._pending:
                return
            timer = threading.Timer(self._delay, self._run, args=(key, args))
            timer.daemon = True
            self._pending[key] = timer
        timer.start()

    def wait(self) -> None:
        """Let every scheduled run finish (before a database goes away: tests, shutdown)."""
        with self._lock:
            timers = list(self._pending.values())
        for timer in timers:
            timer.join()

    def _run(self, key: Hashable, args: tuple) -> None:
        with self._lock:
            del self._pending[key]  # requests from now on schedule the next run
        try:
            self._action(*args)
        except Exception:  # noqa: BLE001 (a missed update is repaired by the next one or a reload)
            logger.warning(
                "debounced %s failed for %s", getattr(self._action, "__name__", "action"), key, exc_info=True
            )
