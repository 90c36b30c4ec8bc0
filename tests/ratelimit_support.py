"""Rate limits in tests: turned on at their defaults (the suite runs with them off, see conftest.py),
a real HTTP server for the API, and clients that each come from their own loopback address."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from bilten import ratelimit
from bilten.settings import Settings, get_settings


def _rate_limit_fields() -> dict[str, str]:
    """Every rate limit setting: its environment name -> its default."""
    return {
        field.alias: field.default
        for name, field in Settings.model_fields.items()
        if name.startswith("rate_limit_") and field.alias
    }


@contextmanager
def settings_env(**values: str) -> Iterator[None]:
    """Set environment variables for the app's settings (read again), put everything back afterwards."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    get_settings.cache_clear()
    ratelimit.reset_memory_counters()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
        ratelimit.reset_memory_counters()


@contextmanager
def rate_limits_on(**overrides: str) -> Iterator[None]:
    """Every rate limit at its default, except `overrides` (environment names: RATE_LIMIT_LOGIN="3/minute",
    or any other setting such as TRUSTED_PROXIES)."""
    with settings_env(**{**_rate_limit_fields(), **overrides}):
        yield


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThreadedServer:
    """uvicorn serving an ASGI app on 127.0.0.1 from a thread of this process (its own event loop)."""

    def __init__(self, app, port: int | None = None) -> None:  # noqa: ANN001
        self.port = port or free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def client_from(base_url: str, address: str, **kwargs) -> httpx.Client:  # noqa: ANN003
    """An HTTP client whose requests come from `address` (any 127.0.0.N: the whole range is loopback)."""
    return httpx.Client(base_url=base_url, transport=httpx.HTTPTransport(local_address=address), timeout=30, **kwargs)
