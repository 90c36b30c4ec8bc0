"""The relay's adaptive gap (`RelayPacer`) and the cheap fan-out of one count to many tabs
(`bilten.live_fanout`): straight into an idle tab's websocket, else behind what its queue holds."""

from __future__ import annotations

import asyncio
import json

import pytest

from bilten.live_fanout import Fanout, _drive, _writer_idle
from bilten.live_inventory import RELAY_MAX_GAP_SECONDS, RELAY_MIN_GAP_SECONDS, RelayPacer


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_small_audiences_get_four_counts_a_second_and_crowds_fewer_within_the_ceiling():
    pacer = RelayPacer(frames_per_second=6000, clock=_Clock())
    assert pacer.gap(0) == RELAY_MIN_GAP_SECONDS == 0.25
    assert pacer.gap(1000) == 0.25  # 4,000 frames a second: within the budget
    assert pacer.gap(3000) == pytest.approx(0.5)  # 3,000 tabs x 2 counts a second = the budget
    assert pacer.gap(3600) == pytest.approx(RELAY_MAX_GAP_SECONDS)
    assert pacer.gap(100_000) == RELAY_MAX_GAP_SECONDS  # never slower than the 1 s promise allows
    for tabs in (10, 1000, 2000, 3000, 3600):  # the budget holds up to frames_per_second x max gap tabs
        assert tabs / pacer.gap(tabs) <= 6000 + 1e-6


def test_the_first_count_after_a_quiet_moment_goes_at_once_later_ones_wait_for_the_gap():
    clock = _Clock()
    pacer = RelayPacer(frames_per_second=1000, clock=clock)
    assert pacer.wait(tabs=500) == 0.0  # nothing sent yet
    pacer.sent()
    clock.now += 0.1
    assert pacer.wait(tabs=100) == pytest.approx(0.15)  # 100 tabs: the 0.25 s floor
    assert pacer.wait(tabs=500) == pytest.approx(0.4)  # 500 tabs at 1,000 frames/s: a 0.5 s gap
    clock.now += 0.5
    assert pacer.wait(tabs=500) == 0.0  # quiet long enough
    pacer.sent()
    assert pacer.wait(tabs=10_000) == pytest.approx(RELAY_MAX_GAP_SECONDS)


class _Socket:
    def __init__(self, sid: str, *, upgraded: bool = True) -> None:
        self.sid = sid
        self.queue: asyncio.Queue = asyncio.Queue()
        self.upgraded = upgraded
        self.closed = self.closing = False
        self.written: list[str] = []

    async def writer(self) -> None:
        """engine.io's websocket writer, in short: waits on the queue, writes what it takes."""
        while True:
            packet = await self.queue.get()
            await asyncio.sleep(0.01)  # the write takes a moment
            self.written.append(packet.encode())


class _WebSocket:
    def __init__(self, socket: _Socket) -> None:
        self.socket = socket

    async def asgi_send(self, message: dict) -> None:
        self.socket.written.append(message["text"])


class _Manager:
    def eio_sid_from_sid(self, sid: str, namespace: str) -> str:
        return "eio-" + sid


class _Engine:
    def __init__(self, sockets: dict[str, _Socket]) -> None:
        self.sockets = sockets


class _Server:
    def __init__(self, sockets: list[_Socket]) -> None:
        self.manager = _Manager()
        self.eio = _Engine({"eio-" + s.sid: s for s in sockets})


def _wire(socket: _Socket) -> _WebSocket:
    websocket = _WebSocket(socket)
    socket._bilten_websocket = lambda: websocket  # what `install` leaves on each socket (a weak reference)
    return websocket


@pytest.mark.anyio
async def test_one_encoded_frame_reaches_idle_tabs_directly_and_busy_ones_after_their_queue():
    idle, busy, polling, gone = _Socket("idle"), _Socket("busy"), _Socket("polling", upgraded=False), _Socket("gone")
    for socket in (idle, busy, gone):
        _wire(socket)
    gone.closed = True
    writers = [asyncio.get_running_loop().create_task(s.writer()) for s in (idle, busy, polling)]
    try:
        await asyncio.sleep(0)  # every writer waits on its queue
        assert _writer_idle(idle.queue)
        fanout = Fanout(_Server([idle, busy, polling, gone]), "/live", chunk=2)
        await busy.queue.put(fanout.frame("answer", {"n": 0}))  # e.g. a watch answer not written yet
        assert not _writer_idle(busy.queue)

        sent = await fanout.send(["idle", "busy", "polling", "gone", "unknown"], "inventory", {"left": 7})
        assert sent == 3 and fanout.direct == 1 and fanout.queued == 2
        await asyncio.sleep(0.1)
        frame = '42/live,["inventory",{"left":7}]'
        assert idle.written == [frame]
        assert busy.written == ['42/live,["answer",{"n":0}]', frame]  # in the order sent
        assert polling.written == [frame]  # no websocket (long polling): through its queue
        assert gone.written == []
        assert json.loads(frame[len("42/live,") :]) == ["inventory", {"left": 7}]
    finally:
        for writer in writers:
            writer.cancel()


class _GranianFuture:
    """Stands for granian's send future: yields itself to whoever drives the coroutine."""

    __module__ = "granian._granian"

    def __await__(self):  # noqa: ANN204
        yield self


@pytest.mark.anyio
async def test_wrapped_sends_are_driven_without_a_task_and_without_waiting_for_granian():
    steps: list[str] = []
    later: asyncio.Future = asyncio.get_running_loop().create_future()

    async def wrapper(inner) -> None:  # noqa: ANN001 - a middleware's pass-through `send`
        steps.append("handed over")
        try:
            await inner
            steps.append("after the send")
        finally:
            steps.append("wrapper done")

    async def instant() -> None:
        return None

    _drive(wrapper(instant()))  # a send that completes at once runs to its end
    assert steps == ["handed over", "after the send", "wrapper done"]

    steps.clear()
    _drive(wrapper(later))  # waits on an asyncio future: resumed when it is done, as a Task would
    assert steps == ["handed over"]
    later.set_result(None)
    await asyncio.sleep(0)
    assert steps == ["handed over", "after the send", "wrapper done"]

    steps.clear()
    _drive(wrapper(_GranianFuture()))  # granian has the frame already: the wait is dropped at once
    assert steps == ["handed over", "wrapper done"]
