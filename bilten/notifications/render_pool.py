"""Render emails in other processes while the worker sends (NOTIFY_RENDER_PROCESSES).

Drawing a ticket email's QR codes and PDF is Python CPU work, and one process uses one core. With a
pool the worker claims a batch, hands every notification of it to the pool at once and sends each
finished email as soon as it is its turn, over its one SMTP connection: rendering runs on the other
cores meanwhile. A pool process reads what it renders from the database itself (its own engine),
exactly as the worker would, so both give the same bytes. Claims, leases and the "sent" record stay
with the worker: a pool process only turns a notification into an email.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from bilten.models import Notification
from bilten.notifications.delivery import Claim, InProcessPreparer, Preparer
from bilten.notifications.rendering import PreparedEmail, RenderFailure, prepare_email

logger = logging.getLogger(__name__)

POOLED_TOPICS = frozenset({"order.paid", "order.tickets_resent", "ticket.transferred"})  # the ticket emails


class RenderPool:
    """A pool of `processes` rendering processes (spawned, not forked: the worker runs threads)."""

    def __init__(self, processes: int, *, database_url: str) -> None:
        self.processes = processes
        self.database_url = database_url
        self._executor: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the processes now and let them load the app, so the first batch does not wait."""
        executor = self._ensure_executor()
        for future in [executor.submit(_warm_up) for _ in range(self.processes)]:
            future.result()

    def prepare(
        self, session: Session, claims: list[Claim], *, mail_from: str, public_url: str, now: datetime
    ) -> Iterator[PreparedEmail | RenderFailure]:
        executor = self._ensure_executor()
        # Only emails with QR codes and a PDF are worth the trip: a plain email renders here in less
        # time than handing it over and back takes.
        futures: dict[int, Future] = {
            index: executor.submit(_prepare, _snapshot(claim.notification), mail_from, public_url, now)
            for index, claim in enumerate(claims)
            if claim.notification.topic in POOLED_TOPICS
        }
        try:
            for index, claim in enumerate(claims):
                if index in futures:
                    yield self._outcome(futures[index])
                else:
                    outcome = prepare_email(
                        session, claim.notification, mail_from=mail_from, public_url=public_url, now=now
                    )
                    session.rollback()
                    yield outcome
        finally:
            for future in futures.values():  # the batch was abandoned half-way: render no more of it
                future.cancel()

    def _outcome(self, future: Future) -> PreparedEmail | RenderFailure:
        try:
            return future.result()
        except BrokenProcessPool as exc:  # a render process died (killed, out of memory): start afresh
            logger.error("a render process died: %s", exc)
            self._executor = None
            return RenderFailure(error=f"the render process died: {exc}", permanent=False)
        except Exception as exc:  # could not be handed over or back (pickling, ...): retried like any fault
            logger.exception("the render pool failed on a notification")
            return RenderFailure(error=f"{type(exc).__name__}: {exc}", permanent=False)

    def _ensure_executor(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_process,
                initargs=(self.database_url,),
            )
        return self._executor

    def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


def make_preparer(processes: int, *, engine: Engine) -> Preparer:
    """The render pool when `processes` > 0, else rendering in this process."""
    if processes <= 0:
        return InProcessPreparer()
    pool = RenderPool(processes, database_url=engine.url.render_as_string(hide_password=False))
    pool.start()
    return pool


def _snapshot(notification: Notification) -> dict[str, Any]:
    return notification.model_dump()


# ---------------------------------------------------------------------------------------------
# In the render processes

_engine: Engine | None = None
_connection: Connection | None = None


def _start_process(database_url: str) -> None:
    global _engine
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the worker, which stops the pool
    from bilten.db import make_engine

    _engine = make_engine(database_url, pool_size=1, max_overflow=1)


def _warm_up() -> None:
    from bilten.notifications.attachments import _fonts

    _fonts()


def _prepare(data: dict[str, Any], mail_from: str, public_url: str, now: datetime) -> PreparedEmail | RenderFailure:
    global _connection
    assert _engine is not None
    if _connection is None or _connection.invalidated or _connection.closed:
        # Kept open between emails: no pool checkout (and its liveness ping) per email.
        _connection = _engine.connect()
    try:
        with Session(bind=_connection) as session:
            return prepare_email(session, Notification(**data), mail_from=mail_from, public_url=public_url, now=now)
    finally:
        try:
            _connection.rollback()  # read only: end the snapshot, keep the connection
        except Exception:  # the database went away: connect afresh next time
            _connection = None
