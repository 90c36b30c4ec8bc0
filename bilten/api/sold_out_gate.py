"""Sold-out answers for `POST /api/v1/orders` before the rest of the API stack runs.

A small ASGI middleware, the innermost one of the API (inside the security headers and the body
cap, so its answers carry the same headers and its reads the same limit). When this process knows
that a request's ticket type has fewer seats left than asked (`bilten.services.seat_gate`), it
answers at once with the endpoint's own 409 `{"error": {"code": "sold_out", "message"}}` in the
caller's language: no routing, no dependencies, no rate-limit round trip to Redis, no worker thread,
no database. When the gate's knowledge has aged, one request per process reads the counts again (a
plain SELECT, no lock) and is refused from them or goes on. Every other request goes on unchanged
(its body replayed).

A refused request's buyer details are not checked: whatever they are, the request cannot be served.
"""

from __future__ import annotations

import json
import logging
import uuid
from functools import lru_cache

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bilten.api.routing import endpoint_threads
from bilten.i18n import normalize_locale, translate
from bilten.observability import metrics
from bilten.observability.middleware import ROUTE_KEY
from bilten.services.orders import MAX_QUANTITY, MAX_TYPES_PER_ORDER
from bilten.services.seat_gate import Probe, Refusal, SeatGate, recount, seat_gate
from bilten.services.translations import localized
from bilten.settings import get_settings

logger = logging.getLogger(__name__)
ORDERS_PATH = "/api/v1/orders"


def wanted_seats(body: bytes) -> tuple[dict[uuid.UUID, int], uuid.UUID | None] | None:
    """Seats per ticket type and the event named in an order's JSON body; None for anything the
    endpoint itself must answer (bad JSON, bad items: their errors come from there)."""
    try:
        data = json.loads(body)
        items = data["items"]
        if not isinstance(items, list) or not 0 < len(items) <= MAX_TYPES_PER_ORDER:
            return None
        wanted: dict[uuid.UUID, int] = {}
        for item in items:
            quantity = item["quantity"]
            if type(quantity) is not int or not 0 < quantity <= MAX_QUANTITY:
                return None
            type_id = uuid.UUID(item["ticket_type_id"])
            wanted[type_id] = wanted.get(type_id, 0) + quantity
        event_id = data.get("event_id")
        return wanted, uuid.UUID(event_id) if event_id is not None else None
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


@lru_cache(maxsize=512)
def sold_out_body(
    locale: str, name: str, available: int, name_texts: tuple[tuple[str, str], ...] = (), main_language: str = ""
) -> bytes:
    """The endpoint's SoldOut answer, byte for byte (Starlette's compact JSON), naming the ticket
    type in the buyer's language where the organizer gave one."""
    name = localized(name, dict(name_texts), locale, main_language)
    message = translate("error.sold_out", locale, name=name, available=available)
    content = {"error": {"code": "sold_out", "message": message}}
    return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode()


def _locale(scope: Scope) -> str:
    for key, value in scope.get("headers", ()):
        if key == b"accept-language":
            return normalize_locale(value.decode("latin-1"), get_settings().default_locale)
    return get_settings().default_locale


class SoldOutGate:
    def __init__(self, app: ASGIApp, gate: SeatGate | None = None) -> None:
        self.app = app
        self.gate = gate or seat_gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.gate.is_empty() or scope["path"] != ORDERS_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        scope[ROUTE_KEY] = ORDERS_PATH  # its answers are counted and logged under the endpoint's route
        body, first_messages = await _read_body(receive)
        replay = _replaying(first_messages, receive)
        parsed = wanted_seats(body) if body is not None else None
        verdict = self.gate.check(parsed[0], event_id=parsed[1]) if parsed else None
        if isinstance(verdict, Refusal):
            metrics.count_order("sold_out")
            await _answer_sold_out(
                send,
                sold_out_body(
                    _locale(scope), verdict.name, verdict.available, verdict.name_texts, verdict.main_language
                ),
            )
            return
        if isinstance(verdict, Probe):
            verdict = await self._after_recount(verdict, parsed)
            if isinstance(verdict, Refusal):
                metrics.count_order("sold_out")
                await _answer_sold_out(
                    send,
                    sold_out_body(
                        _locale(scope), verdict.name, verdict.available, verdict.name_texts, verdict.main_language
                    ),
                )
                return
        await self.app(scope, replay, send)

    async def _after_recount(
        self, probe: Probe, parsed: tuple[dict[uuid.UUID, int], uuid.UUID | None]
    ) -> Refusal | None:
        """The gate's knowledge has aged: read the counts again (a plain SELECT on an endpoint thread)
        and decide from them. Any failure lets the request go to the endpoint, which judges it."""
        try:
            counts = await anyio.to_thread.run_sync(recount, probe.ticket_type_ids, limiter=endpoint_threads())
        except Exception:  # noqa: BLE001 - the gate only saves work: without it the database answers
            logger.warning("seat gate: recount failed, the request goes to the database", exc_info=True)
            counts = []
        self.gate.learn(counts, counted_at=probe.started_at)
        self.gate.probe_finished(probe)
        # Decided from the counts just read, however long the read took.
        verdict = self.gate.check(parsed[0], event_id=parsed[1], as_of=probe.started_at)
        if isinstance(verdict, Probe):  # another type of the order has aged too: the database decides
            self.gate.probe_finished(verdict)
            return None
        return verdict


async def _read_body(receive: Receive) -> tuple[bytes | None, list[Message]]:
    """The whole request body (None if the client left or the stream ended oddly), and the messages
    read, to hand on unchanged."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None, messages
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), messages


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


async def _answer_sold_out(send: Send, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 409,
            "headers": [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
