"""How API endpoints run: plain (`def`) endpoints on a worker thread, one hop per request.

FastAPI runs a `def` endpoint on a worker thread and then, for its response model, hops to a worker
thread a second time, while the request's database session may still hold its connection. When
every thread is taken by requests waiting for a connection and every connection by requests waiting
for a thread, nothing moves until the pool gives up (10 s). Here each `def` endpoint becomes an
`async` one that runs the original on a worker thread from its own queue, as many at a time as the
process has database connections, first come first served; the response is then serialized on the
event loop with no second hop. (Each hop also costs about half a millisecond of CPU here.)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
from fastapi import APIRouter
from fastapi.routing import APIRoute
from sqlmodel import Session

from bilten.api.errors import error_responses
from bilten.settings import get_settings

_endpoint_threads: anyio.lowlevel.RunVar[anyio.CapacityLimiter] = anyio.lowlevel.RunVar("bilten_endpoint_threads")
_sale_threads: anyio.lowlevel.RunVar[anyio.CapacityLimiter] = anyio.lowlevel.RunVar("bilten_sale_threads")
# Orders that arrive together wait on their threads for one shared commit without holding a
# connection (services/orders/placing.py), so the order endpoint may have this many times as many
# threads as there are connections: a rush then forms batches of its own size, not of the pool's.
SALE_THREADS_PER_CONNECTION = 4


def endpoint_threads() -> anyio.CapacityLimiter:
    """This event loop's queue for endpoint threads: one per pooled database connection."""
    try:
        return _endpoint_threads.get()
    except LookupError:
        settings = get_settings()
        # The pool's kept connections, not its overflow: a connection beyond `pool_size` is closed
        # when given back, so more threads than that would open a PostgreSQL connection per request.
        limiter = anyio.CapacityLimiter(max(settings.db_pool_size, 1))
        _endpoint_threads.set(limiter)
        return limiter


def sale_threads() -> anyio.CapacityLimiter:
    """This event loop's queue for placing orders (POST /api/v1/orders)."""
    try:
        return _sale_threads.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(max(get_settings().db_pool_size, 1) * SALE_THREADS_PER_CONNECTION)
        _sale_threads.set(limiter)
        return limiter


def _on_a_worker_thread(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)  # FastAPI reads the parameters and types through __wrapped__
    async def endpoint(*args: Any, **kwargs: Any) -> Any:
        def call() -> Any:
            try:
                return function(*args, **kwargs)
            finally:
                # The request's session gives its connection back now, not after the response
                # has been serialized and sent (a client gone mid-request must not keep it).
                for value in kwargs.values():
                    if isinstance(value, Session):
                        value.close()

        return await anyio.to_thread.run_sync(call, limiter=endpoint_threads())

    return endpoint


async def on_endpoint_thread(
    function: Callable[[], Any], *, session: Session, limiter: anyio.CapacityLimiter | None = None
) -> Any:
    """For an `async` endpoint that awaits something slow between database steps: run one step on
    the endpoint threads (same queue as plain endpoints, unless `limiter` gives another), then give
    `session`'s connection back."""

    def call() -> Any:
        try:
            return function()
        finally:
            session.close()

    return await anyio.to_thread.run_sync(call, limiter=limiter or endpoint_threads())


class OneThreadHopRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if inspect.isfunction(endpoint) and not inspect.iscoroutinefunction(endpoint):
            endpoint = _on_a_worker_thread(endpoint)
        super().__init__(path, endpoint, **kwargs)
        if self.body_field is not None:
            # A body that is not JSON at all is refused before validation, with a 400.
            self.responses = {**error_responses(400), **self.responses}


def api_router(**kwargs: Any) -> APIRouter:
    """An APIRouter whose `def` endpoints run as described above."""
    return APIRouter(route_class=OneThreadHopRoute, **kwargs)
