"""Background exports of an event's attendees (one row per ticket) or orders, as CSV or XLSX.

`request_export` records a queued `ExportJob` (anyone who may see the event's reports:
`EVENT_VIEW`); `run_export` does the work outside any request (a Dramatiq job with Redis, a
thread without: see `bilten.jobs`). It streams the rows from the database in batches (a
server-side cursor on PostgreSQL), writes them straight to a file, and records its progress every
few hundred rows, so memory stays flat and the back office shows a progress bar. The finished file
goes to the "exports" storage (bilten/storage.py: EXPORT_DIR, or the S3 bucket that every host
shares, so a file written by `bilten worker` on one host downloads from a web worker on another),
is kept for EXPORT_RETENTION_HOURS, and is downloaded only through an authenticated route.

Spreadsheets run cells that start with = + - @ as formulas (CSV injection): CSV cells starting so
get a leading apostrophe, XLSX cells are typed as text, never as formulas.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, delete, func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bilten import clock as app_clock
from bilten import live, routes
from bilten.models import (
    Answer,
    CheckIn,
    CheckInResult,
    Event,
    ExportFormat,
    ExportJob,
    ExportKind,
    ExportStatus,
    Order,
    OrderLine,
    Question,
    Ticket,
    TicketType,
    User,
)
from bilten.services.access import Permission, authorize
from bilten.services.audit import record_audit
from bilten.services.errors import Forbidden, NotFound, ValidationFailed
from bilten.services.ticket_references import format_reference
from bilten.services.transaction import transaction
from bilten.storage import MissingFile, Storage, StoredFile, get_storage

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 500  # rows between two progress updates (one small UPDATE each)
FETCH_BATCH = 1000  # rows fetched from the database at a time
STALE_AFTER = timedelta(hours=1)  # a job queued or running this long died with its worker
RECENT_EXPORTS = 10
# Spreadsheet programs run a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ATTENDEE_COLUMNS = (
    "ticket_id",
    "order_id",
    "holder_name",
    "ticket_type",
    "buyer_email",
    "buyer_name",
    "ticket_status",
    "checked_in_at",
    "gate",
    "reference",  # what door staff type when a QR will not scan (last: older columns keep their places)
)
ORDER_COLUMNS = (
    "order_id",
    "created_at",
    "paid_at",
    "status",
    "buyer_email",
    "buyer_name",
    "buyer_phone",
    "tickets",
    "total",
    "currency",
)
MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class ExportView(BaseModel):
    """An export's progress, as the back office and `/api/v1/exports/{id}` show it."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    event_id: uuid.UUID
    kind: ExportKind
    file_format: ExportFormat = Field(serialization_alias="format")
    status: ExportStatus
    rows_total: int
    rows_done: int
    percent: int
    created_at: datetime
    finished_at: datetime | None
    download_url: str | None  # once done
    error: str = Field(exclude=True)  # a message key when it failed

    @property
    def active(self) -> bool:
        return self.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)


@dataclass(frozen=True)
class ExportFile:
    stored: StoredFile  # opened: the caller sends it (and so closes it)
    download_name: str
    media_type: str


