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
scraped (`StateCollector`), never kept in memory; per-process gauges (live connections, pooled
connections in use) are summed over the processes that are alive.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
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
        directory.mkdir(parents=True, exist_ok=True)
        prune_dead_processes(directory)
        os.environ[_OWNER_ENV] = str(os.getpid())
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    return directory


MULTIPROC_DIR = _prepare_directory()

# Only now: prometheus_client picks its value class (files or memory) at import.
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest  # noqa: E402
from prometheus_client import multiprocess as _multiprocess  # noqa: E402
from prometheus_client.core import GaugeMetricFamily  # noqa: E402
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


# ---------------------------------------------------------------------------------------------
# What a scrape reads from the database and Redis

QUERY_TIMEOUT_MS = 2000


class StateCollector:
    """Gauges read at scrape time: a handful of indexed counts, each capped at QUERY_TIMEOUT_MS."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from bilten import clock

        now = clock.now()
        try:
            yield from self._from_database(now)
        except Exception:  # noqa: BLE001 - a scrape shows what it could read
            logger.warning("metrics: the database could not be read", exc_info=True)
        try:
            yield from self._job_queues(now)
        except Exception:  # noqa: BLE001
            logger.warning("metrics: the job queues could not be read", exc_info=True)

    def _from_database(self, now: Any) -> Iterator[GaugeMetricFamily]:
        from sqlalchemy import func, select, text
        from sqlmodel import Session, col

        from bilten.db import get_engine
        from bilten.models import Order, OrderStatus, OutboxEvent

        pending = col(Order.status) == OrderStatus.PENDING
        with Session(get_engine()) as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text(f"SET LOCAL statement_timeout = {QUERY_TIMEOUT_MS}"))
            holds = session.execute(
                select(func.count()).select_from(Order).where(pending, col(Order.hold_expires_at) > now)
            ).scalar_one()
            oldest_expired = session.execute(
                select(func.min(Order.hold_expires_at)).where(pending, col(Order.hold_expires_at) <= now)
            ).scalar_one()
            outbox = session.execute(
                select(func.count()).select_from(OutboxEvent).where(col(OutboxEvent.dispatched_at).is_(None))
            ).scalar_one()
            session.rollback()
        yield GaugeMetricFamily("bilten_holds_active", "Pending orders whose seats are held", value=holds)
        lag = 0.0
        if oldest_expired is not None:
            if oldest_expired.tzinfo is None:
                from datetime import UTC

                oldest_expired = oldest_expired.replace(tzinfo=UTC)
            lag = max(0.0, (now - oldest_expired).total_seconds())
        yield GaugeMetricFamily(
            "bilten_sweeper_lag_seconds", "How long the oldest expired hold has waited for the sweeper", value=lag
        )
        yield GaugeMetricFamily(
            "bilten_outbox_pending", "Domain events not yet turned into notifications", value=outbox
        )

    def _job_queues(self, now: Any) -> Iterator[GaugeMetricFamily]:
        from bilten.jobs import EXPORT_QUEUE, NOTIFICATION_QUEUE, REDIS_NAMESPACE

        family = GaugeMetricFamily(
            "bilten_job_queue_depth",
            "Jobs waiting: the Redis queues, or notifications due without Redis",
            labels=["queue"],
        )
        url = get_settings().redis_url
        if url:
            import redis

            client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
            try:
                for queue in (NOTIFICATION_QUEUE, EXPORT_QUEUE):
                    family.add_metric([queue], int(client.llen(f"{REDIS_NAMESPACE}:{queue}")))  # type: ignore[arg-type]
            finally:
                client.close()
        else:
            family.add_metric([NOTIFICATION_QUEUE], _notifications_due(now))
        yield family


def _notifications_due(now: Any) -> int:
    from sqlalchemy import func, select
    from sqlmodel import Session

    from bilten.db import get_engine
    from bilten.models import Notification
    from bilten.notifications.config import get_delivery_config
    from bilten.notifications.delivery import due_condition

    with Session(get_engine()) as session:
        return int(
            session.execute(
                select(func.count()).select_from(Notification).where(due_condition(now, get_delivery_config()))
            ).scalar_one()
        )


def forget_dead_processes() -> None:
    """Drop the live gauges of processes that died (a granian worker respawned): their open
    connections are gone with them."""
    for path in MULTIPROC_DIR.glob("gauge_live*_*.db"):
        pid_text = path.stem.rpartition("_")[2]
        if pid_text.isdigit() and not _pid_alive(int(pid_text)):
            _multiprocess.mark_process_dead(int(pid_text), str(MULTIPROC_DIR))


def exposition(*, include_state: bool = True) -> bytes:
    """The text exposition of every process's metrics (and, by default, the scrape-time gauges)."""
    forget_dead_processes()
    registry = CollectorRegistry()
    _multiprocess.MultiProcessCollector(registry, path=str(MULTIPROC_DIR))
    if include_state:
        registry.register(StateCollector())
    return generate_latest(registry)
