"""This process's memory of ticket types that cannot fill a request: sold-out answers without the database.

After a sell-out nine requests in ten ask for seats that are gone. Each used to cost a transaction on
the hot row (an UPDATE the CHECK constraint refuses, a rollback, a recount), so refusing was slower
than selling. The gate remembers, per process, how many seats a ticket type had left when the
database last refused an order for it, and refuses at once a request that cannot fit.

It never judges a sale: it only refuses, and only from knowledge at most `TRUST_SECONDS` old. When
its knowledge is older, ONE request of this process reads the counts again (a probe: a plain SELECT,
no lock, not the hot row's UPDATE) while the others are still refused; if seats are back the request
goes on to the database, which judges it as any other. So a seat given back by an expiry, a
cancellation or a refund is for sale again within `TRUST_SECONDS` plus one read, and no request is
ever refused on a guess: what the gate remembers came from the database, in a plain read.

Nothing here knows HTTP: `bilten/api/sold_out_gate.py` asks it before the API stack runs, and the
orders endpoint teaches it (`learn_after_refusal`) when the database answers "sold out".
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from bilten.db import session_scope
from bilten.models import Event, TicketType

# How long "N left" is believed without asking the database again. Well inside the promise that a
# returned seat is for sale again within 250 ms, and long enough that a rush of refusals costs one
# probe per process every tenth of a second.
TRUST_SECONDS = 0.1
# A probe that has not answered by then (a client gone, a stuck request) lets the next one through.
PROBE_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class TypeCount:
    """A ticket type as the database showed it right after refusing an order for it."""

    ticket_type_id: uuid.UUID
    event_id: uuid.UUID
    name: str
    left: int
    min_per_order: int
    max_per_order: int
    # The type's name in the event's other languages, and the event's main language: a refusal
    # names it in the buyer's language, as the service's own SoldOut does.
    name_texts: tuple[tuple[str, str], ...] = ()
    main_language: str = ""


@dataclass(frozen=True)
class Refusal:
    """A request that cannot fit: the same facts the service's SoldOut carries."""

    name: str
    available: int
    name_texts: tuple[tuple[str, str], ...] = ()
    main_language: str = ""


@dataclass(frozen=True)
class Probe:
    """Read the counts again (`recount`), `learn` them, then `probe_finished` and `check` anew."""

    ticket_type_ids: tuple[uuid.UUID, ...]
    started_at: float


@dataclass
class _Known:
    count: TypeCount
    learned_at: float
    probe_started_at: float | None = None


