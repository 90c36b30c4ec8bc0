"""Browser journeys against the real production build.

One session: a fresh SQLite database (migrated, demo data loaded through the `bilten` CLI), the
app served by `reflex run --env prod` on a free port, and one Playwright driving Debian's Chromium.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.e2e.support import LiveApp

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = REPO_ROOT / ".venv" / "bin"
BUN = REPO_ROOT / ".tools" / "node_modules" / "@oven" / "bun-linux-x64" / "bin" / "bun"
SERVER_START_TIMEOUT = 240  # cold production build included
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
expect.set_options(timeout=10_000)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local test server
            return response.status == 200
    except OSError:
        return False


def _server_env(database_path: Path, port: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("REFLEX_", "BILTEN_"))}
    for key in ("REDIS_URL", "SECRET_KEY_FILE", "CORS_ORIGINS", "DEFAULT_LOCALE"):
        env.pop(key, None)
    env.update(
        DATABASE_URL=f"sqlite:///{database_path}",
        BILTEN_DEMO="1",
        SECRET_KEY=secrets.token_urlsafe(36),  # 48 characters
        SECRET_KEY_FILE=str(database_path.parent / "secret_key"),
        MAIL_OUTBOX_DIR=str(database_path.parent / "mail"),  # emails as .eml files without SMTP, not in the repo
        PUBLIC_URL=f"http://localhost:{port}",
        REFLEX_BUN_PATH=str(BUN),
        REFLEX_TELEMETRY_ENABLED="false",
        REFLEX_CHECK_LATEST_VERSION="false",
        NPM_CONFIG_REGISTRY="https://registry.npmjs.org",
        PYTHONUNBUFFERED="1",
        # A build directory of its own: test runs never clobber (or get clobbered by) another
        # `reflex run` in the same checkout.
        REFLEX_WEB_WORKDIR=str(database_path.parent / ".web"),
        REFLEX_STATES_WORKDIR=str(database_path.parent / ".states"),
        # Every journey comes from 127.0.0.1, so the rate limits stay off (tests/conftest.py) except
        # this per-email one, which only tests/e2e/test_rate_limits.py reaches.
        RATE_LIMIT_PASSWORD_RESET_ACCOUNT="3/hour",
    )
    return env


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    workdir = tmp_path_factory.mktemp("e2e")
    database_path = workdir / "e2e.db"
    port = _free_port()
    env = _server_env(database_path, port)

    for command in (["migrate"], ["seed-demo"]):
        subprocess.run([str(VENV_BIN / "bilten"), *command], cwd=REPO_ROOT, env=env, check=True, timeout=120)

    log_path = workdir / "server.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [str(VENV_BIN / "reflex"), "run", "--env", "prod", "--frontend-port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: bun, granian and workers die together
        )
    base_url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not (_answers(base_url + "/ping") and _answers(base_url + "/")):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the app did not start; its log:\n{log_path.read_text(errors='replace')[-5000:]}")
            time.sleep(0.5)
        yield LiveApp(base_url=base_url, database_path=database_path)
    finally:
        _stop(server)


def _stop(server: subprocess.Popen) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)
    # Workers that outlived the leader still carry its process group id.
    try:
        os.killpg(server.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is required (apt-get install -y chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Browser, live_app: LiveApp) -> Iterator[BrowserContext]:
    """A fresh browser profile per test: no cookies, no session, default language."""
    context = browser.new_context(base_url=live_app.base_url, locale="en-US", viewport={"width": 1280, "height": 900})
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()
