"""The API's request middleware: a request id, one log line and two metric updates per request.

A pure ASGI middleware, outermost in the API app, for `/api/...` only (Reflex's pages, assets and
websocket pass untouched). Per request it:
- keeps a sane incoming X-Request-ID (^[A-Za-z0-9._-]{1,128}$) or makes one, puts it in the log
  context and on the answer (every answer: errors, 404s, the sold-out gate's 409s included);
- counts the request in `bilten_http_requests_total{method,route,status}` and its time in
  `bilten_http_request_duration_seconds{method,route}`, where route is the matched route's
  template (`/api/v1/orders/{order_id}`, never the raw path) or "unmatched";
- logs one line `api request` with method, route, status, duration and the user when known; an
  exception that escapes the app is logged with the request id, then re-raised.
`/api/metrics` itself is neither counted nor logged (scrapes would drown the rest); `/api/health`
is both. No database, no Redis: a dict lookup and a few memory-mapped writes.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bilten.observability import context, metrics

logger = logging.getLogger("bilten.api.access")

API_PREFIX = "/api/"
METRICS_PATH = "/api/metrics"
UNMATCHED = "unmatched"
_HEADER = context.REQUEST_ID_HEADER.lower().encode()


# An answer given before routing (the sold-out gate's) names its route here, in the same scope.
ROUTE_KEY = "bilten.route_template"


def route_template(scope: Scope) -> str:
    """The template of the route that answered (FastAPI puts the route in the scope when it
    matches), the one a middleware answering for a route named, else "unmatched" (404s)."""
    route = scope.get("route")
    if route is not None:
        template = str(getattr(route, "path_format", None) or getattr(route, "path", UNMATCHED))
        # Reflex's own catch-all (`/{path}`, the built pages) answers unknown /api paths with 404.
        return template if template.startswith(API_PREFIX) else UNMATCHED
    return str(scope.get(ROUTE_KEY, UNMATCHED))


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        incoming = None
        for key, value in scope["headers"]:
            if key == _HEADER:
                incoming = value.decode("latin-1")
                break
        request_id = context.accepted_request_id(incoming)
        request_context, token = context.begin(request_id)
        header = (_HEADER, request_id.encode())
        status = 500
        started_response = False
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status, started_response = message["status"], True
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            self._finish(scope, request_context, 500, started, failed=True)
            if not started_response:
                # Answered here, in the API's error shape and with the id the log line carries
                # (Starlette's own 500 page would be sent outside this middleware, without it).
                await _internal_error(scope, send_with_id)
            raise
        else:
            self._finish(scope, request_context, status, started)
        finally:
            context.end(token)

    def _finish(
        self,
        scope: Scope,
        request_context: context.RequestContext,
        status: int,
        started: float,
        *,
        failed: bool = False,
    ) -> None:
        seconds = time.perf_counter() - started
        path = scope["path"]
        if path == METRICS_PATH:
            return
        method = scope["method"]
        route = route_template(scope)
        request_context.route = route
        metrics.observe_request(method, route, status, seconds)
        fields = {
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
        }
        if failed:
            logger.exception("api request failed", extra=fields)
        elif status >= 500:
            logger.error("api request", extra=fields)
        elif logger.isEnabledFor(logging.INFO):
            logger.info("api request", extra=fields)


async def _internal_error(scope: Scope, send: Send) -> None:
    from starlette.requests import Request

    from bilten.api.errors import error_response, request_locale
    from bilten.i18n import translate

    message = translate("error.generic", request_locale(Request(scope)))
    response = error_response(500, "internal_error", message)
    await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
