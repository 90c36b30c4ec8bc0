"""Door scanning: decide valid / already used / invalid / wrong event / cancelled, exactly once per ticket.

A ticket is in when it has a `valid` check-in that was not undone. Two doors scanning the same
ticket at the same moment are serialized on the ticket row (PostgreSQL) and, on every backend, by a
partial unique index that allows one live `valid` check-in per ticket. Every attempt is recorded
with the device's nonce, so a retried or replayed upload counts once. A nonce is looked up within
its event only: one sent before at another event is refused, never answered with that event's verdict.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, and_, bindparam, func, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bilten import cache, live
from bilten.debounce import Debouncer
from bilten.models import (
    CheckIn,
    CheckInResult,
    Event,
    Ticket,
    TicketStatus,
    TicketType,
    User,
)
from bilten.observability import metrics
from bilten.services.access import Permission, authorize, authorize_scan
from bilten.services.attendees import AttendeeRow, find_attendees
from bilten.services.audit import emit_event, record_audit
from bilten.services.door_answers import DoorAnswerText
from bilten.services.errors import NonceTaken, NotFound, ValidationFailed
from bilten.services.ticket_codes import InvalidCode, event_tag, load_public_key, parse_code, verify_ticket_code
from bilten.services.ticket_references import normalize_reference
from bilten.services.transaction import transaction
from bilten.services.translations import localized

MAX_NONCE_LENGTH = 100
MAX_CODE_LENGTH = 500
MAX_CLOCK_AHEAD = timedelta(minutes=5)  # a device clock may run a little fast; beyond that, use ours
MAX_OFFLINE_BATCH = 500
SCAN_STATE_TTL_SECONDS = 300
COUNTS_PUBLISH_DELAY_SECONDS = 0.25


class TicketSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    holder_name: str
    ticket_type: str  # in the event's main language
    # The ticket type's name in the event's other languages: the door shows the scanner's
    # (`services.translations.localized(ticket_type, ticket_type_texts, locale, main_language)`).
    ticket_type_texts: dict[str, str] = Field(default_factory=dict, exclude=True)
    main_language: str = Field("", exclude=True)


class FirstScan(BaseModel):
    model_config = ConfigDict(frozen=True)

    scanned_at: datetime
    gate: str
    device_id: str


class ScanVerdict(BaseModel):
    """The answer to one scan, as the door's page shows it and the scanning API returns it."""

    model_config = ConfigDict(frozen=True)

    result: CheckInResult
    checkin_id: uuid.UUID = Field(exclude=True)
    ticket: TicketSummary | None
    first_scan: FirstScan | None
    conflict: bool  # an offline device let in a ticket that was already in
    replayed: bool  # this nonce was seen before: the earlier verdict, nothing recorded
    nonce: str  # as the device sent it ("" for a check-in by hand)


class OnlineVerdict(ScanVerdict):
    """An online scan's verdict with the ticket's checkout answers, for the door to read beneath
    the holder's name (`door_answers.scan_answer_texts`, in the door's language). Offline verdicts
    carry none: the device's scan data holds no answers."""

    answers: list[DoorAnswerText] = Field(default_factory=list)


@dataclass(frozen=True)
class OfflineScan:
    code: str
    nonce: str
    scanned_at: datetime
    gate: str = ""
    device_id: str = ""
    device_result: str = ""