def _view(job: ExportJob) -> ExportView:
    status = ExportStatus(job.status)
    if status == ExportStatus.DONE:
        percent = 100
    else:
        percent = min(100, (100 * job.rows_done) // job.rows_total) if job.rows_total else 0
    return ExportView(
        id=job.id,
        event_id=job.event_id,
        kind=ExportKind(job.kind),
        file_format=ExportFormat(job.file_format),
        status=status,
        rows_total=job.rows_total,
        rows_done=job.rows_done,
        percent=percent,
        created_at=job.created_at,
        finished_at=job.finished_at,
        download_url=routes.export_download_url(job.id) if status == ExportStatus.DONE else None,
        error=job.error,
    )


# ---------------------------------------------------------------------------------------------
# Asking for an export, following it, downloading it


def request_export(
    session: Session, *, actor: User | None, event_id: uuid.UUID, kind: str, file_format: str, now: datetime
) -> ExportView:
    """Queue an export (the caller then hands its id to `bilten.jobs.submit_export`). The same
    export already queued or running for this user is returned instead of starting a second one."""
    with transaction(session):
        user = authorize(session, actor, Permission.EVENT_VIEW, event_id=event_id)
        try:
            kind, file_format = ExportKind(kind), ExportFormat(file_format)
        except ValueError as exc:
            raise ValidationFailed("error.export_invalid") from exc
        event = session.get_one(Event, event_id)
        running = session.exec(
            select(ExportJob).where(
                ExportJob.event_id == event_id,
                ExportJob.requested_by_user_id == user.id,
                ExportJob.kind == kind,
                ExportJob.file_format == file_format,
                col(ExportJob.status).in_((ExportStatus.QUEUED, ExportStatus.RUNNING)),
                ExportJob.created_at > now - STALE_AFTER,
            )
        ).first()
        if running is not None:
            return _view(running)
        job = ExportJob(
            organization_id=event.organization_id,
            event_id=event_id,
            requested_by_user_id=user.id,
            kind=kind,
            file_format=file_format,
            rows_total=_count_rows(session, kind, event_id),
            created_at=now,
        )
        session.add(job)
        record_audit(
            session,
            action="export.requested",
            object_type="export",
            object_id=job.id,
            now=now,
            actor_user_id=user.id,
            organization_id=event.organization_id,
            data={"event_id": str(event_id), "kind": kind.value, "format": file_format.value},
        )
        return _view(job)


def list_exports(
    session: Session, *, actor: User | None, event_id: uuid.UUID, limit: int = RECENT_EXPORTS
) -> list[ExportView]:
    """The event's most recent exports, newest first (everyone on the team sees them all)."""
    authorize(session, actor, Permission.EVENT_VIEW, event_id=event_id)
    jobs = session.exec(
        select(ExportJob)
        .where(ExportJob.event_id == event_id)
        .order_by(col(ExportJob.created_at).desc(), col(ExportJob.id))
        .limit(limit)
    ).all()
    return [_view(job) for job in jobs]


def export_status(session: Session, *, actor: User | None, job_id: uuid.UUID) -> ExportView:
    return _view(_visible_job(session, actor, job_id))


def export_file(session: Session, *, actor: User | None, job_id: uuid.UUID) -> ExportFile:
    """The finished file of an export and the name it downloads under."""
    job = _visible_job(session, actor, job_id)
    if job.status != ExportStatus.DONE or not job.file_name:
        raise ValidationFailed("error.export_not_ready")
    try:
        stored = export_storage().open(job.file_name)
    except MissingFile as exc:  # removed by the sweeper meanwhile
        raise ValidationFailed("error.export_not_ready") from exc
    event = session.get_one(Event, job.event_id)
    slug = re.sub(r"[^a-z0-9]+", "-", (event.slug or "event").lower()).strip("-")[:60] or "event"
    name = f"{job.kind}-{slug}-{job.created_at:%Y%m%d-%H%M}.{job.file_format}"
    return ExportFile(stored=stored, download_name=name, media_type=MEDIA_TYPES[ExportFormat(job.file_format)])


def _visible_job(session: Session, actor: User | None, job_id: uuid.UUID) -> ExportJob:
    """The job when the actor may see its event's reports. Another organization's job is "not
    found", as if it did not exist."""
    job = session.get(ExportJob, job_id)
    if job is None:
        raise NotFound()
    try:
        authorize(session, actor, Permission.EVENT_VIEW, event_id=job.event_id)
    except Forbidden as exc:
        raise NotFound() from exc
    return job


def export_storage() -> Storage:
    """Where export files are kept (EXPORT_DIR, or the S3 bucket with STORAGE_BACKEND=s3)."""
    return get_storage("exports")


# ---------------------------------------------------------------------------------------------
# Running one (outside any request)


def run_export(
    job_id: uuid.UUID,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] = app_clock.now,
    progress_every: int = PROGRESS_EVERY,
) -> ExportStatus:
    """Write the file of a queued export. Safe to call twice (a retried job): only the call that
    moves the job from queued to running does the work. Never raises: failures mark the job."""
    if engine is None:
        from bilten.db import get_engine

        engine = get_engine()
    with Session(engine, expire_on_commit=False) as writer:
        with transaction(writer):
            claimed = writer.exec(
                update(ExportJob)
                .where(col(ExportJob.id) == job_id, col(ExportJob.status) == ExportStatus.QUEUED)
                .values(status=ExportStatus.RUNNING, started_at=clock())
            ).rowcount
        job = writer.get(ExportJob, job_id)
        if not claimed or job is None:
            return ExportStatus(job.status) if job else ExportStatus.FAILED
        file_name = f"{job.id}.{job.file_format}"
        # Written to a scratch file on this host first, then stored whole: nobody downloads half a file.
        handle, scratch = tempfile.mkstemp(prefix=f"bilten-export-{job.id}-", suffix=".part")
        os.close(handle)
        partial = Path(scratch)
        try:
            with Session(engine, expire_on_commit=False) as reader:
                event = reader.get_one(Event, job.event_id)
                total = _count_rows(reader, ExportKind(job.kind), job.event_id)
                _set_progress(writer, job, rows_done=0, rows_total=total)
                asked = _question_columns(reader, ExportKind(job.kind), event.id)
                rows = _with_answers(reader, _rows(reader, ExportKind(job.kind), event), asked, ExportKind(job.kind))
                columns = ATTENDEE_COLUMNS if job.kind == ExportKind.ATTENDEES else ORDER_COLUMNS
                header = (*columns, *(safe_cell(question.label) for question in asked))  # a column per question

                def progress(done: int) -> None:
                    _set_progress(writer, job, rows_done=done, rows_total=max(total, done))

                if job.file_format == ExportFormat.CSV:
                    done = _write_csv(partial, header, rows, progress, progress_every)
                else:
                    done = _write_xlsx(partial, header, rows, progress, progress_every, sheet=str(job.kind))
            export_storage().put_file(file_name, partial, MEDIA_TYPES[ExportFormat(job.file_format)])
        except Exception:  # noqa: BLE001 - whatever broke, the job must not stay "running"
            logger.exception("export %s failed", job_id)  # the writer's own blocks rolled back already
            _finish(writer, job, status=ExportStatus.FAILED, now=clock(), error="error.export_failed")
            return ExportStatus.FAILED
        finally:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
        _finish(
            writer,
            job,
            status=ExportStatus.DONE,
            now=clock(),
            rows_done=done,
            rows_total=max(total, done),
            file_name=file_name,
        )
        return ExportStatus.DONE


