"""CPU per delivered "N left" frame, load-independent: socket.io's room emit vs `bilten.live_fanout`.

    .venv/bin/python -m bench.bench_live_fanout --tabs 2000 --counts 40

Starts ONE granian worker serving only python-socketio with the `/live` namespace (as Reflex serves
it, without Reflex or a database: the counts are made up), opens N light tabs (bench/live_tab.py,
in other processes) that watch one event, then has the worker send K counts to all of them, once
through `AsyncServer.emit(room=...)` (what the relay did before) and once through `Fanout.send`.
Reported per mode: the worker's CPU seconds (all its threads, psutil) per frame the tabs received,
and how long the loop was busy per count (the time an HTTP request of the same worker could wait).
Also: the worker's memory per open tab (RSS before and after the tabs opened).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import subprocess
import sys
import time
from multiprocessing.connection import Connection

import aiohttp
import psutil

from bench.common import ROOT, free_port, freeze_gc
from bench.live_tab import LightTab

EVENT_ID = "00000000-0000-4000-8000-000000000001"
TYPE_ID = "t"


# -- the server (imported by granian in its worker) ---------------------------------------------------


def make_app():  # noqa: ANN201
    import socketio

    from bilten import live_fanout
    from bilten.live_inventory import INVENTORY_EVENT, InventoryNamespace, room_name

    server = socketio.AsyncServer(
        async_mode="asgi",
        transports=["websocket"],
        ping_interval=float(os.environ.get("BENCH_PING_INTERVAL", "25")),
        ping_timeout=120,
    )
    namespace = InventoryNamespace(read_counts=lambda event_id: {TYPE_ID: 10_000_000})
    server.register_namespace(namespace)
    live_fanout.install(server)
    sio_app = socketio.ASGIApp(server, socketio_path="/_event")
    if os.environ.get("BENCH_BARE") != "1":  # as under Reflex: Starlette's middlewares wrap `send`
        from starlette.applications import Starlette
        from starlette.routing import Mount

        sio_app = Starlette(routes=[Mount("/", sio_app)])

    async def blast(mode: str, counts: int) -> str:
        """Send `counts` counts to every watching tab, back to back; answer the loop's busy time."""
        busy = 0.0
        sids = list(namespace._watchers.get(EVENT_ID, ()))
        sockets = [server.eio.sockets[server.manager.eio_sid_from_sid(sid, "/live")] for sid in sids]
        senders = [socket._bilten_websocket().asgi_send for socket in sockets]
        for n in range(counts):
            data = {"event_id": EVENT_ID, "available": {TYPE_ID: 9_000_000 - n}}
            started = time.perf_counter()
            if mode == "emit":
                await namespace.emit(INVENTORY_EVENT, data, room=room_name(EVENT_ID))
            elif mode == "sendonly":  # the ASGI sends alone, for what the server's send costs
                message = {"type": "websocket.send", "bytes": None, "text": f'42/live,["inventory",{n}]'}
                for send_ in senders:
                    send_(message)
            else:
                await namespace._fanout_to().send(sids, INVENTORY_EVENT, data)
            busy += time.perf_counter() - started
            await asyncio.sleep(0.05)
        return f"{len(sids)} {busy / counts * 1000:.2f}"

    async def app(scope, receive, send):  # noqa: ANN001, ANN202
        if scope["type"] == "http" and scope["path"] == "/blast":
            query = dict(part.split("=") for part in scope["query_string"].decode().split("&"))
            body = (await blast(query["mode"], int(query["counts"]))).encode()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})
            return
        await sio_app(scope, receive, send)

    return app


# -- the driver ---------------------------------------------------------------------------------------


def tab_process(base_url: str, count: int, pipe: Connection) -> None:
    freeze_gc()
    asyncio.run(_tabs(base_url, count, pipe))


async def _tabs(base_url: str, count: int, pipe: Connection) -> None:
    loop = asyncio.get_running_loop()
    received = [0]
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    gate = asyncio.Semaphore(50)
    tabs: list[LightTab] = []

    async def open_tab() -> None:
        async with gate:
            tab = LightTab(http, base_url)
            tab.on_event[("/live", "inventory")] = lambda message, at: received.__setitem__(0, received[0] + 1)
            await tab.open()
            await tab.join("/live")
            await tab.call("/live", "watch", EVENT_ID, timeout=60)
            tabs.append(tab)

    await asyncio.gather(*(open_tab() for _ in range(count)))
    pipe.send("ready")
    while True:
        command = await loop.run_in_executor(None, pipe.recv)
        if command == "count":
            pipe.send(received[0])
        else:
            break
    await asyncio.gather(*(tab.close() for tab in tabs), return_exceptions=True)
    await http.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabs", type=int, default=2000)
    parser.add_argument("--counts", type=int, default=40)
    parser.add_argument("--tab-processes", type=int, default=2)
    parser.add_argument("--modes", default="emit,fanout")
    args = parser.parse_args()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SECRET_KEY": os.environ.get("SECRET_KEY", "x" * 64)}
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/granian"),
            "--interface",
            "asgi",
            "--factory",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            "bench.bench_live_fanout:make_app",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        import httpx

        deadline = time.time() + 60
        while True:
            try:
                httpx.get(base_url + "/blast?mode=fanout&counts=1", timeout=5)
                break
            except httpx.HTTPError:
                if time.time() > deadline:
                    raise
                time.sleep(0.3)
        worker = psutil.Process(server.pid).children()[0]
        rss_before = worker.memory_info().rss
        context = multiprocessing.get_context("spawn")
        pipes, children = [], []
        share = -(-args.tabs // args.tab_processes)
        for n in range(args.tab_processes):
            ours, theirs = context.Pipe()
            child = context.Process(
                target=tab_process, args=(base_url, min(share, args.tabs - n * share), theirs), daemon=True
            )
            child.start()
            pipes.append(ours)
            children.append(child)
        for pipe in pipes:
            assert pipe.recv() == "ready"
        time.sleep(2)
        rss_after = worker.memory_info().rss

        def received() -> int:
            total = 0
            for pipe in pipes:
                pipe.send("count")
                total += pipe.recv()
            return total

        print(
            f"live fan-out: {args.tabs} tabs on one granian worker, {args.counts} counts each, "
            f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
        )
        per_tab = (rss_after - rss_before) / args.tabs / 1024
        print(f"  worker memory per open tab (bare engine.io websocket + /live watch): {per_tab:.0f} KB")
        for mode in args.modes.split(","):
            before_frames = received()
            cpu = worker.cpu_times()
            cpu_before = cpu.user + cpu.system
            answer = httpx.get(base_url + f"/blast?mode={mode}&counts={args.counts}", timeout=600).text
            watching, busy_ms = answer.split()
            expected = before_frames + int(watching) * args.counts
            deadline = time.time() + 60
            while (got := received()) < expected and time.time() < deadline:
                time.sleep(0.2)
            cpu = worker.cpu_times()
            frames = got - before_frames
            cpu_us = (cpu.user + cpu.system - cpu_before) / max(frames, 1) * 1e6
            print(
                f"  {mode:7s}: {frames} frames to {watching} tabs, worker CPU {cpu_us:.1f} us per frame, "
                f"loop busy {busy_ms} ms per count"
            )
        for pipe in pipes:
            pipe.send("stop")
        for child in children:
            child.join(timeout=30)
    finally:
        server.terminate()
        server.wait(timeout=20)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
