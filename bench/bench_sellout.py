"""A 1,000-seat sell-out through `POST /api/v1/orders`, then the rush of refusals that follows it.

    .venv/bin/python -m bench.bench_sellout [--clients 50 200] [--workers 3] [--seats 1000]
        [--refusal-seconds 10] [--pgbench-seconds 10] [--src DIR]

For each number of clients, on a fresh PostgreSQL database, with the real backend (`reflex run --env
prod --backend-only`, granian workers, Redis state manager and rate limits on, see bench/common.py):
1. sell-out: wrk keeps N keep-alive clients buying one seat each of a 1,000-seat ticket type until
   each of its threads sees the first "sold out"; sold/s is the seats sold over the time from wrk's
   start to the last sale it was told of; p50/p95 over every answer of that run;
2. refusals: the same N clients keep asking for `--refusal-seconds`: refusals/s, p50/p95/p99;
3. the oversell check (the counter equals the seats in live orders and never exceeds the quantity);
4. group commit: the transactions orders were placed in and the orders per transaction (the
   server's `bilten_orders_per_commit`, from /api/metrics);
5. CPU per sale during the sell-out: the backend's processes (reflex, granian and its workers) and
   the PostgreSQL backends connected to this database (not its shared writer processes), from psutil;
6. pgbench's bare hot-row transaction (guarded UPDATE + INSERT, as bench_live_pages) on the same
   database right after, at min(N, 80) clients (PostgreSQL allows 100 connections here): the ratio
   sold/s to it is the issue's target (>= 0.5x).
`--src DIR` serves another source tree (e.g. `git archive` of the code before a change) with the same
load, to compare before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common import (
    ROOT,
    cpu_seconds,
    drop_database,
    free_port,
    freeze_gc,
    fresh_database,
    hot_ticket_type,
    orders_per_commit,
    postgres_backends,
    reserved,
)
from bench.common import settle_database as settle
from bench.server import REDIS_URL, stop

# wrk script: one seat of the ticket type per request; with BENCH_STOP_AT_SOLD_OUT each thread stops at
# its first 409. Records (monotonic clock) when each thread started and when it was told its last sale.
WRK_SCRIPT = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local function now()
  local t = ffi.new("bench_timespec")
  ffi.C.clock_gettime(1, t)
  return tonumber(t.tv_sec) + tonumber(t.tv_nsec) / 1e9
end
local ticket_type = os.getenv("BENCH_TICKET_TYPE")
local stop_at_sold_out = os.getenv("BENCH_STOP_AT_SOLD_OUT") == "1"
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  started = now()
  last_sale = 0
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"items":[{"ticket_type_id":"%s","quantity":1}],"email":"w%d.%d@bench.example.org","phone":"+49 30 1234567"}',
    ticket_type, id, counter)
  return wrk.format("POST", "/api/v1/orders", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 201 then
    last_sale = now()
  elseif status == 409 and stop_at_sold_out then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local totals = {}
  local first_start, final_sale = math.huge, 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      totals[status] = (totals[status] or 0) + count
    end
    first_start = math.min(first_start, thread:get("started"))
    final_sale = math.max(final_sale, thread:get("last_sale"))
  end
  local parts = {}
  for status, count in pairs(totals) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  io.write(string.format(
    'BENCH {"seconds": %.3f, "selling_seconds": %.4f, "p50": %.2f, "p95": %.2f, "p99": %.2f, ' ..
    '"statuses": {%s}, "errors": %d}\n',
    summary.duration / 1e6, math.max(final_sale - first_start, 0), latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, table.concat(parts, ", "),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""

PGBENCH_SCRIPT = """\
BEGIN;
UPDATE ticket_type SET reserved = reserved + 1 WHERE id = '{type_id}' AND reserved + 1 <= quantity;
INSERT INTO bench_hot_row (ticket_type_id, quantity) VALUES ('{type_id}', 1);
END;
"""


def start_backend(src: Path, url: str, port: int, workers: int) -> subprocess.Popen:
    """As bench/server.py, but serving `src` (PYTHONPATH too: the virtualenv's editable install may
    point at another checkout)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(src),
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "GRANIAN_WORKERS": str(workers),
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "SWEEP_INTERVAL_SECONDS": "3600",
    }
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/reflex"), "run", "--env", "prod", "--backend-only", "--backend-port", str(port)]
        + ["--loglevel", "warning"],
        cwd=src,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.5)
    stop(process)
    raise RuntimeError("backend did not start")


