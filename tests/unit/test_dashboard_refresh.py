"""When a dashboard re-reads its figures: at once after a quiet moment, coalesced in a rush."""

import asyncio

from bilten import live
from bilten.state.dashboard import MIN_REFRESH_SECONDS, next_change


class ManualClock:
    """A monotonic clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 500.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _queue(*received_at: float) -> asyncio.Queue:
    queue: asyncio.Queue = asyncio.Queue()
    for moment in received_at:
        queue.put_nowait({"event_id": "e", live.RECEIVED_AT: moment})
    return queue


def test_the_first_change_after_a_quiet_moment_is_read_at_once():
    clock = ManualClock()
    queue = _queue(clock.now)
    fresh_after = asyncio.run(
        next_change(queue, last_refresh=clock.now - MIN_REFRESH_SECONDS - 3.0, clock=clock, sleep=clock.sleep)
    )
    assert clock.slept == []
    assert fresh_after == 500.0


def test_a_change_right_after_a_refresh_waits_out_the_window_and_takes_the_burst_along():
    clock = ManualClock()
    last_refresh = clock.now - 0.125  # a refresh just happened
    queue = _queue(clock.now, clock.now + 0.0625)

    async def burst_meanwhile(seconds: float) -> None:
        await clock.sleep(seconds)
        queue.put_nowait({"event_id": "e", live.RECEIVED_AT: clock.now - 0.03125})  # arrived while waiting

    fresh_after = asyncio.run(next_change(queue, last_refresh=last_refresh, clock=clock, sleep=burst_meanwhile))
    assert clock.slept == [MIN_REFRESH_SECONDS - 0.125]
    assert queue.empty()  # the burst was swallowed: one re-read for all of it
    assert fresh_after == clock.now - 0.03125  # the latest arrival: a re-read after it includes every change
