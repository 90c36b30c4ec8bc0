"""The deployment shape: PostgreSQL, Redis and several web workers.

Reflex keeps each tab's state in Redis and live updates travel over Redis pub/sub, so a tab on one
worker sees a sale made through another. Granian spreads connections over its workers, so with three
workers and a handful of tabs and API calls, several of them land on different workers.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis
from playwright.sync_api import Browser, expect
from sqlalchemy import create_engine, text

from tests.conftest import REDIS_TEST_URL
from tests.e2e.conftest import SERVER_START_TIMEOUT, VENV_BIN, _answers, _free_port, _server_env, _stop
from tests.e2e.support import REPO_ROOT, LiveApp, log_in, open_page, ticket_row, wait_loaded
from tests.integration.conftest import create_database, drop_database

pytestmark = pytest.mark.e2e

REDIS_DB_URL = REDIS_TEST_URL.rsplit("/", 1)[0] + "/13"
WORKERS = 3
TABS = 4
EVENT = "Riverside Jazz Night"
_cluster_database: dict[str, str] = {}  # the running cluster's PostgreSQL URL


@pytest.fixture(scope="module")
def cluster_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    workdir = tmp_path_factory.mktemp("cluster")
    port = _free_port()
    database_url = create_database()
    _cluster_database["url"] = database_url
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


def _run_beside_playwright(make_coroutine):  # noqa: ANN001, ANN202
    """Playwright's event loop runs in this thread: an asyncio client gets a thread of its own."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make_coroutine())).result(timeout=120)


def _draft_event_id() -> str:
    engine = create_engine(_cluster_database["url"])
    try:
        with engine.connect() as connection:
            return str(
                connection.execute(
                    text("SELECT id FROM event WHERE lower(status::text) = 'draft' LIMIT 1")
                ).scalar_one()
            )
    finally:
        engine.dispose()


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


def _tab_token(page) -> str:  # noqa: ANN001
    """The Reflex session token of a tab: the prefix of every Redis key of its state."""
    return page.evaluate("window.sessionStorage.getItem('token')")


class RedisCommandLog:
    """Every command the cluster's Redis receives while the block runs (`redis-cli monitor`)."""

    def __init__(self, path) -> None:  # noqa: ANN001
        self.path = path

    def __enter__(self) -> RedisCommandLog:
        self._file = open(self.path, "wb")  # noqa: SIM115 - closed in __exit__
        self._process = subprocess.Popen(["redis-cli", "-u", REDIS_DB_URL, "monitor"], stdout=self._file)
        time.sleep(0.3)  # MONITOR is on before anything is measured
        return self

    def __exit__(self, *exc_info: object) -> None:
        time.sleep(0.3)
        self._process.terminate()
        self._process.wait(timeout=10)
        self._file.close()

    def mentioning(self, *needles: str) -> list[str]:
        lines = self.path.read_text(errors="replace").splitlines()
        return [line for line in lines if any(needle in line for needle in needles)]


