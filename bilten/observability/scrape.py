"""What `GET /api/metrics` answers: every process's metric files added up, plus the gauges read from
the database and Redis at scrape time (never kept in memory).

Apart from `bilten.observability.metrics` (which the database layer and the services import), so
that reading the database here makes no import cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client import multiprocess as _multiprocess
from prometheus_client.core import GaugeMetricFamily

from bilten.observability.metrics import MULTIPROC_DIR, _pid_alive
from bilten.settings import get_settings

logger = logging.getLogger(__name__)

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

        # A literal status, not a parameter: even a prepared (generic) plan can then walk the partial
        # index of pending holds (ticket_order has no plain status or expiry index since 0014).
        pending = text(f"ticket_order.status = '{OrderStatus.PENDING.value}'")
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
            "Jobs waiting: notifications due (database), exports (Redis queue)",
            labels=["queue"],
        )
        url = get_settings().redis_url
        if url:
            import redis

            client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
            try:
                family.add_metric([EXPORT_QUEUE], int(client.llen(f"{REDIS_NAMESPACE}:{EXPORT_QUEUE}")))  # type: ignore[arg-type]
            finally:
                client.close()
        family.add_metric([NOTIFICATION_QUEUE], _notifications_due(now))  # emails never go through Redis
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
