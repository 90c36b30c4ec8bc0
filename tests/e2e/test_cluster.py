"""The deployment shape: PostgreSQL, Redis and several web workers.

Reflex keeps each tab's state in Redis and live updates travel over Redis pub/sub, so a tab on one
worker sees a sale made through another. Granian spreads connections over its workers, so with three
workers and a handful of tabs and API calls, several of them land on different workers.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
import redis
from playwright.sync_api import Browser, expect

from tests.conftest import REDIS_TEST_URL
from tests.e2e.conftest import SERVER_START_TIMEOUT, VENV_BIN, _answers, _free_port, _server_env, _stop
from tests.e2e.support import REPO_ROOT, LiveApp, log_in, open_page, wait_loaded
from tests.integration.conftest import create_database, drop_database

pytestmark = pytest.mark.e2e

REDIS_DB_URL = REDIS_TEST_URL.rsplit("/", 1)[0] + "/13"
WORKERS = 3
TABS = 4
EVENT = "Riverside Jazz Night"


@pytest.fixture(scope="module")
def cluster_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    workdir = tmp_path_factory.mktemp("cluster")
    port = _free_port()
    database_url = create_database()
    redis.Redis.from_url(REDIS_DB_URL).flushdb()
    env = _server_env(workdir / "unused.db", port)
    env.update(DATABASE_URL=database_url, REDIS_URL=REDIS_DB_URL, GRANIAN_WORKERS=str(WORKERS))
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
            start_new_session=True,
        )
    base_url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not (_answers(base_url + "/ping") and _answers(base_url + "/")):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the app did not start; its log:\n{log_path.read_text(errors='replace')[-5000:]}")
            time.sleep(0.5)
        yield LiveApp(base_url=base_url, database_path=workdir / "unused.db")
    finally:
        _stop(server)
        drop_database(database_url)
        redis.Redis.from_url(REDIS_DB_URL).flushdb()


def _standing_left(page) -> int:  # noqa: ANN001
    row = page.locator(".ticket-type").filter(has=page.get_by_text("Standing", exact=True))
    return int(re.search(r"(\d+) left", row.locator(".tickets-left").inner_text()).group(1))


def test_health_reports_database_and_redis(cluster_app: LiveApp):
    body = httpx.get(cluster_app.url("/api/health"), timeout=10).json()
    assert body == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_sales_through_any_worker_reach_tabs_on_every_worker(cluster_app: LiveApp, browser: Browser):
    events = httpx.get(cluster_app.url("/api/v1/events"), timeout=10).json()
    event_id = next(e["id"] for e in events if e["title"] == EVENT)
    detail = httpx.get(cluster_app.url(f"/api/v1/events/{event_id}"), timeout=10).json()
    standing = next(t for t in detail["ticket_types"] if t["name"] == "Standing")

    contexts = [browser.new_context(base_url=cluster_app.base_url, locale="en-US") for _ in range(TABS)]
    try:
        pages = [context.new_page() for context in contexts]
        for page in pages:
            open_page(page, f"/events/{event_id}", "event")
        start = _standing_left(pages[0])
        for page in pages:
            expect(
                page.locator(".ticket-type")
                .filter(has=page.get_by_text("Standing", exact=True))
                .locator(".tickets-left")
            ).to_contain_text(f"{start} left")
        bought = 0
        for round_number in range(3):  # each POST lands on whichever worker accepts it
            response = httpx.post(
                cluster_app.url("/api/v1/orders"),
                timeout=10,
                json={
                    "items": [{"ticket_type_id": standing["id"], "quantity": 2}],
                    "email": f"cluster{round_number}@example.org",
                    "phone": "+49 30 1234567",
                },
            )
            assert response.status_code == 201, response.text
            bought += 2
            for page in pages:  # no reload: the number changes in place on every tab
                expect(
                    page.locator(".ticket-type")
                    .filter(has=page.get_by_text("Standing", exact=True))
                    .locator(".tickets-left")
                ).to_contain_text(f"{start - bought} left", timeout=10_000)
    finally:
        for context in contexts:
            context.close()


def test_a_signed_in_tab_keeps_its_state_across_reloads_and_workers(cluster_app: LiveApp, browser: Browser):
    context = browser.new_context(base_url=cluster_app.base_url, locale="en-US")
    try:
        page = context.new_page()
        log_in(page, "attendee@demo.bilten.org", "Demo-attendee-2026", next_path="/account")
        wait_loaded(page, "account")
        expect(page.get_by_text("attendee@demo.bilten.org").first).to_be_visible()
        for _ in range(3):  # every reload opens a new websocket, often on another worker
            page.reload()
            wait_loaded(page, "account")
            expect(page.get_by_text("attendee@demo.bilten.org").first).to_be_visible()
    finally:
        context.close()