def test_a_sale_reaches_two_tabs_within_a_second_without_touching_their_state(
    cluster_app: LiveApp, browser: Browser, tmp_path
):
    """The live "N left" comes over the /live namespace, on the tab's one websocket: the sale makes no
    Reflex state round trip for the tabs (no command on their state keys in Redis), and both tabs
    show it within 1 s."""
    events = httpx.get(cluster_app.url("/api/v1/events"), timeout=10).json()
    event_id = next(e["id"] for e in events if e["title"] == EVENT)
    detail = httpx.get(cluster_app.url(f"/api/v1/events/{event_id}"), timeout=10).json()
    standing = next(t for t in detail["ticket_types"] if t["name"] == "Standing")
    contexts = [browser.new_context(base_url=cluster_app.base_url, locale="en-US") for _ in range(2)]
    try:
        pages = [context.new_page() for context in contexts]
        websockets: list[list[str]] = [[], []]
        for page, opened in zip(pages, websockets, strict=True):
            page.on("websocket", lambda socket, opened=opened: opened.append(socket.url))
            open_page(page, f"/events/{event_id}", "event")
        tokens = [_tab_token(page) for page in pages]
        assert all(tokens) and tokens[0] != tokens[1]
        start = _standing_left(pages[0])
        for page in pages:  # both follow the event (their first push or the load agree)
            expect(
                page.locator(".ticket-type")
                .filter(has=page.get_by_text("Standing", exact=True))
                .locator(".tickets-left")
            ).to_have_text(f"{start} left")
        time.sleep(1)  # let the page loads' own state writes finish before watching Redis

        with RedisCommandLog(tmp_path / "sale.log") as sale_log:
            response = httpx.post(
                cluster_app.url("/api/v1/orders"),
                timeout=10,
                json={
                    "items": [{"ticket_type_id": standing["id"], "quantity": 3}],
                    "email": "live-pages@example.org",
                    "phone": "+49 30 1234567",
                },
            )
            assert response.status_code == 201, response.text
            sold_at = time.monotonic()
            for page in pages:
                expect(
                    page.locator(".ticket-type")
                    .filter(has=page.get_by_text("Standing", exact=True))
                    .locator(".tickets-left")
                ).to_have_text(f"{start - 3} left", timeout=2_000)
                assert time.monotonic() - sold_at < 1.0, "a tab saw the sale later than 1 s after it"
        # Reflex's state and the live counts share one websocket per tab (each costs the server ~200 KB).
        assert [len(opened) for opened in websockets] == [1, 1], websockets
        assert sale_log.mentioning("PUBLISH"), "the sale was published (the log works)"
        assert sale_log.mentioning(*tokens) == [], "a sale must not load or save the watching tabs' state"

        # The same log does see a tab's state when the tab itself acts (so the check above can fail).
        with RedisCommandLog(tmp_path / "click.log") as click_log:
            ticket_row(pages[0], "Standing").locator(".qty-plus").click()
            expect(ticket_row(pages[0], "Standing").locator(".qty-value")).to_have_text("1")
        assert click_log.mentioning(tokens[0])
    finally:
        for context in contexts:
            context.close()


def test_the_live_namespace_refuses_what_is_not_a_public_event(cluster_app: LiveApp):
    """An attacker's socket: nonsense ids, unknown and draft events, and too many events at once."""
    import socketio  # noqa: PLC0415 - python-socketio's client (with aiohttp), only this test needs it

    events = httpx.get(cluster_app.url("/api/v1/events"), timeout=10).json()
    public_ids = [e["id"] for e in events]

    async def probe() -> list:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(
            cluster_app.base_url, namespaces=["/live"], socketio_path="/_event", transports=["websocket"]
        )
        try:
            answers = [
                await client.call("watch", "../../etc/passwd", namespace="/live", timeout=10),
                await client.call("watch", {"event_id": public_ids[0]}, namespace="/live", timeout=10),
                await client.call("watch", "00000000-0000-0000-0000-000000000000", namespace="/live", timeout=10),
                await client.call("watch", _draft_event_id(), namespace="/live", timeout=10),
                await client.call("watch", public_ids[0], namespace="/live", timeout=10),
            ]
            for event_id in [str(uuid.uuid4()) for _ in range(5)]:  # unknown ones take no room
                answers.append(await client.call("watch", event_id, namespace="/live", timeout=10))
            return answers
        finally:
            await client.disconnect()

    answers = _run_beside_playwright(probe)
    assert answers[0] == {"error": "invalid_event"}
    assert answers[1] == {"error": "invalid_event"}
    assert answers[2] == {"error": "not_found"}
    assert answers[3] == {"error": "not_found"}  # a draft is not public, even with its real id
    assert answers[4]["event_id"] == public_ids[0] and answers[4]["available"]
    assert all(isinstance(left, int) for left in answers[4]["available"].values())
    assert [a["error"] for a in answers[5:]] == ["not_found"] * 5


