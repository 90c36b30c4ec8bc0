"""`GET /api/health` with the database and Redis up, and each one down."""

from fastapi.testclient import TestClient

from bilten.api import api
from bilten.db import get_engine
from bilten.settings import get_settings


def _health(monkeypatch, *, database_url: str, redis_url: str | None):
    monkeypatch.setenv("DATABASE_URL", database_url)
    if redis_url:
        monkeypatch.setenv("REDIS_URL", redis_url)
    else:
        monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        with TestClient(api) as client:
            return client.get("/api/health")
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        get_engine.cache_clear()


def test_healthy_with_database_and_redis_disabled(monkeypatch, pg_url):
    response = _health(monkeypatch, database_url=pg_url, redis_url=None)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "disabled"}}


def test_healthy_with_redis(monkeypatch, pg_url, redis_url):
    response = _health(monkeypatch, database_url=pg_url, redis_url=redis_url)
    assert response.status_code == 200 and response.json()["checks"]["redis"] == "ok"


def test_unavailable_when_the_database_is_down(monkeypatch):
    # Nothing listens on port 1: the connection is refused at once.
    response = _health(monkeypatch, database_url="postgresql+psycopg://postgres@127.0.0.1:1/nowhere", redis_url=None)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["checks"]["database"].startswith("error")


def test_unavailable_when_configured_redis_is_down(monkeypatch, pg_url):
    response = _health(monkeypatch, database_url=pg_url, redis_url="redis://127.0.0.1:1/0")
    assert response.status_code == 503 and response.json()["checks"]["redis"].startswith("error")