class SeatGate:
    def __init__(self, clock: Callable[[], float] = time.monotonic, trust_seconds: float = TRUST_SECONDS) -> None:
        self.clock = clock  # monotonic seconds; tests move it by hand
        self._trust = trust_seconds
        self._lock = threading.Lock()
        self._known: dict[uuid.UUID, _Known] = {}

    def is_empty(self) -> bool:
        """Nothing is known to be short: every request goes its usual way, unread."""
        return not self._known

    def check(
        self, wanted: dict[uuid.UUID, int], *, event_id: uuid.UUID | None = None, as_of: float | None = None
    ) -> Refusal | Probe | None:
        """A Refusal when the request cannot fit; a Probe when that was so but is no longer sure;
        None to let the request go its usual way (including every case where the database would
        answer something other than "sold out": unknown types, mixed events, quantities out of range).
        `as_of`: decide as at that moment (a probe's, right after its recount), not now."""
        now = self.clock() if as_of is None else as_of
        with self._lock:
            known = [self._known.get(type_id) for type_id in sorted(wanted)]
            if not known or any(entry is None for entry in known):
                return None
            entries = [entry for entry in known if entry is not None]
            events = {entry.count.event_id for entry in entries}
            if len(events) != 1 or (event_id is not None and event_id not in events):
                return None
            for entry in entries:
                quantity = wanted[entry.count.ticket_type_id]
                if not entry.count.min_per_order <= quantity <= entry.count.max_per_order:
                    return None
            # The service names the first type (by id) without enough seats: so does the gate.
            short = next((e for e in entries if e.count.left < wanted[e.count.ticket_type_id]), None)
            if short is None:
                return None
            if now - short.learned_at <= self._trust:
                return _refusal(short.count)
            if short.probe_started_at is not None and now - short.probe_started_at <= PROBE_TIMEOUT_SECONDS:
                # One request of this process is asking the database right now: its answer is due.
                return _refusal(short.count)
            short.probe_started_at = now
            return Probe(ticket_type_ids=(short.count.ticket_type_id,), started_at=now)

    def learn(self, counts: Iterable[TypeCount], *, counted_at: float) -> None:
        """Remember the counts the database gave after refusing an order (`counted_at`: the gate's
        clock read before the count, so the knowledge is never thought younger than it is)."""
        with self._lock:
            for count in counts:
                current = self._known.get(count.ticket_type_id)
                if current is None or current.learned_at <= counted_at:
                    self._known[count.ticket_type_id] = _Known(count=count, learned_at=counted_at)

    def probe_finished(self, probe: Probe) -> None:
        """The probe is over: a type it did not learn anew (gone, or the read failed) is forgotten, and
        requests for it go to the database again."""
        with self._lock:
            for type_id in probe.ticket_type_ids:
                entry = self._known.get(type_id)
                if entry is not None and entry.learned_at < probe.started_at:
                    del self._known[type_id]

    def forget_event(self, event_id: uuid.UUID) -> None:
        """Seats of this event came back, or its types changed (a cancellation through the API, an
        organizer's edit): ask the database again from now on."""
        with self._lock:
            for type_id in [t for t, entry in self._known.items() if entry.count.event_id == event_id]:
                del self._known[type_id]

    def clear(self) -> None:
        with self._lock:
            self._known.clear()

    def now(self) -> float:
        return self.clock()


def _refusal(count: TypeCount) -> Refusal:
    return Refusal(
        name=count.name, available=count.left, name_texts=count.name_texts, main_language=count.main_language
    )


def counts_after_refusal(session: Session, ticket_type_ids: Iterable[uuid.UUID]) -> list[TypeCount]:
    """The types of a refused order as they are now: a plain read, no lock (the refusal's
    transaction has been rolled back already)."""
    rows = session.execute(_COUNTS, {"ids": list(ticket_type_ids)}).all()
    session.rollback()  # ends the read transaction: the connection goes back clean
    return [
        TypeCount(
            ticket_type_id=type_id,
            event_id=event_id,
            name=name,
            left=max(quantity - reserved, 0),
            min_per_order=min_per_order,
            max_per_order=max_per_order,
            name_texts=tuple(sorted(((translations or {}).get("name") or {}).items())),
            main_language=main_language,
        )
        for type_id, event_id, name, quantity, reserved, min_per_order, max_per_order, translations, main_language in rows
    ]


def recount(ticket_type_ids: Iterable[uuid.UUID]) -> list[TypeCount]:
    """The gate's probe: how many seats these types have now, read in a session of its own."""
    with session_scope() as session:
        return counts_after_refusal(session, ticket_type_ids)


def learn_after_refusal(session: Session, ticket_type_ids: Iterable[uuid.UUID], gate: SeatGate | None = None) -> None:
    """The database refused an order as sold out: remember what its types have left."""
    gate = gate or seat_gate
    counted_at = gate.now()
    gate.learn(counts_after_refusal(session, ticket_type_ids), counted_at=counted_at)


_COUNTS = (
    select(  # type: ignore[call-overload]  # sqlmodel types select() for up to 4 columns
        TicketType.id,
        TicketType.event_id,
        TicketType.name,
        TicketType.quantity,
        TicketType.reserved,
        TicketType.min_per_order,
        TicketType.max_per_order,
        TicketType.translations,
        Event.main_language,
    )
    .join(Event, col(Event.id) == col(TicketType.event_id))
    .where(col(TicketType.id).in_(bindparam("ids", expanding=True)))
)

seat_gate = SeatGate()  # one per process: each web worker learns from its own refusals
