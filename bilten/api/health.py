"""`GET /api/health`: is the database there, is Redis there (when configured)."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from sqlalchemy import text

from bilten.api.routing import api_router
from bilten.db import get_engine
from bilten.settings import get_settings

router = api_router(tags=["health"])


def check_database() -> str:
    try:
        with get_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "down", with its reason
        return f"error: {type(exc).__name__}"


def check_redis() -> str:
    url = get_settings().redis_url
    if not url:
        return "disabled"
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return f"error: {type(exc).__name__}"


@router.get("/api/health")
def health() -> JSONResponse:
    checks = {"database": check_database(), "redis": check_redis()}
    healthy = all(value in ("ok", "disabled") for value in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status_code=200 if healthy else 503
    )
