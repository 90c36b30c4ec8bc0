"""Live "N left" on many open event pages while sales run through `POST /api/v1/orders`.

    .venv/bin/python -m bench.bench_live_pages --pages 200 --rate 50 --seconds 20
    .venv/bin/python -m bench.bench_live_pages --pages 2000 --rate 300 --seconds 30   # issue #13's target

Starts the real backend (3 granian workers, PostgreSQL, Redis state manager), then:
1. sells at a steady rate with no page open (the baseline);
2. opens N simulated tabs of one event page. A tab is what Chromium opens: one websocket carrying
   Reflex's `/_event` namespace, whose CONNECT carries the hydrate + on_load of `/events/<id>` (so
   its state is loaded and saved like a real tab's), and the `/live` namespace following the
   event's counts (bilten/live_inventory.py);
3. sells at the same rate again, and measures for every (tab, sale) pair the time from the sale's
   answer until that tab was told a count that includes it ("N left" latency), the sales' latency
   and achieved rate, the Reflex state deltas the tabs received meanwhile (should be 0: a sale no
   longer touches a tab's state), and the workers' and Redis's memory per open page;
   Beside them, `--real-tabs` (3) headless Chromium tabs render the compiled page (bench/real_tabs.py)
   and note when the "N left" text a person reads changes: the same latency, read off the screen;
4. runs pgbench's bare hot-row transaction (one guarded UPDATE + one INSERT) on the same database,
   for the ratio to what PostgreSQL alone can do on this machine at this moment.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp
import httpx
import psutil
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common import (
    drop_database,
    free_port,
    freeze_gc,
    fresh_database,
    hot_ticket_type,
    orders_per_commit,
    percentile,
    reserved,
)
from bench.light_http import LightClient
from bench.live_tab import LightTab
from bench.real_tabs import RealTabs
from bench.server import REDIS_URL, start_backend, stop
from bilten.live import CHANNEL_PREFIX, inventory_channel
from bilten.live_inventory import INVENTORY_EVENT, NAMESPACE

REFLEX_NAMESPACE = "/_event"
HYDRATE_AND_LOAD = "reflex___state____state.hydrate_and_load"
OPEN_CONCURRENCY = 25  # tabs connecting at once while the crowd gathers
WARM_UP_TABS = 30
WITHOUT_LIVE = "BENCH_TABS_WITHOUT_LIVE"  # set by --without-live, read by the tab processes too
LOADED = re.compile(r"\"loaded(_rx_state_)?\":true")  # the event page finished its on_load


@dataclass
class Tab:
    """One simulated browser tab on the event page: like Chromium, ONE websocket carrying Reflex's
    `/_event` namespace and the `/live` namespace (bench/live_tab.py speaks the protocol)."""

    connection: LightTab | None = None
    loaded: asyncio.Event = field(default_factory=asyncio.Event)
    start_left: int | None = None
    counts: list[tuple[float, int]] = field(
        default_factory=list
    )  # (time.monotonic(), seats left): one clock for all processes
    state_deltas: int = 0

    async def open(self, http: aiohttp.ClientSession, base_url: str, event_id: str, type_id: str) -> None:
        """Like a browser, try again when a connection is refused under load (a busy machine)."""
        for attempt in range(3):
            try:
                return await self._open(http, base_url, event_id, type_id)
            except (TimeoutError, ConnectionError, aiohttp.ClientError):
                await self.close()
                if attempt == 2:
                    raise
                await asyncio.sleep(1 + attempt)

    async def _open(self, http: aiohttp.ClientSession, base_url: str, event_id: str, type_id: str) -> None:
        path = f"/events/{event_id}"
        boot = {
            "name": HYDRATE_AND_LOAD,
            "payload": {},
            "router_data": {"pathname": path, "asPath": path, "query": {"event_id": event_id}},
        }
        self.loaded = asyncio.Event()
        tab = self.connection = LightTab(http, base_url)

        def on_delta(update: object, at: float) -> None:
            self.state_deltas += 1
            if not self.loaded.is_set() and LOADED.search(json.dumps(update, separators=(",", ":"))):
                self.loaded.set()

        def on_counts(message: dict, at: float) -> None:
            left = (message.get("available") or {}).get(type_id)
            if left is not None:
                self.counts.append((at, int(left)))

        tab.on_event[(REFLEX_NAMESPACE, "event")] = on_delta
        tab.on_event[(NAMESPACE, INVENTORY_EVENT)] = on_counts
        await tab.open()
        await tab.join(REFLEX_NAMESPACE, {"event": boot})
        await asyncio.wait_for(self.loaded.wait(), 60)
        if os.environ.get(WITHOUT_LIVE):
            return
        await tab.join(NAMESPACE)
        answer = await tab.call(NAMESPACE, "watch", event_id, timeout=30)
        self.start_left = int(answer["available"][type_id])

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()


async def sell(base_url: str, type_id: str, *, rate: float, seconds: float, clients: int) -> dict:
    """`clients` keep-alive buyers together start `rate` orders per second on a fixed schedule;
    latency counts from when each was due. Also returns when each successful answer arrived."""
    latencies: list[float] = []
    answered: list[float] = []
    statuses: dict[str, int] = {}
    interval = clients / rate
    connections = [LightClient(base_url) for _ in range(clients)]  # cheap for this process: see light_http
    await asyncio.gather(*(client.get("/api/v1/events") for client in connections))
    start = time.monotonic() + 0.3

    async def buyer(n: int) -> None:
        client = connections[n]
        due = start + interval * n / clients
        while due < start + seconds:
            await asyncio.sleep(max(due - time.monotonic(), 0))
            body = {
                "items": [{"ticket_type_id": type_id, "quantity": 1}],
                "email": f"live{n}.{len(latencies)}@bench.example.org",
                "phone": "+49 30 1234567",
            }
            status, _ = await client.post_json("/api/v1/orders", body)
            now = time.monotonic()
            latencies.append((now - due) * 1000)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if status == 201:
                answered.append(now)
            due += interval

    try:
        await asyncio.gather(*(buyer(n) for n in range(clients)))
    finally:
        await asyncio.gather(*(client.aclose() for client in connections))
    return {
        "rate": statuses.get("201", 0) / seconds,
        "p50": percentile(latencies, 0.5),
        "p95": percentile(latencies, 0.95),
        "statuses": statuses,
        "answered": sorted(answered),
    }


def _port(base_url: str) -> int:
    return int(base_url.rsplit(":", 1)[1])


def _orders_per_commit_since(before: tuple[float, float], base_url: str) -> float:
    """The mean batch of the orders committed since `before` (group commit, services/orders/placing.py)."""
    after = orders_per_commit(_port(base_url))
    return (after[0] - before[0]) / max(after[1] - before[1], 1)


def update_latencies(tabs: list[Tab], answered: list[float]) -> list[float]:
    """For every tab and every sale (in the order answered): seconds from the answer until the tab
    was told a count that includes it (i sales answered -> a count <= its start - i). A count told
    before the answer arrived counts as 0; never told counts as infinite."""
    latencies = []
    for tab in tabs:
        if tab.start_left is None:  # --without-live: nothing followed
            continue
        counts = tab.counts
        position = 0
        for number, answered_at in enumerate(answered, start=1):
            target = tab.start_left - number
            while position < len(counts) and counts[position][1] > target:
                position += 1
            if position == len(counts):
                latencies.extend([float("inf")] * (len(answered) - number + 1))
                break
            latencies.append(max(counts[position][0] - answered_at, 0.0))
    return latencies


def workers_rss(process: subprocess.Popen) -> int:
    """Resident memory of the server's processes (granian's workers and its main process)."""
    root = psutil.Process(process.pid)
    return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)] if p.is_running())


def server_cpu(process: subprocess.Popen) -> float:
    """CPU seconds (user + system, all threads) of the server's processes so far."""
    root = psutil.Process(process.pid)
    total = 0.0
    for p in [root, *root.children(recursive=True)]:
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def redis_memory() -> int:
    return int(redis.Redis.from_url(REDIS_URL).info("memory")["used_memory"])