def test_one_connection_follows_a_limited_number_of_events(cluster_app: LiveApp):
    import socketio  # noqa: PLC0415

    events = httpx.get(cluster_app.url("/api/v1/events"), timeout=10).json()
    public_ids = [e["id"] for e in events]
    limit = 4  # LIVE_EVENTS_PER_CONNECTION's default
    assert len(public_ids) > limit, "the demo data should hold more public events than the limit"

    async def probe() -> list:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(
            cluster_app.base_url, namespaces=["/live"], socketio_path="/_event", transports=["websocket"]
        )
        try:
            answers = [await client.call("watch", event_id, namespace="/live", timeout=10) for event_id in public_ids]
            await client.emit("unwatch", public_ids[0], namespace="/live")
            answers.append(await client.call("watch", public_ids[limit], namespace="/live", timeout=10))
            return answers
        finally:
            await client.disconnect()

    answers = _run_beside_playwright(probe)
    assert all("available" in answer for answer in answers[:limit])
    assert all(answer == {"error": "too_many_events"} for answer in answers[limit : len(public_ids)])
    assert answers[-1]["event_id"] == public_ids[limit]  # leaving one frees its place


def test_the_plus_button_stops_where_the_live_count_ends(cluster_app: LiveApp, browser: Browser):
    """A buyer who chose 2 of a type sees "+" turn off once others leave only 2 seats: no reload."""
    events = httpx.get(cluster_app.url("/api/v1/events"), timeout=10).json()
    event_id = next(e["id"] for e in events if e["title"] == "Bosphorus Tech Summit")
    detail = httpx.get(cluster_app.url(f"/api/v1/events/{event_id}"), timeout=10).json()
    students = next(t for t in detail["ticket_types"] if t["name"] == "Student pass")
    context = browser.new_context(base_url=cluster_app.base_url, locale="en-US")
    try:
        page = context.new_page()
        open_page(page, f"/events/{event_id}", "event")
        row = ticket_row(page, "Student pass")
        left = int(re.search(r"(\d+) left", row.locator(".tickets-left").inner_text()).group(1))
        assert left > 12
        for _ in range(2):
            row.locator(".qty-plus").click()
        expect(row.locator(".qty-value")).to_have_text("2")
        expect(row.locator(".qty-plus")).to_be_enabled()

        to_sell = left - 2
        for number in range(0, to_sell, 10):  # others buy all but 2, ten per order at most
            response = httpx.post(
                cluster_app.url("/api/v1/orders"),
                timeout=10,
                json={
                    "items": [{"ticket_type_id": students["id"], "quantity": min(10, to_sell - number)}],
                    "email": f"student{number}@example.org",
                    "phone": "+49 30 1234567",
                },
            )
            assert response.status_code == 201, response.text

        expect(row.locator(".tickets-left")).to_have_text("2 left")
        expect(row.locator(".qty-plus")).to_be_disabled()  # a third would not fit any more
        expect(row.locator(".qty-value")).to_have_text("2")  # the two chosen still fit
    finally:
        context.close()


def test_a_tab_that_lost_its_connection_catches_up_on_the_count(cluster_app: LiveApp, browser: Browser):
    """The live counts ride on Reflex's websocket: when the tab lets go of it (pagehide, as when a
    phone switches apps) and comes back, Reflex reopens the connection and the tab follows the event
    again, showing what sold meanwhile."""
    events = httpx.get(cluster_app.url("/api/v1/events"), timeout=10).json()
    event_id = next(e["id"] for e in events if e["title"] == EVENT)
    detail = httpx.get(cluster_app.url(f"/api/v1/events/{event_id}"), timeout=10).json()
    standing = next(t for t in detail["ticket_types"] if t["name"] == "Standing")
    context = browser.new_context(base_url=cluster_app.base_url, locale="en-US")
    try:
        page = context.new_page()
        opened: list[str] = []
        page.on("websocket", lambda socket: opened.append(socket.url))
        open_page(page, f"/events/{event_id}", "event")
        start = _standing_left(page)
        page.evaluate("window.dispatchEvent(new PageTransitionEvent('pagehide', {persisted: true}))")
        response = httpx.post(
            cluster_app.url("/api/v1/orders"),
            timeout=10,
            json={
                "items": [{"ticket_type_id": standing["id"], "quantity": 2}],
                "email": "offline-watcher@example.org",
                "phone": "+49 30 1234567",
            },
        )
        assert response.status_code == 201, response.text
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        left = (
            page.locator(".ticket-type").filter(has=page.get_by_text("Standing", exact=True)).locator(".tickets-left")
        )
        expect(left).to_have_text(f"{start - 2} left", timeout=20_000)
        assert len(opened) == 2, opened  # the first connection died; the count came over its successor
    finally:
        context.close()
