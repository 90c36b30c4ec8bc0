"""Run an action at once after a quiet moment, then at most once per short delay and key.

Live counters (seats left, check-ins) change many times a second in a rush. Recomputing and
publishing them after every sale or scan costs a query and a message each time, for numbers a
screen shows a moment later anyway. A `Debouncer` coalesces on both edges:
- leading: the first request after a quiet moment (no run started within the delay) runs the
  action at once on a timer thread, so a single sale reaches dashboards and pages without waiting;
- trailing: requests arriving after that run started ride along in ONE more run, due a delay after
  it started; a burst costs at most one run per delay.
The action always starts after the request that asked for it (the caller has committed by then),
so it reads the latest numbers: nothing committed before a run starts is missed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Protocol

logger = logging.getLogger(__name__)
FORGET_AFTER_KEYS = 1024  # start times older than the delay are dropped once this many are kept


class _Timer(Protocol):
    def start(self) -> None: ...
    def join(self, timeout: float | None = None) -> None: ...


def _thread_timer(delay: float, function: Callable[[], None]) -> _Timer:
    timer = threading.Timer(delay, function)
    timer.daemon = True
    return timer


class Debouncer:
    def __init__(
        self,
        delay_seconds: float,
        action: Callable[..., None],
        *,
        clock: Callable[[], float] = time.monotonic,
        timer: Callable[[float, Callable[[], None]], _Timer] = _thread_timer,
    ) -> None:
        """`clock` and `timer` (seconds, function -> a startable timer) are for tests."""
        self._delay = delay_seconds
        self._action = action
        self._clock = clock
        self._timer = timer
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)  # notified when a run ends
        self._pending: dict[Hashable, _Timer] = {}
        self._running = 0
        self._last_started: dict[Hashable, float] = {}

    def schedule(self, key: Hashable, *args: object) -> None:
        """Run `action(*args)`: at once after a quiet moment, else a delay after the last run for
        `key` started, unless a run for `key` is already waiting (these args then ride along)."""
        with self._lock:
            if key in self._pending:
                return
            last = self._last_started.get(key)
            wait = 0.0 if last is None else max(0.0, last + self._delay - self._clock())
            timer = self._timer(wait, lambda: self._run(key, args))
            self._pending[key] = timer
            timer.start()  # under the lock: `wait` never joins a timer not started yet

    def wait(self) -> None:
        """Let every scheduled or running run finish (before a database goes away: tests, shutdown)."""
        while True:
            with self._lock:
                while self._running and not self._pending:
                    self._idle.wait()
                timers = list(self._pending.values())
                if not timers:
                    return
            for timer in timers:
                timer.join()

    def _run(self, key: Hashable, args: tuple) -> None:
        with self._lock:
            del self._pending[key]  # requests from now on schedule the next run
            self._running += 1
            started = self._clock()
            self._last_started[key] = started
            if len(self._last_started) > FORGET_AFTER_KEYS:
                self._forget_quiet_keys(started)
        try:
            self._action(*args)
        except Exception:  # noqa: BLE001 (a missed update is repaired by the next one or a reload)
            logger.warning(
                "debounced %s failed for %s", getattr(self._action, "__name__", "action"), key, exc_info=True
            )
        finally:
            with self._lock:
                self._running -= 1
                self._idle.notify_all()

    def _forget_quiet_keys(self, now: float) -> None:
        """A key whose last run started more than a delay ago runs at once next time either way."""
        for key, started in list(self._last_started.items()):
            if now - started >= self._delay:
                del self._last_started[key]
