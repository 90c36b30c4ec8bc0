"""The REST API, served by the Reflex backend through `api_transformer` (same process, same port).

This app is the outermost one Reflex serves (it mounts Reflex's own backend and, in production,
the built pages inside itself), so its middleware puts the security headers on everything.
The OpenAPI document is always at /api/openapi.json; the Swagger UI page (/api/docs) loads its
code from a CDN, so it is served in demo mode only.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from bilten.api import (
    admin,
    auth,
    events,
    health,
    invoices,
    orders,
    organization_webhooks,
    organizations,
    organizer_events,
    organizer_reports,
    questions,
    scanning,
    tickets,
    vouchers,
    waiting_list,
    webhooks,
)
from bilten.api.body_limit import BodyLimitMiddleware
from bilten.api.errors import install_error_handlers
from bilten.api.metrics import router as metrics_router
from bilten.api.order_lane import OrderLane
from bilten.api.security_headers import SecurityHeaders
from bilten.api.sold_out_gate import SoldOutGate
from bilten.observability.middleware import ObservabilityMiddleware
from bilten.settings import Settings, get_settings

DOCS_URL = "/api/docs"


def create_api(settings: Settings | None = None, *, order_lane: bool = True) -> FastAPI:
    settings = settings or get_settings()
    docs_url = DOCS_URL if settings.demo else None
    app = FastAPI(
        title="Bilten API",
        version="1",
        openapi_url="/api/openapi.json",
        docs_url=docs_url,
        redoc_url=None,
    )
    install_error_handlers(app)
    # Innermost: the busiest route answered without routing (its own module says why), then the
    # sold-out answers from memory, with the headers and the body cap of every answer.
    if order_lane:
        app.add_middleware(OrderLane, api=app)
    app.add_middleware(SoldOutGate)
    app.add_middleware(BodyLimitMiddleware)  # around everything, Reflex's own routes included
    app.add_middleware(SecurityHeaders, settings=settings, docs_path=docs_url)
    app.add_middleware(ObservabilityMiddleware)  # outermost: request id, log, metrics
    # Routes are matched one by one in this order: the orders come first, as the busiest route of a
    # sale (POST /api/v1/orders) would otherwise be tried against every route listed before it.
    for module in (
        orders,
        health,
        auth,
        events,
        tickets,
        scanning,
        webhooks,
        admin,
        organizations,
        organization_webhooks,
        organizer_reports,
        questions,
    ):
        app.include_router(module.router)
    app.include_router(organizer_events.router)  # only POST/PATCH and sub-paths under /api/v1/events
    app.include_router(vouchers.router)  # /api/v1/events/{id}/vouchers...
    app.include_router(waiting_list.router)
    app.include_router(invoices.router)
    app.include_router(metrics_router)
    return app


api = create_api()


def mount_reflex(reflex_backend: ASGIApp) -> FastAPI:
    """Reflex's `api_transformer`: its backend (event websocket, /ping, the built pages) mounted
    inside the API. A function, not the FastAPI app itself: given an app, Reflex 0.10 also adds a
    CORS middleware to it, a second one under the one it puts on the outermost app (same
    settings), which already answers every preflight and adds the headers to every answer. The
    inner one only cost each request another layer (and each sale about 60 function calls)."""
    api.mount("", reflex_backend)
    return api


class ApiFastLane:
    """The outermost layer of the server (bilten.bilten.BiltenApp): an API request without an
    Origin header (an integration, a load of orders in a rush) goes straight to the API app,
    past the layers Reflex puts around everything (its error page, CORS, its request context, a
    router and a mount), which cost each request about 0.4 ms of CPU and do nothing for it: CORS
    only acts on a request with an Origin, and the API has its own error handling, security
    headers and body limit. Browsers send an Origin with every POST, so they take the full path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/") and not _has_origin(scope):
            await api(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _has_origin(scope: Scope) -> bool:
    return any(name == b"origin" for name, _ in scope["headers"])
