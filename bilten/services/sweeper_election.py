"""Which process releases expired holds: one at a time, `bilten worker` first.

Every web worker and every `bilten worker` runs the housekeeping loop (bilten/tasks.py), but the
hold release, the heavy part in a rush, runs in ONE of them (PostgreSQL): the one holding a
session-level advisory lock (the lead) on a connection of its own. A `bilten worker` also holds a
second lock, "a worker is here", for as long as it lives: web workers then never take the lead,
and a web worker that leads gives it up at its next turn, so the worker's sweeper takes over. With
no `bilten worker` running, one web worker leads; when it dies its connection closes, the lock goes
with it, and another web worker takes over at its next turn.

Why: a web worker that sweeps runs the batches in a thread of the process that answers buyers, and
the sweeper's Python competes with their requests for that process's interpreter lock; several
sweepers at once would only queue behind each other's advisory lock. Each batch still takes its
own transaction-level lock (services/hold_sweep.py), so two sweepers never release at once even
during a hand-over.

On SQLite (the embedded default: one process) every loop sweeps, as before.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

logger = logging.getLogger(__name__)

# Session-level advisory lock keys ("bilten" + 2 and + 3 in ASCII): no other lock uses them.
LEAD_LOCK_KEY = 0x62696C74656E02
WORKER_PRESENT_LOCK_KEY = 0x62696C74656E03


class SweeperElection:
    """`leads()` once per turn of a housekeeping loop: whether this process should release holds
    now. `preferred` for `bilten worker`. Not thread-safe: one per loop."""

    def __init__(self, engine: Engine, *, preferred: bool) -> None:
        self._url = engine.url
        self._postgresql = engine.dialect.name == "postgresql"
        self._preferred = preferred
        self._engine: Engine | None = None
        self._connection: Any = None
        self._leading = False
        self._present = False  # this `bilten worker` holds the "a worker is here" lock

    def leads(self) -> bool:
        if not self._postgresql:
            return True
        try:
            return self._turn()
        except Exception:  # noqa: BLE001 - the connection (and with it any lock) is gone: start over next turn
            logger.warning("sweeper election: database connection lost", exc_info=True)
            self.close()
            return False

    def close(self) -> None:
        """Gives up the lead (closing the connection frees its locks)."""
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # noqa: BLE001
                logger.debug("closing the election connection failed", exc_info=True)
        if self._engine is not None:
            self._engine.dispose()
        self._connection = self._engine = None
        self._leading = self._present = False

    def _turn(self) -> bool:
        if self._connection is None:
            # Its own connection, outside the pool of request connections: held as long as the lead.
            self._engine = self._engine or _election_engine(self._url)
            self._connection = self._engine.connect()
        if self._preferred:
            if not self._present:
                self._present = self._try_lock(WORKER_PRESENT_LOCK_KEY)
            if not self._leading:
                self._leading = self._try_lock(LEAD_LOCK_KEY)
            return self._leading
        if self._worker_present():
            if self._leading:
                self._unlock(LEAD_LOCK_KEY)
                self._leading = False
                logger.info("sweeper: a bilten worker is running; it releases the holds from now on")
            return False
        if not self._leading:
            self._leading = self._try_lock(LEAD_LOCK_KEY)
        return self._leading

    def _worker_present(self) -> bool:
        if not self._try_lock(WORKER_PRESENT_LOCK_KEY):
            return True
        self._unlock(WORKER_PRESENT_LOCK_KEY)
        return False

    def _try_lock(self, key: int) -> bool:
        return bool(self._connection.execute(_TRY_LOCK, {"key": key}).scalar_one())

    def _unlock(self, key: int) -> None:
        self._connection.execute(_UNLOCK, {"key": key})


def _election_engine(url: Any) -> Engine:
    # Autocommit: session-level locks outlive transactions, and no transaction stays open.
    return create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})


_TRY_LOCK = text("SELECT pg_try_advisory_lock(:key)")
_UNLOCK = text("SELECT pg_advisory_unlock(:key)")
