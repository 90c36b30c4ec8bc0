"""Leaving cleanly when the process is told to stop (SIGTERM from `docker stop`, systemd, a deploy).

What granian does alone on SIGTERM (checked with Reflex 0.10.1 / granian 2.8.9): each worker stops
accepting, lets the requests in flight finish and exits; its open websockets are dropped without a
close (the browser sees code 1006). So each worker takes SIGTERM (and SIGINT) first: it closes every
Engine.IO connection properly (an Engine.IO "close" packet, then a websocket close frame), and only
then hands the signal to granian. The browser's socket.io client takes that as a closed transport
and reconnects at once, through the proxy, to a backend that is still up; the tab's state is in
Redis, so the page goes on where it was. Requests that arrive meanwhile are still served.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from typing import Any

logger = logging.getLogger(__name__)
CLOSE_TIMEOUT_SECONDS = 5.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def close_all_websockets(sio: Any, timeout: float = CLOSE_TIMEOUT_SECONDS) -> int:
    """Close every Engine.IO connection of `sio` (a python-socketio AsyncServer); how many there were.

    Closed at the Engine.IO level on purpose: a Socket.IO "disconnect" of the namespace would tell the
    client not to come back, while a closed transport makes it reconnect."""
    engine = getattr(sio, "eio", None)
    if engine is None or not engine.sockets:
        return 0
    sockets = list(engine.sockets.values())
    count = len(sockets)
    try:
        await asyncio.wait_for(engine.disconnect(), timeout=timeout)
        # python-engineio sends the "close" packet but leaves each websocket's writer waiting for
        # more until its ping timeout; an empty entry ends the writer, which sends the close frame.
        for socket in sockets:
            queue = getattr(socket, "queue", None)
            if queue is not None:
                queue.put_nowait(None)
        await asyncio.sleep(0.2)
    except TimeoutError:
        logger.warning("shutdown: %d websockets did not close within %.0f s", count, timeout)
    return count


def _take_stop_signals(loop: asyncio.AbstractEventLoop, sio: Any) -> bool:
    """Put the websocket close in front of the server's own stop-signal handlers on `loop`.
    False where the server installed none there (development servers, other loops)."""
    handlers = getattr(loop, "_signal_handlers", None)  # asyncio's Unix loop keeps them here
    if not isinstance(handlers, dict):
        return False
    originals = {sig: handlers[sig] for sig in STOP_SIGNALS if sig in handlers}
    if not originals:
        return False
    stopping: list[int] = []

    async def close_then_stop(sig: int) -> None:
        try:
            closed = await close_all_websockets(sio)
            if closed:
                logger.info("shutdown: closed %d websockets; their pages reconnect to another backend", closed)
        finally:
            originals[sig]._run()  # the server's own handler: stop accepting, finish requests, exit

    def on_signal(sig: int) -> None:
        if stopping:  # the supervisor forwards the signal the process group already got
            return
        stopping.append(sig)
        loop.create_task(close_then_stop(sig))

    for sig in originals:
        loop.add_signal_handler(sig, on_signal, sig)
    return True


@contextlib.asynccontextmanager
async def close_websockets_on_shutdown(app: Any) -> AsyncIterator[None]:
    """A Reflex lifespan task: at start, take the stop signals; at the end, close what is left."""
    sio = getattr(app, "sio", None)
    _take_stop_signals(asyncio.get_running_loop(), sio)
    yield
    await close_all_websockets(sio)