def tab_process(base_url: str, event_id: str, type_id: str, count: int, pipe: Connection) -> None:
    """A process of simulated tabs (the load generator must not share a CPU-starved event loop with
    the buyers it times): opens them, then reports what they were told between two commands."""
    freeze_gc()
    asyncio.run(_tabs(base_url, event_id, type_id, count, pipe))


async def _tabs(base_url: str, event_id: str, type_id: str, count: int, pipe: Connection) -> None:
    loop = asyncio.get_running_loop()
    tabs = [Tab() for _ in range(count)]
    gate = asyncio.Semaphore(OPEN_CONCURRENCY)
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def open_tab(tab: Tab) -> None:
        async with gate:
            await tab.open(http, base_url, event_id, type_id)

    await asyncio.gather(*(open_tab(tab) for tab in tabs))
    pipe.send("ready")
    await loop.run_in_executor(None, pipe.recv)  # "measure"
    deltas_before = sum(tab.state_deltas for tab in tabs)
    pipe.send(sum(len(tab.counts) for tab in tabs))  # frames of the counts-only phase
    for tab in tabs:
        tab.counts.clear()
    me = psutil.Process()
    cpu_before = sum(me.cpu_times()[:2])
    await loop.run_in_executor(None, pipe.recv)  # "report"
    pipe.send(
        {
            "tabs": [(tab.start_left, tab.counts) for tab in tabs],
            "state_deltas": sum(tab.state_deltas for tab in tabs) - deltas_before,
            "cpu": sum(me.cpu_times()[:2]) - cpu_before,
        }
    )
    await asyncio.gather(*(tab.close() for tab in tabs), return_exceptions=True)
    await http.close()


