"""A light simulated browser tab for the live-pages benchmark: Engine.IO v4 spoken over one raw
websocket (aiohttp), the way socket.io-client multiplexes namespaces on one connection.

Thousands of python-socketio clients in the load generator cost more CPU than the server they
measure (a task per received event, two connections per tab); this one parses a frame with a
prefix check and one `json.loads`, so the figures are the server's.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable

import aiohttp

ENGINE_PATH = "/_event/"


class LightTab:
    """One tab: Reflex's `/_event` namespace (hydrate + on_load in the CONNECT's auth) and, on the
    same connection, the `/live` namespace watching one event's counts."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self.http = http
        self.base_url = base_url
        self.token = str(uuid.uuid4())
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.reader: asyncio.Task | None = None
        self.connected: dict[str, asyncio.Event] = {}
        self.acks: dict[int, asyncio.Future] = {}
        self.next_ack = 0
        self.on_event: dict[tuple[str, str], Callable[[object], None]] = {}
        self.state_deltas = 0
        self.loaded = asyncio.Event()
        self.closed = False

    async def open(self) -> None:
        url = self.base_url.replace("http", "ws", 1) + f"{ENGINE_PATH}?EIO=4&transport=websocket&token={self.token}"
        self.ws = await self.http.ws_connect(url, autoping=False, max_msg_size=0, heartbeat=None)
        hello = await self.ws.receive_str(timeout=30)
        if not hello.startswith("0"):
            raise ConnectionError(f"unexpected engine.io open packet: {hello[:80]}")
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def join(self, namespace: str, auth: dict | None = None, *, timeout: float = 60) -> None:
        event = self.connected.setdefault(namespace, asyncio.Event())
        await self.ws.send_str(f"40{namespace}," + (json.dumps(auth, separators=(",", ":")) if auth else ""))
        await asyncio.wait_for(event.wait(), timeout)

    async def call(self, namespace: str, name: str, *args: object, timeout: float = 30) -> object:
        ack = self.next_ack
        self.next_ack += 1
        future = asyncio.get_running_loop().create_future()
        self.acks[ack] = future
        await self.ws.send_str(f"42{namespace},{ack}" + json.dumps([name, *args], separators=(",", ":")))
        return await asyncio.wait_for(future, timeout)

    async def close(self) -> None:
        self.closed = True
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()

    async def _read(self) -> None:
        ws = self.ws
        while True:
            message = await ws.receive()
            if message.type != aiohttp.WSMsgType.TEXT:
                return
            data = message.data
            kind = data[0]
            if kind == "2":  # engine.io ping
                await ws.send_str("3")
            elif kind == "4":
                self._packet(data[1:])

    def _packet(self, packet: str) -> None:
        kind = packet[0]
        namespace, _, rest = packet[1:].partition(",")
        if kind == "2":  # event
            at = time.monotonic()
            name_and_args = json.loads(rest)
            handler = self.on_event.get((namespace, name_and_args[0]))
            if handler is not None:
                handler(name_and_args[1] if len(name_and_args) > 1 else None, at)
        elif kind == "3":  # ack: "<id>[...]"
            cut = rest.index("[")
            future = self.acks.pop(int(rest[:cut]), None)
            if future is not None and not future.done():
                answer = json.loads(rest[cut:])
                future.set_result(answer[0] if answer else None)
        elif kind == "0":
            self.connected.setdefault(namespace, asyncio.Event()).set()
        elif kind == "4":  # connect error
            error = ConnectionError(f"{namespace}: {rest[:200]}")
            for future in self.acks.values():
                future.set_exception(error)
