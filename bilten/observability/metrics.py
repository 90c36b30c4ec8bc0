"""Prometheus metrics for every process of one host, scraped at `GET /api/metrics`.

prometheus_client runs in multiprocess mode: each process (every granian worker, `bilten worker`,
the tests' subprocesses) writes its counters into memory-mapped files of its own under
PROMETHEUS_MULTIPROC_DIR, and a scrape adds them up. The directory is prepared by the first
process of a tree (the server's supervisor, `bilten worker`, pytest): it creates it and removes the
files of processes that are gone; the processes it starts (forked or spawned granian workers)
inherit that and leave the files alone, and a running `bilten worker` keeps its own when the
server restarts. prometheus_client reads the directory when it is first imported, so this module
sets it up before importing it: import metrics from here, never prometheus_client directly.

Business counters move where the business fact is committed, one line per call site:

    metrics.count_order("sold_out")                       # a refusal: nothing to commit
    metrics.after_commit(session, metrics.count_paid, 3)  # inside a transaction: only if it commits

Gauges that describe the database or Redis (holds, outbox, queues, sweeper lag) are read when
scraped (`bilten.observability.scrape`), never kept in memory; per-process gauges (live connections, pooled
connections in use) are summed over the processes that are alive.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bilten.settings import get_settings

logger = logging.getLogger(__name__)

# The process that prepared the metrics directory (children inherit it and skip the preparation).
_OWNER_ENV = "BILTEN_METRICS_DIR_OWNER"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def prune_dead_processes(directory: Path) -> int:
    """Remove the metric files of processes that no longer run (prometheus_client names them
    `<kind>_<pid>.db`). Returns how many were removed."""
    removed = 0
    for path in directory.glob("*.db"):
        pid_text = path.stem.rpartition("_")[2]
        if pid_text.isdigit() and not _pid_alive(int(pid_text)):
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
    return removed


def _prepare_directory() -> Path:
    directory = Path(get_settings().prometheus_multiproc_dir).resolve()
    if os.environ.get(_OWNER_ENV) is None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            prune_dead_processes(directory)
        except OSError:
            # A read-only install: a private directory still counts this process and its children.
            directory = Path(tempfile.mkdtemp(prefix="bilten-metrics-"))
            logger.warning("PROMETHEUS_MULTIPROC_DIR is not writable: metrics go to %s", directory)
        os.environ[_OWNER_ENV] = str(os.getpid())
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    return directory


MULTIPROC_DIR = _prepare_directory()

# Only now: prometheus_client picks its value class (files or memory) at import.
from prometheus_client import Counter, Gauge, Histogram  # noqa: E402
from prometheus_client.exposition import CONTENT_TYPE_LATEST  # noqa: E402

CONTENT_TYPE = CONTENT_TYPE_LATEST

ORDER_OUTCOMES = ("placed", "sold_out", "paid", "expired", "cancelled", "refunded")
CHECKIN_RESULTS = ("valid", "already_used", "invalid", "wrong_event", "cancelled")  # models.CheckInResult
# API latency buckets: the API answers in milliseconds; the tail up to the 10 s pool timeout.
DURATION_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "bilten_http_requests_total", "API requests answered, by route template and status", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "bilten_http_request_duration_seconds",
    "Time to answer an API request, by route template",
    ["method", "route"],
    buckets=DURATION_BUCKETS,
)
ORDERS = Counter(
    "bilten_orders_total", "Orders by what happened to them (committed), and sold-out refusals", ["outcome"]
)
TICKETS_SOLD = Counter("bilten_tickets_sold_total", "Tickets issued to paid orders (one per seat)")
CHECKINS = Counter("bilten_checkins_total", "Scans decided at the door, by verdict", ["result"])
NOTIFICATIONS_FAILED = Counter("bilten_notifications_failed_total", "Notifications given up on (out of attempts)")
ORDERS_PER_COMMIT = Histogram(
    "bilten_orders_per_commit",
    "Orders placed together in one transaction (group commit of orders that arrive at once)",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
LIVE_CONNECTIONS = Gauge(
    "bilten_live_connections", "Open tabs following live data (the /live socket)", multiprocess_mode="livesum"
)
DB_POOL_IN_USE = Gauge(
    "bilten_db_pool_in_use", "Database connections checked out of the pools", multiprocess_mode="livesum"
)

for _outcome in ORDER_OUTCOMES:  # every outcome and verdict shows from the first scrape, at 0
    ORDERS.labels(_outcome)
for _result in CHECKIN_RESULTS:
    CHECKINS.labels(_result)


# ---------------------------------------------------------------------------------------------
# Business events (one line at each call site)


def count_order(outcome: str, n: int = 1) -> None:
    if n:
        ORDERS.labels(outcome).inc(n)


def observe_orders_per_commit(n: int) -> None:
    ORDERS_PER_COMMIT.observe(n)


def count_paid(tickets: int) -> None:
    """One order paid with `tickets` seats: the tickets-sold counter moves by the seats."""
    ORDERS.labels("paid").inc()
    if tickets:
        TICKETS_SOLD.inc(tickets)


def count_checkin(result: str) -> None:
    CHECKINS.labels(str(result)).inc()


def count_notification_failed(n: int = 1) -> None:
    if n:
        NOTIFICATIONS_FAILED.inc(n)


_PENDING_KEY = "bilten_metrics_after_commit"


def after_commit(session: Any, function: Callable[..., None], *args: Any) -> None:
    """Call `function(*args)` once the session's current transaction commits; forget it when the
    transaction rolls back (a sold-out race, a lock timeout, a domain error)."""
    session.info.setdefault(_PENDING_KEY, []).append((function, args))


def _run_pending(session: Any) -> None:
    pending = session.info.pop(_PENDING_KEY, None)
    for function, args in pending or ():
        try:
            function(*args)
        except Exception:  # noqa: BLE001 - a metric never breaks a sale
            logger.warning("metric update failed", exc_info=True)


def _drop_pending(session: Any, previous_transaction: Any) -> None:
    if previous_transaction.nested:  # a savepoint: the outer transaction may still commit
        return
    session.info.pop(_PENDING_KEY, None)


def _listen_for_commits() -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    event.listen(Session, "after_commit", _run_pending)
    event.listen(Session, "after_soft_rollback", _drop_pending)


_listen_for_commits()


def watch_pool(engine: Any) -> None:
    """Count this engine's checked-out connections in `bilten_db_pool_in_use`."""
    from sqlalchemy import event

    event.listen(engine, "checkout", lambda *_: DB_POOL_IN_USE.inc())
    event.listen(engine, "checkin", lambda *_: DB_POOL_IN_USE.dec())


def live_connection_opened() -> None:
    LIVE_CONNECTIONS.inc()


def live_connection_closed() -> None:
    LIVE_CONNECTIONS.dec()


# ---------------------------------------------------------------------------------------------
# HTTP (bilten/observability/middleware.py)

_http_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    key = (method, route, status)
    children = _http_children.get(key)
    if children is None:
        children = (HTTP_REQUESTS.labels(method, route, str(status)), HTTP_DURATION.labels(method, route))
        _http_children[key] = children
    children[0].inc()
    children[1].observe(seconds)