def with_pages(base_url: str, event_id: str, type_id: str, args: argparse.Namespace, process) -> dict:  # noqa: ANN001
    # Warm-up tabs first: each worker's first pages pay for imports, caches and pools, not per page.
    async def warm_up() -> None:
        warm = [Tab() for _ in range(WARM_UP_TABS)]
        gate = asyncio.Semaphore(OPEN_CONCURRENCY)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

            async def open_tab(tab: Tab) -> None:
                async with gate:
                    await tab.open(http, base_url, event_id, type_id)

            await asyncio.gather(*(open_tab(tab) for tab in warm))
            await asyncio.gather(*(tab.close() for tab in warm))

    asyncio.run(warm_up())
    time.sleep(1)
    rss_before, redis_before = workers_rss(process), redis_memory()
    context = multiprocessing.get_context("spawn")
    shares = [len(part) for part in _split(args.pages, args.tab_processes)]
    pipes, children = [], []
    opened_at = time.monotonic()
    for share in shares:
        ours, theirs = context.Pipe()
        child = context.Process(target=tab_process, args=(base_url, event_id, type_id, share, theirs), daemon=True)
        child.start()
        pipes.append(ours)
        children.append(child)
    for pipe in pipes:
        assert pipe.recv() == "ready"
    open_seconds = time.monotonic() - opened_at
    time.sleep(3)  # the page loads' writes settle
    rss_after, redis_after = workers_rss(process), redis_memory()
    idle_before, idle_started = server_cpu(process), time.monotonic()
    time.sleep(args.idle_seconds)  # the open pages alone: heartbeats, Reflex's own upkeep
    idle_cpu_per_second = (server_cpu(process) - idle_before) / (time.monotonic() - idle_started)
    counts_cpu, counts_seconds = counts_only(process, event_id, type_id, seconds=args.counts_seconds)
    counts_frames = 0
    real_tabs = RealTabs(base_url, event_id, args.real_tabs) if args.real_tabs else None
    if real_tabs is not None:  # opened last: they must see the crowd's load, not an idle server
        real_tabs.__enter__()
        real_tabs.start_watching()
        # The true count (a page may still show the counts-only phase's made-up numbers).
        real_start = seats_left(base_url, event_id, type_id)
    for pipe in pipes:
        pipe.send("measure")
        counts_frames += pipe.recv()
    profiler = None
    if os.environ.get("BENCH_PY_SPY"):  # a profile of the server during the sales with pages
        profiler = subprocess.Popen(
            [
                os.environ["BENCH_PY_SPY"],
                "record",
                "--subprocesses",
                "--nonblocking",
                "--format",
                "raw",
                "-d",
                str(int(args.seconds)),
                "-o",
                os.environ.get("BENCH_PY_SPY_OUT", "/tmp/live-profile.txt"),
                "-p",
                str(process.pid),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    cpu_before, sales_started = server_cpu(process), time.monotonic()
    commits_before = orders_per_commit(_port(base_url))
    sales = asyncio.run(sell(base_url, type_id, rate=args.rate, seconds=args.seconds, clients=args.clients))
    sales["orders_per_commit"] = _orders_per_commit_since(commits_before, base_url)
    time.sleep(2)  # the last sale's count reaches every tab
    cpu_seconds = server_cpu(process) - cpu_before
    real_latencies: list[float] = []
    if real_tabs is not None:
        seen = [Tab(start_left=real_start, counts=changes) for changes in real_tabs.changes()]
        real_latencies = update_latencies(seen, sales["answered"])
        real_tabs.__exit__(None, None, None)
    sales_window = time.monotonic() - sales_started
    if profiler is not None:
        profiler.wait(timeout=60)
    reports = []
    for pipe in pipes:
        pipe.send("report")
        reports.append(pipe.recv())
    for child in children:
        child.join(timeout=60)
    tabs = []
    for report in reports:
        for start_left, counts in report["tabs"]:
            tab = Tab()
            tab.start_left, tab.counts = start_left, counts
            tabs.append(tab)
    return {
        "sales": sales,
        "latencies": update_latencies(tabs, sales["answered"]),
        "real_latencies": real_latencies,
        "open_seconds": open_seconds,
        "rss_per_page": (rss_after - rss_before) / args.pages,
        "redis_per_page": (redis_after - redis_before) / args.pages,
        "state_deltas_during_sales": sum(report["state_deltas"] for report in reports),
        "messages": sum(len(tab.counts) for tab in tabs),
        "cpu_seconds": cpu_seconds,
        "idle_cpu_seconds": idle_cpu_per_second * sales_window,  # what the open pages cost anyway
        "idle_cpu_per_second": idle_cpu_per_second,
        "counts_frames": counts_frames,
        "counts_cpu_per_frame": (counts_cpu - idle_cpu_per_second * counts_seconds) / max(counts_frames, 1),
        "tabs_cpu_seconds": sum(report["cpu"] for report in reports),
    }


def seats_left(base_url: str, event_id: str, type_id: str) -> int:
    detail = httpx.get(f"{base_url}/api/v1/events/{event_id}", timeout=30).json()
    return next(t["available"] for t in detail["ticket_types"] if t["id"] == type_id)


def counts_only(process: subprocess.Popen, event_id: str, type_id: str, *, seconds: float) -> tuple[float, float]:
    """Counts published straight into Redis, 8 a second, as the sales would, with no sale made: the
    server's CPU seconds spent (minus nothing) and the window's length. The values are made up; the
    first sale of the measured run publishes the true count."""
    client = redis.Redis.from_url(REDIS_URL)
    channel = CHANNEL_PREFIX + inventory_channel(event_id)
    cpu_before, started = server_cpu(process), time.monotonic()
    for n in range(int(seconds * 8)):
        client.publish(channel, json.dumps({"event_id": event_id, "available": {type_id: 900_000_000 - n}}))
        time.sleep(0.125)
    time.sleep(1)  # the last count reaches every tab
    return server_cpu(process) - cpu_before, time.monotonic() - started


def _split(total: int, parts: int) -> list[range]:
    size = -(-total // parts)
    return [range(start, min(start + size, total)) for start in range(0, total, size)]


PGBENCH_SCRIPT = """\
BEGIN;
UPDATE ticket_type SET reserved = reserved + 1 WHERE id = '{type_id}' AND reserved + 1 <= quantity;
INSERT INTO bench_hot_row (ticket_type_id, quantity) VALUES ('{type_id}', 1);
END;
"""


def pgbench_hot_row(url: str, type_id: str, *, clients: int, seconds: int) -> float:
    """Transactions per second of the bare hot-row transaction (pgbench, same database)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(
            text(
                "CREATE TABLE IF NOT EXISTS bench_hot_row (id bigserial PRIMARY KEY, ticket_type_id uuid, quantity int)"
            )
        )
    engine.dispose()
    parsed = make_url(url)
    with tempfile.TemporaryDirectory() as directory:
        script = Path(directory) / "hot_row.sql"
        script.write_text(PGBENCH_SCRIPT.format(type_id=type_id))
        output = subprocess.run(
            [
                "pgbench",
                "-n",
                "-c",
                str(clients),
                "-j",
                "2",
                "-T",
                str(seconds),
                "-f",
                str(script),
                "-h",
                parsed.host or "127.0.0.1",
                "-p",
                str(parsed.port or 5432),
                "-U",
                parsed.username or "postgres",
                parsed.database,
            ],
            env={**os.environ, "PGPASSWORD": parsed.password or ""},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return float(re.search(r"tps = ([\d.]+)", output).group(1))


def event_of(url: str, type_id: str) -> str:
    engine = create_engine(url)
    with engine.connect() as connection:
        event_id = connection.execute(
            text("SELECT event_id FROM ticket_type WHERE id = :id"), {"id": type_id}
        ).scalar_one()
    engine.dispose()
    return str(event_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200, help="simulated open event pages")
    parser.add_argument("--rate", type=float, default=50, help="orders per second")
    parser.add_argument("--seconds", type=float, default=20, help="length of each selling run")
    parser.add_argument("--clients", type=int, default=20, help="buyers' keep-alive connections")
    parser.add_argument("--workers", type=int, default=3, help="granian workers")
    parser.add_argument("--tab-processes", type=int, default=2, help="processes holding the simulated tabs")
    parser.add_argument(
        "--without-live",
        action="store_true",
        help="tabs do not join /live (to see what following the counts costs)",
    )
    parser.add_argument("--idle-seconds", type=float, default=5, help="server CPU measured with pages open, no sales")
    parser.add_argument("--counts-seconds", type=float, default=5, help="counts only (no sale) to the open pages")
    parser.add_argument("--pgbench-clients", type=int, default=50)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument(
        "--real-tabs",
        type=int,
        default=3,
        help="real Chromium tabs beside the simulated ones, reading the page's 'N left' (0: none, and no frontend build)",
    )
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    if args.without_live:
        os.environ[WITHOUT_LIVE] = "1"
    redis.Redis.from_url(REDIS_URL).flushdb()
    url = fresh_database()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = None
    try:
        type_id = str(hot_ticket_type(url, quantity=10_000_000))
        event_id = event_of(url, type_id)
        process = start_backend(url, port, args.workers, with_frontend=args.real_tabs > 0)
        asyncio.run(sell(base_url, type_id, rate=20, seconds=2, clients=5))  # warm-up
        freeze_gc()
        cpu_before, commits_before = server_cpu(process), orders_per_commit(port)
        baseline = asyncio.run(sell(base_url, type_id, rate=args.rate, seconds=args.seconds, clients=args.clients))
        baseline["orders_per_commit"] = _orders_per_commit_since(commits_before, base_url)
        time.sleep(2)  # as after the sales with pages
        baseline["cpu_seconds"] = server_cpu(process) - cpu_before
        loaded = with_pages(base_url, event_id, type_id, args, process)
        stop(process)
        process = None
        counter, in_lines, capacity = reserved(url, type_id)
        pgbench_tps = pgbench_hot_row(url, type_id, clients=args.pgbench_clients, seconds=args.pgbench_seconds)
    finally:
        if process:
            stop(process)
        drop_database(url)
        redis.Redis.from_url(REDIS_URL).flushdb()
    oversold = max(counter - capacity, 0) + abs(counter - in_lines)
    latencies = loaded["latencies"]
    finite = [value * 1000 for value in latencies if value != float("inf")]
    within = sum(1 for value in latencies if value <= 1.0) / len(latencies) * 100 if latencies else float("nan")
    sales = loaded["sales"]
    print(
        f"live pages: {args.pages} open event pages, {args.workers} granian workers + Redis, {os.cpu_count()} cores, "
        f"sales at {args.rate:.0f}/s for {args.seconds:.0f} s through POST /api/v1/orders"
    )
    print(f"  pages opened in {loaded['open_seconds']:.1f} s (hydrate + on_load, then /live watch)")
    print(
        f'  "N left" update: p50 {percentile(finite, 0.5):.0f} ms  p95 {percentile(finite, 0.95):.0f} ms  '
        f"p99 {percentile(finite, 0.99):.0f} ms  within 1 s {within:.1f} %  "
        f"({len(latencies)} tab x sale pairs, {len(latencies) - len(finite)} never shown, "
        f"{loaded['messages']} /live messages)"
    )
    if args.real_tabs:
        seen = [value * 1000 for value in loaded["real_latencies"] if value != float("inf")]
        shown = sum(1 for value in loaded["real_latencies"] if value <= 1.0)
        print(
            f'  "N left" read in {args.real_tabs} real Chromium tabs (the page\'s text): p50 {percentile(seen, 0.5):.0f} ms  '
            f"p95 {percentile(seen, 0.95):.0f} ms  max {max(seen, default=float('nan')):.0f} ms  "
            f"within 1 s {shown / max(len(loaded['real_latencies']), 1) * 100:.1f} %  "
            f"({len(loaded['real_latencies']) - len(seen)} of {len(loaded['real_latencies'])} never shown)"
        )
    print(f"  Reflex state deltas sent to the tabs during the sales: {loaded['state_deltas_during_sales']}")
    sold_without = max(sum(1 for _ in baseline["answered"]), 1)
    sold_with = max(len(sales["answered"]), 1)
    extra = loaded["cpu_seconds"] - baseline["cpu_seconds"] * sold_with / sold_without - loaded["idle_cpu_seconds"]
    print(
        f"  server CPU: {baseline['cpu_seconds'] / sold_without * 1000:.1f} ms per sale without pages, "
        f"{loaded['cpu_seconds'] / sold_with * 1000:.1f} ms per sale with pages; the open pages alone "
        f"{loaded['idle_cpu_per_second'] * 100:.0f} % of a core ({loaded['idle_cpu_per_second'] / args.pages * 1e6:.0f} us/s "
        f"per page); beyond both {extra:.1f} s = {extra / max(loaded['messages'], 1) * 1e6:.0f} us per /live frame "
        f"delivered (the simulated tabs used {loaded['tabs_cpu_seconds']:.1f} CPU s); "
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    print(
        f"  counts only (8/s into Redis, no sale): {loaded['counts_frames']} frames, "
        f"server CPU {loaded['counts_cpu_per_frame'] * 1e6:.0f} us per frame (beyond the idle pages)"
    )
    print(
        f"  sales without pages: p50 {baseline['p50']:.1f} ms  p95 {baseline['p95']:.1f} ms  "
        f"{baseline['rate']:.1f}/s  {baseline['statuses']}  {baseline['orders_per_commit']:.2f} orders per commit"
    )
    print(
        f"  sales with pages:    p50 {sales['p50']:.1f} ms  p95 {sales['p95']:.1f} ms  "
        f"{sales['rate']:.1f}/s  {sales['statuses']}  {sales['orders_per_commit']:.2f} orders per commit  "
        f"oversold {oversold}"
    )
    print(
        f"  memory per open page: workers {loaded['rss_per_page'] / 1024:.0f} KB  "
        f"Redis {loaded['redis_per_page'] / 1024:.0f} KB"
    )
    print(
        f"  pgbench hot-row transaction (guarded UPDATE + INSERT, {args.pgbench_clients} clients, same run): "
        f"{pgbench_tps:.0f}/s"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
