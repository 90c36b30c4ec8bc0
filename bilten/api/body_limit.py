"""Request bodies are capped before they are read whole: MAX_BODY_KB, picture uploads MAX_UPLOAD_MB.

An ASGI middleware around the whole app (the API and, mounted inside it, Reflex's own `/_upload`).
A declared Content-Length above the cap is refused at once, without reading a byte of the body;
a body without one (chunked) is counted while it streams in and refused as soon as it passes the
cap, so no more than the cap is ever held. The refusal is the API's usual error, 413
`{"error": {"code": "payload_too_large", "message": ...}}`, in the caller's language.
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bilten.api.errors import BodyTooLarge, payload_too_large
from bilten.settings import get_settings

# Where pictures are uploaded (multipart): the API's event picture and Reflex's upload endpoint.
UPLOAD_PATHS = re.compile(r"^(/api/v1/events/[^/]+/image|/_upload)/?$")
# A multipart body carries its boundaries and part headers on top of the file.
MULTIPART_OVERHEAD = 64 * 1024


def body_cap(path: str) -> int:
    """The largest body accepted for a request to `path`, in bytes."""
    settings = get_settings()
    if UPLOAD_PATHS.match(path):
        return settings.max_upload_mb * 1024 * 1024 + MULTIPART_OVERHEAD
    return settings.max_body_kb * 1024


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # websockets (Reflex's /_event), lifespan
            return
        limit = body_cap(scope.get("path", ""))
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await payload_too_large(Request(scope), limit)(scope, _no_body, send)
            return

        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # The app's error handler answers 413 (FastAPI lets an HTTPException through).
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if response_started:
                raise
            # Nobody answered it on the way out (an app that reads its body outside FastAPI).
            await payload_too_large(Request(scope), limit)(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
