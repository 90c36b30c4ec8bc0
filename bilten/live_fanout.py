"""One socket.io event to many tabs of this process, encoded once, written at little cost per tab.

python-socketio's room emit encodes a packet once too, but then costs every tab an asyncio task
(`_send_eio_packet`), a ping-timeout check, a queue put that wakes the tab's engine.io writer task,
whose `poll` makes another task and a timer (`asyncio.wait_for`), and then the write itself, whose
answer wakes the writer again: several task steps per tab and count. At 10,000 open pages that was
the CPU the sales needed (bench/README.md, "Live event pages, one websocket per tab").

`Fanout.send` instead writes the same text frame straight into each tab's websocket (the ASGI
`send` of its connection) when nothing else of that tab is waiting to be written, so the order of
what a tab receives stays the order things were sent, and otherwise appends the one shared engine.io
packet to the tab's own queue (its writer sends it after what is queued already). Tabs are written in
chunks with a yield between two chunks, so HTTP requests of the same event loop are served in between.

granian's ASGI `send` starts writing when called and returns a future (it need not be awaited: the
frames leave in the order of the calls). Middlewares (Starlette's, under Reflex) wrap it in
coroutines: those are stepped by `_drive` until the frame is handed to the server, never awaited one
by one (an await per tab costs a round trip through the event loop per tab: 79 us of CPU per frame
through Reflex's middlewares, against 20 us here; bench/README.md).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Coroutine, Iterable
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

logger = logging.getLogger(__name__)

CHUNK_TABS = 250  # tabs written before the loop serves others (about 1-2 ms of work)
_WS_ATTRIBUTE = "_bilten_websocket"


def install(server: socketio.AsyncServer) -> None:
    """Let `Fanout` find each engine.io socket's websocket: the engine.io server's websocket class
    (its ASGI wrapper) is replaced by a subclass that leaves a weak reference on the socket."""
    engine = server.eio
    drivers = getattr(engine, "_async", None)
    if not isinstance(drivers, dict):
        return
    base = drivers.get("websocket")
    if base is None or getattr(base, "records_itself", False):
        return

    class RecordingWebSocket(base):  # type: ignore[misc, valid-type]
        records_itself = True

        def __init__(self, handler: Any, server: Any) -> None:  # noqa: ANN401
            super().__init__(handler, server)
            socket = getattr(handler, "__self__", None)  # the bound `_websocket_handler` of the socket
            if socket is not None:
                setattr(socket, _WS_ATTRIBUTE, weakref.ref(self))

    engine._async = {**drivers, "websocket": RecordingWebSocket}


def _drive(coroutine: Coroutine[Any, Any, Any]) -> None:
    """Run a send coroutine (a middleware's wrapper around the server's send) to its end the way an
    asyncio Task does (step; when it waits on a future, step again once that future is done), without
    a Task: the first step already hands the frame to the server, in the order of the calls."""
    try:
        waited = coroutine.send(None)
    except StopIteration:
        return
    except Exception:  # noqa: BLE001 - the tab went away
        logger.debug("live frame not written", exc_info=True)
        return
    if type(waited).__module__.startswith("granian"):
        # granian's own send future: the frame is already in its writer's queue, in order. Waiting
        # for it would only say it was written, and costs granian a call into this loop per frame
        # (38 us of CPU per frame instead of 20, bench_live_fanout); the wrappers above it only pass
        # the message through, so the coroutine is closed here.
        coroutine.close()
        return
    if waited is None:  # a bare yield (sleep(0)): step again on the next loop turn
        asyncio.get_running_loop().call_soon(_drive, coroutine)
        return
    if getattr(waited, "_asyncio_future_blocking", None):
        waited._asyncio_future_blocking = False
    waited.add_done_callback(lambda _done: _drive(coroutine))


def _writer_idle(queue: asyncio.Queue) -> bool:
    """The tab's engine.io writer waits on its empty queue: nothing taken from it is still being
    written (after a packet is taken from the queue, and until it is written, nobody waits)."""
    if not queue.empty():
        return False
    for waiter in getattr(queue, "_getters", ()):
        if not waiter.done():
            return True
    return False


class Fanout:
    """Writes events of one namespace to lists of its sids (this process's tabs)."""

    def __init__(self, server: socketio.AsyncServer, namespace: str, *, chunk: int = CHUNK_TABS) -> None:
        self.server = server
        self.namespace = namespace
        self.chunk = max(1, chunk)
        self.direct = 0  # frames written straight into a websocket
        self.queued = 0  # frames appended to an engine.io queue
        self._sockets: dict[str, Any] = {}  # sid -> its engine.io socket (found once, see `forget`)

    def forget(self, sid: str) -> None:
        """The sid disconnected from the namespace."""
        self._sockets.pop(sid, None)

    def frame(self, event: str, data: object) -> eio_packet.Packet:
        """The engine.io MESSAGE packet carrying the socket.io EVENT, encoded once for every tab."""
        packet = sio_packet.Packet(sio_packet.EVENT, data=[event, data], namespace=self.namespace)
        encoded = packet.encode()
        if isinstance(encoded, list):  # binary attachments: not used here, let socket.io do it
            raise ValueError("binary data cannot be fanned out")
        message = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        message.encode()  # cached on the packet: writers that send it reuse the text
        return message

    async def send(self, sids: Iterable[str], event: str, data: object) -> int:
        """Send `event(data)` to these sids; returns how many tabs it was written or queued for."""
        message = self.frame(event, data)
        asgi_message = {"type": "websocket.send", "bytes": None, "text": message.encode()}
        sent = 0
        batch = list(sids)
        for start in range(0, len(batch), self.chunk):
            if start:
                await asyncio.sleep(0)  # let the requests waiting in this loop run
            for sid in batch[start : start + self.chunk]:
                socket = self._socket(sid)
                if socket is None or socket.closed or socket.closing:
                    continue
                reference = getattr(socket, _WS_ATTRIBUTE, None)
                websocket = reference() if reference is not None else None
                asgi_send = getattr(websocket, "asgi_send", None)
                if asgi_send is not None and socket.upgraded and _writer_idle(socket.queue):
                    try:
                        pending = asgi_send(asgi_message)
                    except Exception:  # noqa: BLE001 - the tab just went away: its socket closes by itself
                        logger.debug("live frame not written to %s", sid, exc_info=True)
                        continue
                    if asyncio.iscoroutine(pending):
                        _drive(pending)
                    self.direct += 1
                else:
                    socket.queue.put_nowait(message)  # unbounded; its writer sends it after what it holds
                    self.queued += 1
                sent += 1
        return sent

    def _socket(self, sid: str) -> Any:  # noqa: ANN401
        socket = self._sockets.get(sid)
        if socket is None or socket.closed:
            socket = self.server.eio.sockets.get(self.server.manager.eio_sid_from_sid(sid, self.namespace))
            if socket is not None:
                self._sockets[sid] = socket
        return socket
