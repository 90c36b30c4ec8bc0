"""API endpoints written as plain functions: one worker thread each, at most DB_POOL_SIZE at a time,
and the request's session closed before the response goes out."""

import asyncio
import threading
import time

import httpx
from fastapi import Depends, FastAPI
from sqlmodel import Session

from bilten.api.routing import api_router
from bilten.settings import get_settings


def _app(endpoint_body):
    router = api_router()
    sessions = []

    async def session_dependency():
        session = Session()
        sessions.append(session)
        yield session

    @router.get("/work")
    def work(session: Session = Depends(session_dependency)) -> dict:
        return endpoint_body(session)

    app = FastAPI()
    app.include_router(router)
    return app, sessions


def _get_many(app, count):
    async def run():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(*(client.get("/work") for _ in range(count)))

    return asyncio.run(run())


def test_at_most_pool_size_endpoints_run_at_once_each_on_a_worker_thread():
    lock, running, seen = threading.Lock(), [0], {"most": 0, "threads": set()}

    def body(_session):
        with lock:
            running[0] += 1
            seen["most"] = max(seen["most"], running[0])
            seen["threads"].add(threading.current_thread().name)
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return {"ok": True}

    app, _ = _app(body)
    answers = _get_many(app, 20)
    assert [answer.status_code for answer in answers] == [200] * 20
    assert seen["most"] == get_settings().db_pool_size
    assert threading.main_thread().name not in seen["threads"]


def test_the_session_is_closed_when_the_endpoint_returns(monkeypatch):
    """The dependency here never closes its session: the route does, on the worker thread, before
    the response is serialized and sent (a client gone mid-request must not keep a connection)."""
    closed = []
    original_close = Session.close

    def recording_close(self):
        closed.append(self)
        original_close(self)

    monkeypatch.setattr(Session, "close", recording_close)
    app, sessions = _app(lambda session: {"ok": True})
    (answer,) = _get_many(app, 1)
    assert answer.json() == {"ok": True}
    assert sessions and closed == sessions


def test_no_free_database_connection_is_a_translated_busy_answer_not_a_server_error():
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from bilten.api.errors import install_error_handlers

    app = FastAPI()
    install_error_handlers(app)

    @app.post("/api/v1/orders")
    def place():
        raise PoolTimeout("QueuePool limit of size 5 overflow 0 reached, connection timed out")

    async def call():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post("/api/v1/orders", headers={"Accept-Language": "de"})

    answer = asyncio.run(call())
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "2"
    assert answer.json()["error"]["code"] == "busy"
    assert "ausgelastet" in answer.json()["error"]["message"]
    assert "QueuePool" not in answer.text  # nothing of the server's inside
