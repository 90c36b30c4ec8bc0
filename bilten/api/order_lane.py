"""`POST /api/v1/orders` answered without FastAPI's routing and dependency machinery.

At a few hundred sales a second every part of a sale's CPU counts on a small machine: matching the
route, solving its dependencies (and their exit stack), FastAPI's request handler and its response
wrapper took about a fifth of the web workers' CPU per sale (py-spy, bench/README.md). This lane,
the innermost middleware of the API, answers the route itself and does what they did for it:

- the body as FastAPI reads it: JSON only with a JSON Content-Type (a cross-site "simple" POST
  cannot pass as JSON), validated into `OrderIn`; a refusal is the same 422
  `RequestValidationError` the route gives;
- the route's dependencies (a session, the clock), overrides included (tests set them);
- every error through the API's own exception handlers, as the route's would be;
- the route's template in the scope, so metrics and logs name it.

The route itself stays declared in `bilten/api/orders.py` (the OpenAPI document, and an API app
built without this lane), and both call the same `answer_order`.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from email.message import Message
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from bilten.api.deps import get_now, get_session
from bilten.api.orders import OrderIn, answer_order
from bilten.api.sold_out_gate import ORDERS_PATH
from bilten.observability.middleware import ROUTE_KEY


class OrderLane:
    def __init__(self, app: ASGIApp, *, api: FastAPI) -> None:
        self.app = app
        self.api = api  # its exception handlers and dependency overrides

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != ORDERS_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        scope[ROUTE_KEY] = ORDERS_PATH
        request = Request(scope, receive)
        try:
            body = await _order_in(request)
            async with self._session() as session:
                response = await answer_order(body, request, session, await self._now())
        except Exception as exc:
            response = await self._handled(request, exc)
        await response(scope, receive, send)

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[Any]:
        dependency: Callable[..., Any] = self.api.dependency_overrides.get(get_session, get_session)
        produced = dependency()
        if inspect.isasyncgen(produced):
            async with asynccontextmanager(lambda: produced)() as session:
                yield session
        elif inspect.isgenerator(produced):
            try:
                yield next(produced)
            finally:
                produced.close()
        else:
            yield await produced if inspect.isawaitable(produced) else produced

    async def _now(self) -> Any:  # noqa: ANN401 - whatever the (overridden) clock gives
        now = self.api.dependency_overrides.get(get_now, get_now)()
        return await now if inspect.isawaitable(now) else now

    async def _handled(self, request: Request, exc: Exception) -> Response:
        """The answer the API's exception handlers give, as for any route; none: raised on (a 500)."""
        for kind in type(exc).__mro__:
            handler = self.api.exception_handlers.get(kind)
            if handler is not None:
                answer = handler(request, exc)  # the API's handlers are coroutines, none blocks
                return await answer if inspect.isawaitable(answer) else answer
        raise exc


async def _order_in(request: Request) -> OrderIn:
    """The body as FastAPI reads and validates it for the route (fastapi/routing.py), refusals alike."""
    raw = await request.body()
    if not raw or not _is_json(request.headers.get("content-type")):
        error = {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
        raise RequestValidationError([error], body=raw)
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        error = {"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error", "input": {}}
        raise RequestValidationError([error], body=exc.doc) from None
    except ValueError:  # not UTF-8 at all
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from None
    try:
        return OrderIn.model_validate(data)
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        raise RequestValidationError(errors, body=data) from None


def _is_json(content_type: str | None) -> bool:
    """FastAPI's rule (strict): application/json or application/*+json, and nothing else."""
    if not content_type:
        return False
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))
