"""What the live dashboards share (an event's in its back office, an organization's at /organizer).

Each open dashboard tab runs a background loop (started at the end of its page's on_load) that
listens to the sales and check-in channels of `bilten.live` and re-reads the figures after a
change. The first change after a quiet moment is read at once (a single sale shows without
delay); two things keep a rush cheap:
- a tab re-reads at most every `MIN_REFRESH_SECONDS`, however many sales arrive meanwhile;
- the tabs of one process share each re-read: the first tab to react computes the figures, the
  others reuse that result when it was computed after the change reached this process.
So a busy sale costs about two stats reads per second per event and process, not one per sale
and tab.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bilten import live
from bilten.i18n import format_money, translate

MIN_REFRESH_SECONDS = 0.5
ACCESS_RECHECK_SECONDS = 30.0  # a loop re-checks now and then that its reader may still see the figures
KEEP_FIGURES_SECONDS = 60.0


class SharedFigures:
    """Figures per key (an event, an organization), each computed once per change and shared by
    the tabs of this process. Database work runs in a thread: the event loop stays free."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Any]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, key: str, compute: Callable[[], Any], *, fresh_after: float) -> Any:
        """The figures of `key` as computed after `fresh_after` (a time.monotonic() moment)."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] >= fresh_after:
                return entry[1]
            started = time.monotonic()
            value = await asyncio.to_thread(compute)
            self._entries[key] = (started, value)
            self._forget_old(started)
            return value

    def _forget_old(self, now: float) -> None:
        for key, (computed, _) in list(self._entries.items()):
            if now - computed > KEEP_FIGURES_SECONDS and not self._locks[key].locked():
                del self._entries[key]
                del self._locks[key]


shared_figures = SharedFigures()


async def next_change(
    queue: asyncio.Queue,
    *,
    last_refresh: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> float:
    """Wait for the next change. After a quiet moment (the last refresh `MIN_REFRESH_SECONDS`
    ago or more) return at once: leading edge. Otherwise hold back until then and swallow what
    piled up meanwhile. Returns the moment the latest of them arrived here (on `clock`, the
    `time.monotonic` of `live.RECEIVED_AT`): a re-read started after it includes them all."""
    message = await queue.get()
    received = float(message.get(live.RECEIVED_AT, clock()))
    pause = last_refresh + MIN_REFRESH_SECONDS - clock()
    if pause > 0:
        await sleep(pause)
    while not queue.empty():
        message = queue.get_nowait()
        received = max(received, float(message.get(live.RECEIVED_AT, clock())))
    return received


# ---------------------------------------------------------------------------------------------
# Display helpers


@dataclasses.dataclass(frozen=True)
class ChartPoint:
    label: str
    tickets: int


def chart_points(buckets: list, unit: str) -> list[dict[str, Any]]:
    """Sales over time for rx.recharts: one point per hour ("22 Nov 14h" as "11-22 14:00") or day."""
    points = []
    for bucket in buckets:
        start = bucket.start  # "2026-11-22T14:00" or "2026-11-22"
        label = start[5:].replace("T", " ") if unit == "hour" else start
        points.append({"label": label, "tickets": bucket.tickets})
    return points


def money_text(revenue: dict[str, int], locale: str) -> str:
    """Revenue in every currency sold, e.g. "€1,250.00 + $80.00"; a dash when nothing sold."""
    return " + ".join(format_money(amount, currency, locale) for currency, amount in revenue.items()) or "—"


def gate_label(gate: str, locale: str) -> str:
    if gate == "manual":  # the gate `checkins.check_in_manually` records
        return translate("office.gate_manual", locale)
    return gate or translate("office.gate_none", locale)


def percent(part: int, whole: int) -> int:
    return min(100, round(100 * part / whole)) if whole else 0