def _set_progress(writer: Session, job: ExportJob, *, rows_done: int, rows_total: int) -> None:
    with transaction(writer):
        writer.exec(
            update(ExportJob).where(col(ExportJob.id) == job.id).values(rows_done=rows_done, rows_total=rows_total)
        )
    _announce(job, status=ExportStatus.RUNNING, rows_done=rows_done, rows_total=rows_total)


def _finish(writer: Session, job: ExportJob, *, status: ExportStatus, now: datetime, **values: object) -> None:
    with transaction(writer):
        writer.exec(
            update(ExportJob).where(col(ExportJob.id) == job.id).values(status=status, finished_at=now, **values)
        )
        writer.refresh(job)
    _announce(job, status=status, rows_done=job.rows_done, rows_total=job.rows_total)


def _announce(job: ExportJob, *, status: ExportStatus, rows_done: int, rows_total: int) -> None:
    live.publish(
        live.exports_channel(job.event_id),
        {"job_id": str(job.id), "status": status.value, "rows_done": rows_done, "rows_total": rows_total},
    )


def _write_csv(path: Path, header, rows: Iterator[list], progress, every: int) -> int:  # noqa: ANN001
    done = 0
    # A byte order mark: spreadsheet programs then read the file as UTF-8 (Arabic names).
    with open(path, "w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([safe_cell(value) for value in row])
            done += 1
            if done % every == 0:
                progress(done)
    return done


def _write_xlsx(path: Path, header, rows: Iterator[list], progress, every: int, *, sheet: str) -> int:  # noqa: ANN001
    workbook = Workbook(write_only=True)  # rows go to a temporary file as they come, not to memory
    worksheet = workbook.create_sheet(title=sheet)
    worksheet.append(list(header))
    done = 0
    for row in rows:
        worksheet.append([_xlsx_cell(worksheet, value) for value in row])
        done += 1
        if done % every == 0:
            progress(done)
    workbook.save(path)
    return done


def _xlsx_cell(worksheet, value: object):  # noqa: ANN001, ANN202
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    cell = WriteOnlyCell(worksheet, value="" if value is None else str(value))
    cell.data_type = "s"  # text, even when it starts with "=": never a formula
    return cell


def safe_cell(value: object) -> str:
    """A CSV cell that spreadsheets show as text, never evaluate."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _count_rows(session: Session, kind: ExportKind, event_id: uuid.UUID) -> int:
    model = Ticket if kind == ExportKind.ATTENDEES else Order
    return int(session.exec(select(func.count()).select_from(model).where(model.event_id == event_id)).one() or 0)


def _rows(session: Session, kind: ExportKind, event: Event) -> Iterator[list]:
    """The export's rows, fetched in batches (a server-side cursor on PostgreSQL)."""
    zone = ZoneInfo(event.timezone)

    def local(moment: datetime | None) -> str:
        return moment.astimezone(zone).isoformat(timespec="seconds") if moment else ""

    streaming = {"yield_per": FETCH_BATCH, "stream_results": True}
    if kind == ExportKind.ATTENDEES:
        # At most one live valid check-in per ticket (a unique index): a plain outer join.
        live_checkin = and_(
            col(CheckIn.ticket_id) == Ticket.id,
            col(CheckIn.result) == CheckInResult.VALID,
            col(CheckIn.undone_at).is_(None),
        )
        query = (
            select(  # type: ignore[call-overload]  # sqlmodel types select() for up to 4 columns
                Ticket.id,
                Ticket.reference,
                Ticket.order_id,
                Ticket.holder_name,
                TicketType.name,
                Order.buyer_email,
                Order.buyer_name,
                Ticket.status,
                CheckIn.scanned_at,
                CheckIn.gate,
            )
            .join(Order, Order.id == Ticket.order_id)
            .join(TicketType, TicketType.id == Ticket.ticket_type_id)
            .outerjoin(CheckIn, live_checkin)
            .where(Ticket.event_id == event.id)
            .order_by(TicketType.position, Ticket.holder_name, Order.buyer_email, Ticket.id)
            .execution_options(**streaming)
        )
        for ticket_id, reference, order_id, holder, type_name, email, buyer, status, scanned_at, gate in session.exec(
            query
        ):
            yield [
                str(ticket_id),
                str(order_id),
                holder,
                type_name,
                email,
                buyer,
                str(status),
                local(scanned_at),
                gate or "",
                format_reference(reference),
            ]
        return
    seats = (
        select(OrderLine.order_id, func.sum(OrderLine.quantity).label("seats"))
        .join(Order, col(Order.id) == OrderLine.order_id)
        .where(Order.event_id == event.id)
        .group_by(col(OrderLine.order_id))
        .subquery()
    )
    query = (
        select(  # type: ignore[call-overload]  # sqlmodel types select() for up to 4 columns
            Order.id,
            Order.created_at,
            Order.paid_at,
            Order.status,
            Order.buyer_email,
            Order.buyer_name,
            Order.buyer_phone,
            seats.c.seats,
            Order.total_minor,
            Order.currency,
        )
        .outerjoin(seats, seats.c.order_id == Order.id)
        .where(Order.event_id == event.id)
        .order_by(Order.created_at, Order.id)
        .execution_options(**streaming)
    )
    for order_id, created, paid, status, email, name, phone, count, total, currency in session.exec(query):
        yield [
            str(order_id),
            local(created),
            local(paid),
            str(status),
            email,
            name,
            phone,
            int(count or 0),
            total,
            currency,
        ]


def _question_columns(session: Session, kind: ExportKind, event_id: uuid.UUID) -> list[Question]:
    """The event's checkout questions, retired ones included (they are kept only when answered).
    The orders export has the per-order ones; the attendee export all (a ticket's own answers and
    its order's)."""
    query = select(Question).where(Question.event_id == event_id)
    if kind == ExportKind.ORDERS:
        query = query.where(col(Question.per_ticket).is_(False))
    return list(session.exec(query.order_by(col(Question.position), col(Question.created_at))).all())


def _with_answers(session: Session, rows: Iterator[list], asked: list[Question], kind: ExportKind) -> Iterator[list]:
    """The rows with one cell per question, the answers read for a batch of rows at a time."""
    if not asked:
        yield from rows
        return
    batch: list[list] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= FETCH_BATCH:
            yield from _answer_batch(session, batch, asked, kind)
            batch = []
    yield from _answer_batch(session, batch, asked, kind)


def _answer_batch(session: Session, batch: list[list], asked: list[Question], kind: ExportKind) -> Iterator[list]:
    if not batch:
        return
    order_column = 1 if kind == ExportKind.ATTENDEES else 0
    order_ids = list({uuid.UUID(row[order_column]) for row in batch})
    by_slot: dict[tuple[str, uuid.UUID, str], object] = {}
    for answer in session.exec(select(Answer).where(col(Answer.order_id).in_(order_ids))).all():
        owner = str(answer.ticket_id) if answer.ticket_index >= 0 else ""
        by_slot[(str(answer.order_id), answer.question_id, owner)] = answer.value
    for row in batch:
        ticket = row[0] if kind == ExportKind.ATTENDEES else ""
        cells = []
        for question in asked:
            value = by_slot.get((row[order_column], question.id, ticket if question.per_ticket else ""))
            cells.append(_answer_cell(value))
        yield [*row, *cells]


def _answer_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    return str(value)


# ---------------------------------------------------------------------------------------------
# Housekeeping (the sweeper)


def clean_up_exports(session: Session, *, now: datetime, retention: timedelta) -> int:
    """Fail jobs whose worker died, and delete exports (files and entries) past the retention
    period. Returns how many exports were deleted."""
    with transaction(session):
        session.exec(
            update(ExportJob)
            .where(
                col(ExportJob.status).in_((ExportStatus.QUEUED, ExportStatus.RUNNING)),
                col(ExportJob.created_at) < now - STALE_AFTER,
            )
            .values(status=ExportStatus.FAILED, finished_at=now, error="error.export_failed")
        )
        cutoff = now - retention
        old = session.exec(
            select(ExportJob.id, ExportJob.file_name).where(
                col(ExportJob.status).in_((ExportStatus.DONE, ExportStatus.FAILED)), ExportJob.created_at < cutoff
            )
        ).all()
        storage = export_storage()
        removed = []
        for job_id, file_name in old:
            if file_name:
                try:
                    storage.delete(file_name)
                except Exception:  # noqa: BLE001 - the storage is unreachable: keep the entry, retry next sweep
                    logger.warning("export file %s not deleted; retried at the next sweep", file_name, exc_info=True)
                    continue
            removed.append(job_id)
        if removed:
            session.exec(delete(ExportJob).where(col(ExportJob.id).in_(removed)))
        return len(removed)