def run_wrk(port: int, clients: int, seconds: float, type_id: str, *, until_sold_out: str | None = None) -> dict:
    """wrk for `seconds`; with `until_sold_out` (the database URL) its threads stop at their first
    409 and wrk is told to finish (SIGINT) once the counter is full, instead of sleeping out `-d`."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT)
        script.flush()
        wrk = subprocess.Popen(
            ["wrk", "-t", str(min(2, clients)), "-c", str(clients), "-d", f"{int(seconds)}s", "--timeout", "10s"]
            + ["-s", script.name, f"http://127.0.0.1:{port}"],
            env={**os.environ, "BENCH_TICKET_TYPE": type_id, "BENCH_STOP_AT_SOLD_OUT": "1" if until_sold_out else ""},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        if until_sold_out:
            _finish_when_sold_out(wrk, until_sold_out, type_id)
        output, errors = wrk.communicate()
    if wrk.returncode != 0:
        raise RuntimeError(f"wrk failed: {errors}")
    line = next(line for line in output.splitlines() if line.startswith("BENCH "))
    return json.loads(line.removeprefix("BENCH "))


def _finish_when_sold_out(wrk: subprocess.Popen, url: str, type_id: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            while wrk.poll() is None:
                left = connection.execute(
                    text("SELECT quantity - reserved FROM ticket_type WHERE id = :id"), {"id": type_id}
                ).scalar_one()
                if left <= 0:
                    time.sleep(0.5)  # every thread meets its first "sold out" meanwhile
                    wrk.send_signal(signal.SIGINT)
                    return
                time.sleep(0.05)
    finally:
        engine.dispose()


def _start_py_spy(backend: subprocess.Popen, clients: int) -> subprocess.Popen | None:
    """With BENCH_PY_SPY=path/to/py-spy: a profile of the backend's processes during the sell-out
    (BENCH_PY_SPY_OUT, default /tmp/sellout-profile-N.txt, collapsed stacks of the threads holding the GIL)."""
    if not os.environ.get("BENCH_PY_SPY"):
        return None
    out = os.environ.get("BENCH_PY_SPY_OUT", "/tmp/sellout-profile-{clients}.txt").format(clients=clients)
    return subprocess.Popen(
        [os.environ["BENCH_PY_SPY"], "record", "--pid", str(backend.pid), "--subprocesses", "--format", "raw"]
        + ["--rate", "200", "--gil", "--output", out, "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def cpu_snapshot(backend: subprocess.Popen, database: str) -> tuple[dict[int, float], dict[int, float]]:
    """CPU seconds so far of the backend's processes and of PostgreSQL's backends for `database`."""
    root = psutil.Process(backend.pid)
    app = [root, *root.children(recursive=True)]
    return cpu_seconds(app), cpu_seconds(postgres_backends(database))


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def pgbench_hot_row(url: str, type_id: str, *, clients: int, seconds: int) -> float:
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
            ["pgbench", "-n", "-c", str(clients), "-j", "2", "-T", str(seconds), "-f", str(script)]
            + ["-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432), "-U", parsed.username or "postgres"]
            + [parsed.database],
            env={**os.environ, "PGPASSWORD": parsed.password or ""},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return float(re.search(r"tps = ([\d.]+)", output).group(1))


def one_run(args: argparse.Namespace, clients: int) -> dict:
    redis.Redis.from_url(REDIS_URL).flushdb()
    url = fresh_database()
    database = make_url(url).database
    port = free_port()
    process = None
    try:
        sellout_type = str(hot_ticket_type(url, quantity=args.seats))
        spare_type = str(hot_ticket_type(url, quantity=10_000_000))  # warm-up and pgbench
        settle(url)
        process = start_backend(args.src, url, port, args.workers)
        run_wrk(port, min(clients, 10), 2, spare_type)  # warm-up: imports, pools, caches
        freeze_gc()
        commits0 = orders_per_commit(port)
        app0, pg0 = cpu_snapshot(process, database)
        spy = _start_py_spy(process, clients)
        sellout = run_wrk(port, clients, args.sellout_timeout, sellout_type, until_sold_out=url)
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        app1, pg1 = cpu_snapshot(process, database)
        commits1 = orders_per_commit(port)
        refusals = run_wrk(port, clients, args.refusal_seconds, sellout_type)
        app2, pg2 = cpu_snapshot(process, database)
        stop(process)  # no request still in flight while counting
        process = None
        counter, in_lines, capacity = reserved(url, sellout_type)
        pgbench = pgbench_hot_row(url, spare_type, clients=min(clients, 80), seconds=args.pgbench_seconds)
    finally:
        if process:
            stop(process)
        drop_database(url)
    sold = counter  # seats taken, from the database: wrk stops listening at its first "sold out"
    return {
        "clients": clients,
        "sold": sold,
        "sold_per_second": sold / sellout["selling_seconds"] if sellout["selling_seconds"] else 0.0,
        "sellout": sellout,
        "refusals": refusals,
        "refusals_per_second": refusals["statuses"].get("409", 0) / refusals["seconds"],
        "oversold": max(counter - capacity, 0) + abs(counter - in_lines),
        "app_ms_per_sale": cpu_used(app0, app1) * 1000 / max(sold, 1),
        "pg_ms_per_sale": cpu_used(pg0, pg1) * 1000 / max(sold, 1),
        "app_ms_per_refusal": cpu_used(app1, app2) * 1000 / max(refusals["statuses"].get("409", 0), 1),
        "pg_ms_per_refusal": cpu_used(pg1, pg2) * 1000 / max(refusals["statuses"].get("409", 0), 1),
        "pgbench": pgbench,
        "commits": commits1[1] - commits0[1],
        "orders_per_commit": (commits1[0] - commits0[0]) / max(commits1[1] - commits0[1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--workers", type=int, default=3, help="granian workers (3 does most on 2 cores)")
    parser.add_argument("--seats", type=int, default=1000)
    parser.add_argument("--refusal-seconds", type=float, default=10)
    parser.add_argument("--sellout-timeout", type=float, default=120, help="wrk's -d for the sell-out run")
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--src", type=Path, default=ROOT, help="the source tree to serve (default: this one)")
    args = parser.parse_args()
    args.src = args.src.resolve()
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    print(
        f"{args.seats}-seat sell-out through POST /api/v1/orders, PostgreSQL + Redis, {os.cpu_count()} cores, "
        f"{args.workers} granian workers, wrk keep-alive; source {args.src}; load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    for clients in args.clients:
        result = one_run(args, clients)
        sellout, refusals = result["sellout"], result["refusals"]
        print(
            f"{clients:>4} clients  sell-out: {result['sold']} sold in {sellout['selling_seconds']:.2f} s = "
            f"{result['sold_per_second']:.0f} sold/s  p50 {sellout['p50']:.1f} ms  p95 {sellout['p95']:.1f} ms  "
            f"answers {sellout['statuses']}  socket errors {sellout['errors']}"
        )
        print(
            f"{clients:>4} clients  refusals: {result['refusals_per_second']:.0f}/s  p50 {refusals['p50']:.1f} ms  "
            f"p95 {refusals['p95']:.1f} ms  p99 {refusals['p99']:.1f} ms  answers {refusals['statuses']}  "
            f"socket errors {refusals['errors']}"
        )
        print(
            f"{clients:>4} clients  oversold {result['oversold']}  CPU per sale: app {result['app_ms_per_sale']:.2f} ms, "
            f"PostgreSQL {result['pg_ms_per_sale']:.2f} ms  CPU per refusal: app "
            f"{result['app_ms_per_refusal']:.3f} ms, PostgreSQL {result['pg_ms_per_refusal']:.3f} ms  "
            f"group commit: {result['commits']:.0f} transactions, {result['orders_per_commit']:.1f} orders each"
        )
        print(
            f"{clients:>4} clients  pgbench hot row ({min(clients, 80)} clients, same database, right after): "
            f"{result['pgbench']:.0f}/s  -> sell-out at {result['sold_per_second'] / result['pgbench']:.2f}x"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
