"""The REST API, served by the Reflex backend through `api_transformer` (same process, same port)."""

from __future__ import annotations

from fastapi import FastAPI

from bilten.api import (
    admin,
    auth,
    events,
    health,
    orders,
    organizations,
    organizer_events,
    organizer_reports,
    scanning,
    tickets,
    webhooks,
)
from bilten.api.body_limit import BodyLimitMiddleware
from bilten.api.errors import install_error_handlers


def create_api() -> FastAPI:
    app = FastAPI(
        title="Bilten API",
        version="1",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware)  # around everything, Reflex's own routes included
    for module in (health, auth, events, orders, tickets, scanning, webhooks, admin, organizations, organizer_reports):
        app.include_router(module.router)
    app.include_router(organizer_events.router)  # only POST/PATCH and sub-paths under /api/v1/events
    return app


api = create_api()
