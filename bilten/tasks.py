"""Periodic housekeeping, run by every web worker (and by `bilten worker`): safe to run in parallel.

- holds that ran out release their seats, batch after batch until none is left (one sweeper at a
  time on PostgreSQL, see services/hold_sweep.py), and their provider checkouts are made unpayable;
- waiting-list offers that ran out pass their seat to the next person in line (or back on sale);
- late payments that could not keep their seats are refunded (retried until the provider answers);
- exports past EXPORT_RETENTION_HOURS are deleted, and exports whose worker died are marked failed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import datetime, timedelta

from bilten import clock
from bilten.db import session_scope
from bilten.payments import get_provider
from bilten.payments.base import ProviderUnavailable
from bilten.services import exports, hold_sweep, orders, waiting_list
from bilten.settings import get_settings

logger = logging.getLogger(__name__)


def sweep(now: datetime | None = None) -> dict[str, int]:
    now = now or clock.now()
    expired = release_expired_holds(now)
    with session_scope() as session:
        offers_expired = waiting_list.expire_offers(session, now=now)
    refunded = 0
    with session_scope() as session:
        for payment_id in orders.pending_refunds(session):
            try:
                refunded += orders.refund_unbacked_payment(session, payment_id=payment_id, now=now)
            except ProviderUnavailable:
                logger.warning("refund of payment %s deferred", payment_id, exc_info=True)
    with session_scope() as session:
        retention = timedelta(hours=get_settings().export_retention_hours)
        removed = exports.clean_up_exports(session, now=now, retention=retention)
    return {"expired": expired, "offers_expired": offers_expired, "refunded": refunded, "exports_removed": removed}


def release_expired_holds(now: datetime) -> int:
    """Release every hold expired by `now`, one short transaction per batch, and make their open
    checkouts unpayable between batches. Stops early when another sweeper is at work (it carries
    on). Returns how many holds this sweeper released."""
    released = 0
    while True:
        with session_scope() as session:
            batch = hold_sweep.release_expired_batch(session, now=now)
        if batch is None:
            return released
        released += len(batch)
        _cancel_checkouts(batch)
        if len(batch) < hold_sweep.BATCH_SIZE:
            return released


def _cancel_checkouts(holds: list[hold_sweep.ReleasedHold]) -> None:
    for hold in holds:
        for provider_id, reference in hold.open_checkouts:
            provider = get_provider(provider_id)
            if provider is None:
                continue
            try:
                provider.cancel(reference)
            except ProviderUnavailable:
                logger.warning("could not expire checkout %s of order %s", reference, hold.order_id, exc_info=True)


def sweep_until(stop: threading.Event) -> None:
    """The sweeper loop for `bilten worker` (a thread); returns once `stop` is set."""
    interval = get_settings().sweep_interval_seconds
    while not stop.is_set():
        try:
            result = sweep()
            if any(result.values()):
                logger.info("sweep: %s", result)
        except Exception:  # noqa: BLE001
            logger.exception("sweep failed")
        stop.wait(interval)


async def sweep_forever() -> None:
    """The sweeper loop for the web app's lifespan; errors are logged, never fatal."""
    interval = get_settings().sweep_interval_seconds
    while True:
        try:
            result = await asyncio.to_thread(sweep)
            if any(result.values()):
                logger.info("sweep: %s", result)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001
            logger.exception("sweep failed")
        await asyncio.sleep(interval)
