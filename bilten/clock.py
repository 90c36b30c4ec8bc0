"""The one clock of the app.

Services never read the time: they take `now` as an argument. The layers that call them (state
handlers, API dependencies, workers, the sweeper, the CLI) ask this module, so a test sets one clock
and every layer agrees with its fixtures, whatever the calendar says.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta


def _wall_clock() -> datetime:
    return datetime.now(UTC)


_source: Callable[[], datetime] = _wall_clock


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return _source()


def set_clock(source: Callable[[], datetime]) -> None:
    """Replace the clock (tests); `reset_clock()` puts the wall clock back."""
    global _source
    _source = source


def reset_clock() -> None:
    set_clock(_wall_clock)


class FrozenClock:
    """A clock that stands still until moved: `clock.advance(minutes=5)`."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at = self.at + timedelta(**delta)
        return self.at


class RunningClock(FrozenClock):
    """A clock that starts at a given moment and runs at real speed; it can be moved ahead too."""

    def __init__(self, at: datetime) -> None:
        super().__init__(at)
        self._started = time.monotonic()

    def __call__(self) -> datetime:
        return self.at + timedelta(seconds=time.monotonic() - self._started)


@contextmanager
def using(source: FrozenClock) -> Iterator[FrozenClock]:
    """Let `source` be the app's clock for the duration of the block."""
    set_clock(source)
    try:
        yield source
    finally:
        reset_clock()


def frozen_at(at: datetime):  # noqa: ANN201
    """Stop the app's clock at `at` for the duration of the block."""
    return using(FrozenClock(at))
