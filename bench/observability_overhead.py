"""What the API's observability middleware costs per request (bilten/observability/middleware.py).

In process, no network: N requests through an ASGI app that answers at once, bare and wrapped in
ObservabilityMiddleware (request id, one INFO log line through the JSON handler into memory, the
counter and the histogram in multiprocess mode), then N requests through the whole API on a path
that touches no database (an unknown /api path: routing, error handler, security headers), with
and without the middleware. Prints microseconds per request.

    PYTHONPATH=. .venv/bin/python bench/observability_overhead.py [N]
"""

from __future__ import annotations

import asyncio
import gc
import io
import logging
import os
import sys
import tempfile
import time

os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="bilten-bench-metrics-"))
os.environ.setdefault("BILTEN_DEMO", "1")

from bilten.observability.logging import make_handler  # noqa: E402
from bilten.observability.middleware import ObservabilityMiddleware  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000


class _Route:
    path_format = "/api/v1/orders/{order_id}"


async def bare_app(scope, receive, send):  # noqa: ANN001
    scope["route"] = _Route()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b"{}"})


async def run(app, n: int, path: str) -> float:  # noqa: ANN001
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):  # noqa: ANN001
        pass

    started = time.process_time()  # CPU time: on a shared machine, waiting for a core is not our cost
    for i in range(n):
        scope = {
            "type": "http",
            "method": "GET",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "scheme": "http",
            "query_string": b"",
            "headers": [(b"host", b"bench"), (b"x-request-id", f"bench-{i}".encode())],
            "client": ("127.0.0.1", 1234),
            "server": ("bench", 80),
            "http_version": "1.1",
        }
        await app(scope, receive, send)
    return (time.process_time() - started) / n * 1e6


def main() -> None:
    root = logging.getLogger()
    root.addHandler(make_handler("json", io.StringIO()))
    root.setLevel(logging.INFO)

    from bilten.api import create_api

    full = create_api()
    bare_api = create_api()
    bare_api.user_middleware = [m for m in bare_api.user_middleware if m.cls is not ObservabilityMiddleware]
    gc.collect()
    gc.freeze()  # as the app does at start (bilten.bilten.freeze_startup_objects)

    async def best(app, path: str, repeats: int = 5) -> float:  # noqa: ANN001 - the machine is shared: the least disturbed run
        return min([await run(app, N, path) for _ in range(repeats)])

    async def measure() -> None:
        await run(bare_app, 1000, "/api/v1/orders/x")  # warm up
        await run(ObservabilityMiddleware(bare_app), 1000, "/api/v1/orders/x")
        await run(full, 500, "/api/v1/none")
        await run(bare_api, 500, "/api/v1/none")
        without = await best(bare_app, "/api/v1/orders/x")
        with_it = await best(ObservabilityMiddleware(bare_app), "/api/v1/orders/x")
        print(f"trivial app: {without:.1f} µs bare, {with_it:.1f} µs wrapped: +{with_it - without:.1f} µs per request")
        api_without = await best(bare_api, "/api/v1/none")
        api_with = await best(full, "/api/v1/none")
        print(
            f"whole API (404 path): {api_without:.1f} µs without, {api_with:.1f} µs with: "
            f"+{api_with - api_without:.1f} µs per request"
        )

    asyncio.run(measure())


if __name__ == "__main__":
    main()
