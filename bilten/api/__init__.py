"""The REST API, served by the Reflex backend through `api_transformer` (same process, same port)."""

from __future__ import annotations

import anyio.to_thread
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
from bilten.api.errors import install_error_handlers
from bilten.settings import get_settings


def create_api() -> FastAPI:
    app = FastAPI(
        title="Bilten API",
        version="1",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    install_error_handlers(app)
    for module in (health, auth, events, orders, tickets, scanning, webhooks, admin, organizations, organizer_reports):
        app.include_router(module.router)
    app.include_router(organizer_events.router)  # only POST/PATCH and sub-paths under /api/v1/events
    return app


def match_worker_threads_to_the_database_pool() -> None:
    """A lifespan task: let as many requests run on worker threads as the process has database
    connections. Requests beyond that wait their turn in anyio's queue, first come first served;
    otherwise they wait inside SQLAlchemy's pool, which lets a thread that just returned a
    connection take it straight back, so under a rush a few requests starve for seconds."""
    settings = get_settings()
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = max(settings.db_pool_size + settings.db_max_overflow, 1)


api = create_api()
