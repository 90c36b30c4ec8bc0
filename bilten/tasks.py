"""Periodic housekeeping, run by every web worker (and by `bilten worker`): safe to run in parallel.

- holds that ran out release their seats, batch after batch until none is left, and their provider
  checkouts are made unpayable. On PostgreSQL in ONE process (services/sweeper_election.py): the
  `bilten worker` when one runs, else one web worker; and one batch at a time (services/hold_sweep.py).
  The sweeper paces itself: it works at most SWEEP_DUTY_CYCLE of the time, so a rush of expiries
  leaves the sales most of the machine (batch of 200 in 20 ms, then 20 ms of rest at 0.5);
- waiting-list offers that ran out pass their seat to the next person in line (or back on sale);
- late payments that could not keep their seats are refunded (retried until the provider answers);
- exports past EXPORT_RETENTION_HOURS are deleted, and exports whose worker died are marked failed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from bilten import clock, db
from bilten.db import session_scope
from bilten.payments import get_provider
from bilten.payments.base import ProviderUnavailable
from bilten.services import exports, hold_sweep, orders, waiting_list
from bilten.services.sweeper_election import SweeperElection
from bilten.settings import get_settings

logger = logging.getLogger(__name__)


def sweep(now: datetime | None = None, *, release_holds: bool = True) -> dict[str, int]:
    """One turn of housekeeping; `release_holds=False` in a process that does not lead the sweep."""
    now = now or clock.now()
    expired = release_expired_holds(now) if release_holds else 0
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


def release_expired_holds(
    now: datetime, *, duty_cycle: float | None = None, sleep: Callable[[float], None] = time.sleep
) -> int:
    """Release every hold expired by `now`, one short transaction per batch, and make their open
    checkouts unpayable between batches. Stops early when another sweeper is at work (it carries
    on). Returns how many holds this sweeper released.

    Paced: after a batch that took t seconds the sweeper rests t * (1 - d) / d, d the duty cycle
    (SWEEP_DUTY_CYCLE), so it keeps at most that share of a core (its own and PostgreSQL's work
    for it) and of the hot ticket-type rows, however long the rush. But never so long that it
    falls below SWEEP_MIN_RATE holds a second: on a saturated machine every batch takes longer
    (waiting for a core, not working), and resting in proportion would leave seats held for
    minutes; the floor keeps 100,000 holds within a minute whenever the machine can do it at all."""
    settings = get_settings()
    duty = settings.sweep_duty_cycle if duty_cycle is None else duty_cycle
    limit, min_rate = settings.sweep_batch_size, settings.sweep_min_rate
    released = 0
    while True:
        started = time.perf_counter()
        with session_scope() as session:
            batch = hold_sweep.release_expired_batch(session, now=now, limit=limit)
        if batch is None:
            return released
        released += len(batch)
        _cancel_checkouts(batch)
        if len(batch) < limit:
            return released
        took = time.perf_counter() - started
        rest = took * (1 - duty) / duty
        if min_rate:
            rest = min(rest, len(batch) / min_rate - took)
        if rest > 0:
            sleep(rest)


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
    """The sweeper loop for `bilten worker` (a thread); returns once `stop` is set. While it runs,
    holds are released here and no longer in the web workers."""
    interval = get_settings().sweep_interval_seconds
    election = SweeperElection(db.get_engine(), preferred=True)
    try:
        while not stop.is_set():
            _turn(election)
            stop.wait(interval)
    finally:
        election.close()


async def sweep_forever() -> None:
    """The sweeper loop for the web app's lifespan; errors are logged, never fatal. Holds are
    released by one web worker only, and by none while a `bilten worker` runs."""
    interval = get_settings().sweep_interval_seconds
    election = SweeperElection(db.get_engine(), preferred=False)
    try:
        while True:
            await asyncio.to_thread(_turn, election)
            await asyncio.sleep(interval)
    finally:
        election.close()


def _turn(election: SweeperElection) -> None:
    try:
        result = sweep(release_holds=election.leads())
        if any(result.values()):
            logger.info("sweep: %s", result)
    except Exception:  # noqa: BLE001
        logger.exception("sweep failed")
