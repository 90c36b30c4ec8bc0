"""A keep-alive HTTP/1.1 client that costs the load generator little CPU per request.

The open-loop sales of bench_live_pages and bench_sweeper run on the same 2 cores as the server.
Through httpx each POST cost this process about 1.3 ms of CPU (40 % of a core at 300 sales/s,
taken from the server it measures); written as bytes on an asyncio stream and answered by reading
the status line, the headers and Content-Length bytes, it costs a tenth of that. Buyers are on
other machines in life: the less the generator takes, the more the figure is the server's.

Only what the benchmarks send: JSON POSTs and GETs to one host, answers with Content-Length or
chunked bodies, no redirects, no TLS.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit


class LightClient:
    """One keep-alive connection; one request at a time (as a browser's or httpx's connection)."""

    def __init__(self, base_url: str, *, timeout: float = 30) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post_json(self, path: str, body: object) -> tuple[int, bytes]:
        payload = json.dumps(body, separators=(",", ":")).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode()
        return await self._exchange(head + payload)

    async def get(self, path: str) -> tuple[int, bytes]:
        return await self._exchange(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode())

    async def aclose(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None

    async def _exchange(self, request: bytes) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        self._writer.write(request)
        try:
            return await asyncio.wait_for(self._answer(self._reader), self.timeout)
        except Exception:
            await self.aclose()  # a half-read answer leaves the connection unusable
            raise

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[int, bytes]:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await _read_chunked(reader)
        else:
            body = b""
        if headers.get("connection", "").lower() == "close":
            await self.aclose()
        return status, body


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # the empty trailer
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