class ScanData(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: uuid.UUID
    public_key: str
    revoked: list[str]
    checkins: list[dict]
    generated_at: datetime


class GateCount(BaseModel):
    model_config = ConfigDict(frozen=True)

    gate: str
    checked_in: int


class CheckInCounts(BaseModel):
    model_config = ConfigDict(frozen=True)

    checked_in: int
    expected: int
    by_gate: list[GateCount]


class CheckInList(BaseModel):
    """The organizer's check-in list: the counters and the attendees found."""

    model_config = ConfigDict(frozen=True)

    checked_in: int
    expected: int
    by_gate: dict[str, int]  # gate -> checked in there
    attendees: list[AttendeeRow]


# ---------------------------------------------------------------------------------------------
# Scanning


def scan_ticket(
    session: Session,
    *,
    actor: User | None,
    event_id: uuid.UUID,
    code: str,
    nonce: str,
    scanned_at: datetime,
    now: datetime,
    gate: str = "",
    device_id: str = "",
    offline: bool = False,
    device_result: str = "",
    manual: bool = False,
) -> ScanVerdict:
    """Decide one scan and record it. The same nonce twice gives the first verdict again.

    The door's hot path, a handful of round trips: who may scan (one query), the ticket locked with
    its type and live check-in (one query), the attempt inserted and committed."""
    verdict = _decide_scan(
        session,
        actor=actor,
        event_id=event_id,
        code=code,
        nonce=nonce,
        scanned_at=scanned_at,
        now=now,
        gate=gate,
        device_id=device_id,
        offline=offline,
        device_result=device_result,
        manual=manual,
    )
    return verdict.model_copy(update={"nonce": "" if manual else nonce})


def _decide_scan(
    session: Session,
    *,
    actor: User | None,
    event_id: uuid.UUID,
    code: str,
    nonce: str,
    scanned_at: datetime,
    now: datetime,
    gate: str,
    device_id: str,
    offline: bool,
    device_result: str,
    manual: bool,
) -> ScanVerdict:
    access = authorize_scan(session, actor, event_id)
    user, event = access.user, access.event
    nonce = (nonce or "").strip()
    if not nonce or len(nonce) > MAX_NONCE_LENGTH:
        raise ValidationFailed("error.nonce_invalid")
    gate = (access.assigned_gate or gate or "").strip()[:60]
    scanned_at = min(scanned_at, now + MAX_CLOCK_AHEAD)

    result, ticket, first_scan = _judge_code(session, event, (code or "")[:MAX_CODE_LENGTH])
    checkin = CheckIn(
        event_id=event.id,
        ticket_id=ticket.id if ticket else None,
        gate=gate,
        device_id=(device_id or "")[:100],
        staff_user_id=user.id,
        scanned_at=scanned_at,
        received_at=now,
        result=result,
        nonce=nonce,
        offline=offline,
        device_result=(device_result or "")[:20],
        manual=manual,
    )
    try:
        with transaction(session):
            # A Core insert: the unit of work's bookkeeping for one row costs more than the insert itself.
            session.execute(_INSERT_CHECKIN, checkin.model_dump())
            if result == CheckInResult.VALID and ticket is not None:  # outgoing webhooks (services/webhooks.py)
                emit_event(
                    session,
                    topic="ticket.checked_in",
                    payload={
                        "ticket_id": str(ticket.id),
                        "event_id": str(event.id),
                        "checkin_id": str(checkin.id),
                        "gate": gate or "",
                    },
                    now=now,
                )
            if manual:
                record_audit(
                    session,
                    action="ticket.checked_in",
                    object_type="ticket",
                    object_id=ticket.id if ticket else "-",
                    now=now,
                    actor_user_id=user.id,
                    organization_id=event.organization_id,
                    data={"manual": True, "result": result.value},
                )
    except IntegrityError:
        # This nonce was sent before (a retry or a replayed upload), or another door won the race
        # for this ticket a moment ago: answer the earlier verdict, or decide again.
        replay = _verdict_for_nonce(session, event.id, nonce)
        if replay is not None:
            return replay
        if _nonce_taken(session, nonce):
            # Sent before at another event: its verdict (and holder) belongs to that event's staff.
            raise NonceTaken() from None
        return _decide_scan(
            session,
            actor=actor,
            event_id=event_id,
            code=code,
            nonce=nonce,
            scanned_at=scanned_at,
            now=now,
            gate=gate,
            device_id=device_id,
            offline=offline,
            device_result=device_result,
            manual=manual,
        )

    metrics.count_checkin(result)  # committed above (a replayed nonce returned earlier: counted once)
    if result == CheckInResult.VALID and ticket is not None:
        first_scan = FirstScan(scanned_at=checkin.scanned_at, gate=checkin.gate, device_id=checkin.device_id)
        _remember_first_scan(event.id, ticket, first_scan)
        _publish_counts_soon(session, event.id)
    return ScanVerdict(
        result=result,
        checkin_id=checkin.id,
        ticket=ticket,
        first_scan=first_scan,
        conflict=checkin.is_conflict,
        replayed=False,
        nonce=nonce,
    )


def in_language(verdict: ScanVerdict, locale: str) -> ScanVerdict:
    """The verdict with the ticket type named in `locale` when the organizer gave that name, else in
    the event's main language (the door's language may differ from the buyer's)."""
    ticket = verdict.ticket
    if ticket is None:
        return verdict
    name = localized(ticket.ticket_type, ticket.ticket_type_texts, locale, ticket.main_language)
    return verdict.model_copy(update={"ticket": ticket.model_copy(update={"ticket_type": name})})


def upload_offline_scans(
    session: Session, *, actor: User | None, event_id: uuid.UUID, scans: list[OfflineScan], now: datetime
) -> list[ScanVerdict]:
    """Re-decide, in the order they happened, scans a device made while offline. Nothing is merged
    silently: a ticket the device let in that was already in comes back as a conflict."""
    authorize(session, actor, Permission.EVENT_SCAN, event_id=event_id)
    if len(scans) > MAX_OFFLINE_BATCH:
        raise ValidationFailed("error.batch_too_large", max=MAX_OFFLINE_BATCH)
    verdicts = {}
    for scan in sorted(scans, key=lambda s: s.scanned_at):
        verdicts[scan.nonce] = scan_ticket(
            session,
            actor=actor,
            event_id=event_id,
            code=scan.code,
            nonce=scan.nonce,
            scanned_at=scan.scanned_at,
            now=now,
            gate=scan.gate,
            device_id=scan.device_id,
            offline=True,
            device_result=scan.device_result,
        )
    return [verdicts[scan.nonce] for scan in scans]


def _judge_code(
    session: Session, event: Event, code: str
) -> tuple[CheckInResult, TicketSummary | None, FirstScan | None]:
    """The verdict on a code at this event, with the ticket and, when it is in already, its first scan."""
    try:
        parsed = parse_code(code)
    except InvalidCode:
        # Not a QR's code: perhaps a reference typed at the door. Only this event's tickets answer;
        # any other reference is "invalid" (never another event's verdict, nor a hint that it exists).
        reference = normalize_reference(code)
        if reference is None:
            return CheckInResult.INVALID, None, None
        row = session.execute(_TICKET_BY_REFERENCE, {"reference": reference, "event_id": event.id}).first()
        if row is None:
            return CheckInResult.INVALID, None, None
        return _decide(event, row)
    if parsed.event_tag != event_tag(event.id):
        # Ours, but for another event? Only if that event's key signed it.
        other = session.get(Ticket, parsed.ticket_id)
        other_event = session.get(Event, other.event_id) if other else None
        if other_event is not None and _signature_ok(code, other_event):
            return CheckInResult.WRONG_EVENT, None, None
        return CheckInResult.INVALID, None, None
    if not _signature_ok(code, event):
        return CheckInResult.INVALID, None, None
    cached = _cached_first_scan(event.id, parsed.ticket_id)
    if cached is not None:  # "already in" is safe to trust from the cache: only an undo changes it
        ticket, first_scan = cached
        return CheckInResult.ALREADY_USED, ticket, first_scan
    # "Not in yet" is decided under the ticket's row lock, with its live check-in read in the same query.
    row = session.execute(_TICKET_FOR_SCAN, {"ticket_id": parsed.ticket_id}).first()
    if row is None or row.event_id != event.id or row.code != code.strip().upper():
        return CheckInResult.INVALID, None, None
    return _decide(event, row)


def _decide(event: Event, row) -> tuple[CheckInResult, TicketSummary, FirstScan | None]:  # noqa: ANN001 - a row of _TICKET_FOR_SCAN
    """The verdict on this event's ticket, read under its row lock with its live check-in."""
    ticket = TicketSummary(
        id=row.id,
        holder_name=row.holder_name,
        ticket_type=row.type_name,
        ticket_type_texts=dict((row.type_texts or {}).get("name", {})),
        main_language=event.main_language,
    )
    if row.status != TicketStatus.VALID:
        return CheckInResult.CANCELLED, ticket, None
    if row.first_scanned_at is not None:
        first_scan = FirstScan(scanned_at=row.first_scanned_at, gate=row.first_gate, device_id=row.first_device_id)
        _remember_first_scan(event.id, ticket, first_scan)
        return CheckInResult.ALREADY_USED, ticket, first_scan
    return CheckInResult.VALID, ticket, None


_INSERT_CHECKIN = insert(CheckIn)
# At most one live valid check-in per ticket (unique index), so the outer join adds no rows.
_LIVE_VALID = and_(
    col(CheckIn.ticket_id) == Ticket.id, col(CheckIn.result) == CheckInResult.VALID, col(CheckIn.undone_at).is_(None)
)
_TICKET_FOR_SCAN_BASE = (
    select(  # type: ignore[call-overload]  # sqlmodel types select() for up to 4 columns
        Ticket.id,
        Ticket.event_id,
        Ticket.code,
        Ticket.status,
        Ticket.holder_name,
        col(TicketType.name).label("type_name"),
        col(TicketType.translations).label("type_texts"),
        col(CheckIn.scanned_at).label("first_scanned_at"),
        col(CheckIn.gate).label("first_gate"),
        col(CheckIn.device_id).label("first_device_id"),
    )
    .join(TicketType, TicketType.id == Ticket.ticket_type_id)
    .outerjoin(CheckIn, _LIVE_VALID)
    .with_for_update(of=Ticket)
)
_TICKET_FOR_SCAN = _TICKET_FOR_SCAN_BASE.where(Ticket.id == bindparam("ticket_id"))
_TICKET_BY_REFERENCE = _TICKET_FOR_SCAN_BASE.where(
    Ticket.reference == bindparam("reference"), Ticket.event_id == bindparam("event_id")
)


def _signature_ok(code: str, event: Event) -> bool:
    try:
        verify_ticket_code(code, load_public_key(event.signing_public_key))
    except (InvalidCode, ValueError):
        return False
    return True


def _live_first_scan(session: Session, ticket_id: uuid.UUID) -> CheckIn | None:
    return session.exec(
        select(CheckIn)
        .where(CheckIn.ticket_id == ticket_id, CheckIn.result == CheckInResult.VALID, col(CheckIn.undone_at).is_(None))
        .order_by(col(CheckIn.scanned_at))
    ).first()


def _cached_first_scan(event_id: uuid.UUID, ticket_id: uuid.UUID) -> tuple[TicketSummary, FirstScan] | None:
    cached = cache.get_json(_scan_state_key(event_id, ticket_id))
    if not cached:
        return None
    ticket = TicketSummary(
        id=ticket_id,
        holder_name=cached["holder_name"],
        ticket_type=cached["ticket_type"],
        ticket_type_texts=cached.get("ticket_type_texts") or {},
        main_language=cached.get("main_language") or "",
    )
    first = FirstScan(
        scanned_at=datetime.fromisoformat(cached["scanned_at"]), gate=cached["gate"], device_id=cached["device_id"]
    )
    return ticket, first


def _remember_first_scan(event_id: uuid.UUID, ticket: TicketSummary, first: FirstScan) -> None:
    cache.set_json(
        _scan_state_key(event_id, ticket.id),
        {
            "holder_name": ticket.holder_name,
            "ticket_type": ticket.ticket_type,
            "ticket_type_texts": ticket.ticket_type_texts,
            "main_language": ticket.main_language,
            "scanned_at": first.scanned_at.isoformat(),
            "gate": first.gate,
            "device_id": first.device_id,
        },
        ttl_seconds=SCAN_STATE_TTL_SECONDS,
    )


def forget_scan_states(event_id: uuid.UUID, ticket_ids: list[uuid.UUID]) -> None:
    """After tickets were cancelled, refunded or reissued (committed): the door must answer
    "cancelled" from now on, not a cached "already in"."""
    for ticket_id in ticket_ids:
        cache.delete(_scan_state_key(event_id, ticket_id))


def _scan_state_key(event_id: uuid.UUID, ticket_id: uuid.UUID) -> str:
    return f"scan:{event_id}:{ticket_id}"


def _verdict_for_nonce(session: Session, event_id: uuid.UUID, nonce: str) -> ScanVerdict | None:
    """The earlier verdict for this nonce at this event (never another event's: its staff only)."""
    earlier = session.exec(select(CheckIn).where(CheckIn.event_id == event_id, CheckIn.nonce == nonce)).first()
    if earlier is None:
        return None
    first = None
    if earlier.ticket_id and earlier.result in (CheckInResult.VALID, CheckInResult.ALREADY_USED):
        live_first = _live_first_scan(session, earlier.ticket_id)
        if live_first is not None:
            first = FirstScan(scanned_at=live_first.scanned_at, gate=live_first.gate, device_id=live_first.device_id)
    verdict = _verdict(session, earlier, first)
    return verdict.model_copy(update={"replayed": True})


def _nonce_taken(session: Session, nonce: str) -> bool:
    return session.exec(select(CheckIn.id).where(CheckIn.nonce == nonce)).first() is not None


def _verdict(session: Session, checkin: CheckIn, first_scan: FirstScan | None) -> ScanVerdict:
    summary = None
    if checkin.ticket_id:
        ticket = session.get_one(Ticket, checkin.ticket_id)
        ticket_type = session.get_one(TicketType, ticket.ticket_type_id)
        event = session.get_one(Event, ticket.event_id)
        summary = TicketSummary(
            id=ticket.id,
            holder_name=ticket.holder_name,
            ticket_type=ticket_type.name,
            ticket_type_texts=dict((ticket_type.translations or {}).get("name", {})),
            main_language=event.main_language,
        )
    return ScanVerdict(
        result=checkin.result,
        checkin_id=checkin.id,
        ticket=summary,
        first_scan=first_scan,
        conflict=checkin.is_conflict,
        replayed=False,
        nonce=checkin.nonce,
    )


# ---------------------------------------------------------------------------------------------
# What a device needs to decide alone


def scan_data(session: Session, *, actor: User | None, event_id: uuid.UUID, now: datetime) -> ScanData:
    """The event's public key, revoked tickets and live check-ins, for offline decisions."""
    authorize(session, actor, Permission.EVENT_SCAN, event_id=event_id)
    event = session.get_one(Event, event_id)
    revoked = session.exec(
        select(Ticket.id).where(Ticket.event_id == event_id, Ticket.status != TicketStatus.VALID)
    ).all()
    checkins = session.exec(
        select(CheckIn.ticket_id, func.min(CheckIn.scanned_at))
        .where(CheckIn.event_id == event_id, CheckIn.result == CheckInResult.VALID, col(CheckIn.undone_at).is_(None))
        .group_by(col(CheckIn.ticket_id))
    ).all()
    return ScanData(
        event_id=event.id,
        public_key=event.signing_public_key,
        revoked=[str(ticket_id) for ticket_id in revoked],
        checkins=[{"ticket_id": str(ticket_id), "scanned_at": at.isoformat()} for ticket_id, at in checkins],
        generated_at=now,
    )


def checkin_counts(session: Session, event_id: uuid.UUID) -> CheckInCounts:
    live_valid = (CheckIn.event_id == event_id, CheckIn.result == CheckInResult.VALID, col(CheckIn.undone_at).is_(None))
    by_gate = session.exec(
        select(CheckIn.gate, func.count()).where(*live_valid).group_by(CheckIn.gate).order_by(CheckIn.gate)
    ).all()
    expected = session.exec(
        select(func.count()).select_from(Ticket).where(Ticket.event_id == event_id, Ticket.status == TicketStatus.VALID)
    ).one()
    return CheckInCounts(
        checked_in=sum(n for _, n in by_gate),
        expected=expected,
        by_gate=[GateCount(gate=gate, checked_in=n) for gate, n in by_gate],
    )


def _publish_counts_soon(session: Session, event_id: uuid.UUID) -> None:
    """After a valid scan: publish the event's counters within a quarter of a second; a rush of scans
    costs one count per quarter second and process, not one per scan. (SQLite, one small process,
    publishes at once: its in-memory test databases share one connection a timer thread must not use.)"""
    engine = session.get_bind()
    if engine.dialect.name == "sqlite":
        _publish_counts(session, event_id)
    else:
        _counts_publisher.schedule(event_id, engine, event_id)


def _publish_counts_in_new_session(engine: Engine, event_id: uuid.UUID) -> None:
    with Session(engine) as session:
        _publish_counts(session, event_id)


_counts_publisher = Debouncer(COUNTS_PUBLISH_DELAY_SECONDS, _publish_counts_in_new_session)
wait_for_pending_publishes = _counts_publisher.wait


def _publish_counts(session: Session, event_id: uuid.UUID) -> None:
    counts = checkin_counts(session, event_id)
    live.publish(
        live.checkins_channel(event_id),
        {
            "event_id": str(event_id),
            "checked_in": counts.checked_in,
            "expected": counts.expected,
            "by_gate": {g.gate: g.checked_in for g in counts.by_gate},
        },
    )


# ---------------------------------------------------------------------------------------------
# The organizer's check-in list


def checkin_list(session: Session, *, actor: User | None, event_id: uuid.UUID, search: str = "") -> CheckInList:
    """The door's check-in list with the event's counters."""
    rows = list_attendees(session, actor=actor, event_id=event_id, search=search)
    counts = checkin_counts(session, event_id)
    return CheckInList(
        checked_in=counts.checked_in,
        expected=counts.expected,
        by_gate={g.gate: g.checked_in for g in counts.by_gate},
        attendees=rows,
    )


def list_attendees(
    session: Session, *, actor: User | None, event_id: uuid.UUID, search: str = "", limit: int = 500
) -> list[AttendeeRow]:
    """The door's check-in list: the same rows as the back office's attendee pages."""
    authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
    return find_attendees(session, event_id=event_id, search=search, limit=limit)


def check_in_manually(
    session: Session, *, actor: User | None, ticket_id: uuid.UUID, now: datetime, gate: str = ""
) -> ScanVerdict:
    """The organizer lets a ticket in by hand (lost phone, unreadable screen): the same rules as a scan."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound()
    user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=ticket.event_id)
    return scan_ticket(
        session,
        actor=user,
        event_id=ticket.event_id,
        code=ticket.code,
        nonce=f"manual-{uuid.uuid4()}",
        scanned_at=now,
        now=now,
        gate=gate or "manual",
        device_id="organizer",
        manual=True,
    )


def undo_checkin(session: Session, *, actor: User | None, checkin_id: uuid.UUID, now: datetime) -> None:
    """Take back a check-in (scanned by mistake): the ticket can be scanned in again."""
    with transaction(session):
        checkin = session.get(CheckIn, checkin_id)
        if checkin is None:
            raise NotFound()
        user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=checkin.event_id)
        if checkin.result != CheckInResult.VALID or checkin.undone_at is not None or checkin.ticket_id is None:
            raise ValidationFailed("error.checkin_not_undoable")
        checkin.undone_at = now
        checkin.undone_by_user_id = user.id
        session.add(checkin)
        record_audit(
            session,
            action="ticket.check_in_undone",
            object_type="ticket",
            object_id=checkin.ticket_id,
            now=now,
            actor_user_id=user.id,
            data={"checkin_id": str(checkin.id)},
        )
    cache.delete(_scan_state_key(checkin.event_id, checkin.ticket_id))
    _publish_counts(session, checkin.event_id)
