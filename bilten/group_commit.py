"""Group commit: threads that want the same kind of write at the same moment share one transaction.

The first thread to arrive for a key leads: it runs its own job at once, as a batch of one. Threads
that arrive for that key while a batch is running wait in a queue; when the batch ends, the leader
answers its batch and makes the first waiting thread the next leader, which takes every job
queued by then as its batch. No one waits for a timer: a quiet moment costs nothing, and a rush
forms batches of the size of the rush (the jobs that came in during one transaction).

Each job gets its own outcome (a result or an exception), raised or returned in its own thread.
(The pattern of PostgreSQL's own group commit, and of "flat combining" in the literature.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

Job = TypeVar("Job")

# What a batch returns for each of its jobs, in order: a value, or the exception to raise for it.
RunBatch = Callable[[list[Job]], list[Any]]


@dataclass(eq=False)
class _Ticket(Generic[Job]):
    job: Job
    run_batch: RunBatch[Job]  # its own thread's way to run a batch, used when it leads
    wake: threading.Event | None = None  # made only for a job that waits (it costs a lock or two)
    leads: bool = False
    outcome: Any = None


class GroupCommit(Generic[Job]):
    def __init__(self, max_batch: int = 64) -> None:
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._waiting: dict[Hashable, list[_Ticket[Job]]] = {}
        self._running: set[Hashable] = set()  # keys with a batch under way

    def queued(self, key: Hashable) -> int:
        """How many jobs of `key` wait for the batch under way to end (for metrics and tests)."""
        with self._lock:
            return len(self._waiting.get(key, ()))

    def submit(self, key: Hashable, job: Job, run_batch: RunBatch[Job]) -> Any:
        """Run `job` in a batch with the other jobs of `key` that arrive together; returns its
        outcome, or raises it if it is an exception. `run_batch` runs on this thread when it leads."""
        ticket = _Ticket(job, run_batch)
        with self._lock:
            if key in self._running:
                ticket.wake = threading.Event()
                self._waiting.setdefault(key, []).append(ticket)
            else:
                self._running.add(key)
                ticket.leads = True
        if ticket.wake is not None:
            ticket.wake.wait()
        if ticket.leads:
            self._lead(key, ticket)
        if isinstance(ticket.outcome, BaseException):
            raise ticket.outcome
        return ticket.outcome

    def _lead(self, key: Hashable, ticket: _Ticket[Job]) -> None:
        with self._lock:
            waiting = self._waiting.pop(key, [])
            batch, rest = [ticket, *waiting[: self.max_batch - 1]], waiting[self.max_batch - 1 :]
            if rest:
                self._waiting[key] = rest
        try:
            outcomes = ticket.run_batch([t.job for t in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError(f"a batch of {len(batch)} jobs gave {len(outcomes)} outcomes")
        except BaseException as exc:  # the batch itself failed: every job in it hears so
            outcomes = [exc] * len(batch)
        for member, outcome in zip(batch, outcomes, strict=True):
            member.outcome = outcome
        with self._lock:
            queue = self._waiting.get(key)
            if queue:
                successor = queue.pop(0)
                successor.leads = True
                assert successor.wake is not None
                successor.wake.set()
            else:
                self._waiting.pop(key, None)
                self._running.discard(key)
        for member in batch:
            if member.wake is not None and member is not ticket:
                member.wake.set()
