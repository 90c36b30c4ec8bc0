"""Background exports: the files' content (CSV, XLSX), formula injection, progress, failures, access."""

import asyncio
import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, SQLModel, select

from bilten import live
from bilten.models import ExportJob, ExportStatus, Membership, Role, TeamRole, Ticket
from bilten.services import checkins, exports
from bilten.services.errors import Forbidden, NotAuthenticated, NotFound, ValidationFailed
from bilten.services.ticket_references import format_reference
from bilten.settings import get_settings
from tests.conftest import make_sqlite_file_engine
from tests.factories import make_user
from tests.scanning_helpers import door_with_tickets


@pytest.fixture
def engine(tmp_path):
    """A database file: the export reads and reports progress on connections of its own."""
    engine = make_sqlite_file_engine(tmp_path / "exports.db")
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def export_dir(tmp_path, monkeypatch):
    folder = tmp_path / "exports"
    monkeypatch.setattr(get_settings(), "export_dir", folder)
    return folder


@pytest.fixture
def door(session, now):
    """A paid order of 3 tickets at 25.00 EUR (Dana Fan), one checked in at the North gate."""
    door = door_with_tickets(session, now=now, count=3, price=2500)
    checkins.check_in_manually(session, actor=door.organizer, ticket_id=door.tickets[0].id, now=now, gate="North")
    return door


def member(session, door, role, now):
    user = make_user(session, role=Role.ORGANIZER, now=now)
    session.add(Membership(organization_id=door.event.organization_id, user_id=user.id, team_role=role, created_at=now))
    session.commit()
    return user


def export(session, engine, door, now, kind="attendees", file_format="csv", actor=None, **options):
    job = exports.request_export(
        session, actor=actor or door.organizer, event_id=door.event.id, kind=kind, file_format=file_format, now=now
    )
    status = exports.run_export(job.id, engine=engine, clock=lambda: now, **options)
    return job, status


def berlin_time(moment):
    return moment.astimezone(ZoneInfo("Europe/Berlin")).isoformat()


def csv_rows(export_dir, job_id):
    job_file = next(export_dir.glob(f"{job_id}.csv"))
    text = job_file.read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_attendees_csv_lists_every_ticket_with_check_in_in_the_event_time_zone(session, engine, export_dir, now, door):
    job, status = export(session, engine, door, now)

    assert status == ExportStatus.DONE
    rows = csv_rows(export_dir, job.id)
    assert len(rows) == 3 and list(rows[0]) == list(exports.ATTENDEE_COLUMNS)
    by_id = {row["ticket_id"]: row for row in rows}
    first = by_id[str(door.tickets[0].id)]
    assert (first["holder_name"], first["buyer_email"], first["ticket_type"]) == (
        "Dana Fan",
        "fan@example.org",
        "Type 0",
    )
    assert first["checked_in_at"] == berlin_time(now) and first["gate"] == "North"  # in the event's time zone
    assert first["reference"] == format_reference(door.tickets[0].reference)  # typed at the door when a QR fails
    assert all(by_id[str(t.id)]["checked_in_at"] == "" for t in door.tickets[1:])
    done = exports.export_status(session, actor=door.organizer, job_id=job.id)
    assert (done.status, done.rows_done, done.rows_total, done.percent) == (ExportStatus.DONE, 3, 3, 100)
    found = exports.export_file(session, actor=door.organizer, job_id=job.id)
    assert found.stored.path.is_file() and found.download_name.startswith("attendees-concert-")
    assert found.download_name.endswith(".csv") and found.media_type.startswith("text/csv")


def test_orders_xlsx_has_one_row_per_order(session, engine, export_dir, now, door):
    job, status = export(session, engine, door, now, kind="orders", file_format="xlsx")

    assert status == ExportStatus.DONE
    sheet = load_workbook(export_dir / f"{job.id}.xlsx", read_only=True).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == list(exports.ORDER_COLUMNS)
    (order,) = rows[1:]
    record = dict(zip(exports.ORDER_COLUMNS, order, strict=True))
    assert record["order_id"] == str(door.tickets[0].order_id)
    assert (record["status"], record["buyer_email"], record["tickets"], record["total"]) == (
        "paid",
        "fan@example.org",
        3,
        7500,
    )
    assert record["paid_at"] == berlin_time(now)
    found = exports.export_file(session, actor=door.organizer, job_id=job.id)
    assert found.media_type.endswith("spreadsheetml.sheet") and found.download_name.endswith(".xlsx")


PAYLOADS = ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\tx"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formulas_are_defused_in_csv_and_plain_text_in_xlsx(session, engine, export_dir, now, door, payload):
    ticket = session.get(Ticket, door.tickets[1].id)
    ticket.holder_name = payload
    session.add(ticket)
    session.commit()

    job, _ = export(session, engine, door, now)
    holder = next(row["holder_name"] for row in csv_rows(export_dir, job.id) if row["ticket_id"] == str(ticket.id))
    assert holder == "'" + payload

    job, _ = export(session, engine, door, now, file_format="xlsx")
    sheet = load_workbook(export_dir / f"{job.id}.xlsx").active
    cells = [row[2] for row in sheet.iter_rows(min_row=2) if row[0].value == str(ticket.id)]
    assert [(c.value, c.data_type) for c in cells] == [(payload, "s")]  # text, never a formula ("f")


def test_safe_cell_leaves_plain_text_alone():
    assert exports.safe_cell("Dana Fan") == "Dana Fan"
    assert exports.safe_cell("ليلى") == "ليلى"
    assert exports.safe_cell(None) == ""
    assert exports.safe_cell("a=b") == "a=b"


def test_progress_is_recorded_and_pushed_while_it_runs(session, engine, export_dir, now, door):
    extra = door_with_tickets(session, now=now, count=1)  # another event: not in this export
    job = exports.request_export(
        session, actor=door.organizer, event_id=door.event.id, kind="attendees", file_format="csv", now=now
    )
    assert (job.status, job.rows_total, job.rows_done, job.percent) == (ExportStatus.QUEUED, 3, 0, 0)

    async def run_and_listen():
        async with live.subscription(
            live.exports_channel(door.event.id), live.exports_channel(extra.event.id)
        ) as queue:
            status = await asyncio.to_thread(exports.run_export, job.id, engine=engine, progress_every=1)
            await asyncio.sleep(0.05)
            return status, [queue.get_nowait() for _ in range(queue.qsize())]

    status, messages = asyncio.run(run_and_listen())

    assert status == ExportStatus.DONE
    assert [(m["status"], m["rows_done"]) for m in messages] == [
        ("running", 0),
        ("running", 1),
        ("running", 2),
        ("running", 3),
        ("done", 3),
    ]
    assert {m["job_id"] for m in messages} == {str(job.id)} and {m["rows_total"] for m in messages} == {3}


def test_a_job_runs_once(session, engine, export_dir, now, door):
    job, first = export(session, engine, door, now)
    again = exports.run_export(job.id, engine=engine)  # a redelivered queue message
    assert first == again == ExportStatus.DONE
    assert len(list(export_dir.glob("*.csv"))) == 1


def test_a_failure_marks_the_job_failed_and_leaves_no_file(session, engine, tmp_path, monkeypatch, now, door):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the export folder should be")
    monkeypatch.setattr(get_settings(), "export_dir", blocker)

    job, status = export(session, engine, door, now)

    assert status == ExportStatus.FAILED
    failed = exports.export_status(session, actor=door.organizer, job_id=job.id)
    assert failed.status == ExportStatus.FAILED and failed.error == "error.export_failed" and not failed.active
    with pytest.raises(ValidationFailed):
        exports.export_file(session, actor=door.organizer, job_id=job.id)


def test_the_same_running_export_is_not_started_twice(session, now, door, export_dir):
    first = exports.request_export(
        session, actor=door.organizer, event_id=door.event.id, kind="orders", file_format="csv", now=now
    )
    again = exports.request_export(
        session, actor=door.organizer, event_id=door.event.id, kind="orders", file_format="csv", now=now
    )
    other = exports.request_export(
        session, actor=door.organizer, event_id=door.event.id, kind="orders", file_format="xlsx", now=now
    )
    assert first.id == again.id != other.id
    assert [j.id for j in exports.list_exports(session, actor=door.organizer, event_id=door.event.id)] != []


def test_bad_kind_or_format_is_refused(session, now, door, export_dir):
    for kind, file_format in (("tickets", "csv"), ("orders", "pdf"), ("", "")):
        with pytest.raises(ValidationFailed):
            exports.request_export(
                session, actor=door.organizer, event_id=door.event.id, kind=kind, file_format=file_format, now=now
            )
    assert session.exec(select(ExportJob)).all() == []


def test_viewers_may_export_staff_strangers_and_buyers_may_not(session, engine, export_dir, now, door):
    viewer = member(session, door, TeamRole.VIEWER, now)
    job, status = export(session, engine, door, now, actor=viewer)
    assert status == ExportStatus.DONE
    assert exports.export_file(
        session, actor=door.organizer, job_id=job.id
    ).stored.path.is_file()  # the team shares them

    stranger = door_with_tickets(session, now=now, count=1).organizer
    team_staff = member(session, door, TeamRole.STAFF, now)
    attendee = make_user(session, role=Role.ATTENDEE, now=now)
    for actor in (stranger, door.staff, team_staff, attendee):
        with pytest.raises(Forbidden):
            exports.request_export(
                session, actor=actor, event_id=door.event.id, kind="attendees", file_format="csv", now=now
            )
        with pytest.raises(Forbidden):
            exports.list_exports(session, actor=actor, event_id=door.event.id)
        # Another organization's export does not exist, as far as they can tell.
        with pytest.raises(NotFound):
            exports.export_status(session, actor=actor, job_id=job.id)
        with pytest.raises(NotFound):
            exports.export_file(session, actor=actor, job_id=job.id)
    with pytest.raises(NotAuthenticated):
        exports.export_file(session, actor=None, job_id=job.id)


def test_sweeper_deletes_old_exports_and_fails_abandoned_ones(session, engine, export_dir, now, door):
    old, _ = export(session, engine, door, now - timedelta(hours=30))
    fresh, _ = export(session, engine, door, now, kind="orders")
    stuck = exports.request_export(
        session,
        actor=door.organizer,
        event_id=door.event.id,
        kind="attendees",
        file_format="xlsx",
        now=now - timedelta(hours=2),
    )

    removed = exports.clean_up_exports(session, now=now, retention=timedelta(hours=24))

    assert removed == 1
    assert session.get(ExportJob, old.id) is None and not (export_dir / f"{old.id}.csv").exists()
    assert (export_dir / f"{fresh.id}.csv").exists()
    session.expire_all()
    assert session.get(ExportJob, stuck.id).status == ExportStatus.FAILED


def test_exports_have_a_column_per_question_with_each_tickets_answers(session, engine, export_dir, now, door):
    from bilten.models import TicketType
    from bilten.services import orders, questions
    from bilten.services.questions import AnswerIn, QuestionFields

    def ask(**fields):
        return questions.create_question(
            session, actor=door.organizer, event_id=door.event.id, fields=QuestionFields(**fields), now=now
        )

    name = ask(label="Attendee name", kind="text", per_ticket=True)
    diet = ask(label="=Dietary needs", kind="multiple_choice", options=["vegan", "no nuts"], per_ticket=True)
    newsletter = ask(label="Newsletter", kind="yes_no")
    ticket_type = session.exec(select(TicketType).where(TicketType.event_id == door.event.id)).one()
    placed = orders.place_order(
        session,
        items=[(ticket_type.id, 2)],
        email="second@example.org",
        phone="+49 30 7654321",
        answers=[
            AnswerIn(name.id, "Ada", 0),
            AnswerIn(name.id, "Bob", 1),
            AnswerIn(diet.id, ["vegan", "no nuts"], 1),
            AnswerIn(newsletter.id, True),
        ],
        now=now,
    )
    orders.start_payment(session, order_id=placed.order.id, now=now, access_token=placed.access_token)
    orders.pay_with_test_provider(
        session, order_id=placed.order.id, succeeded=True, now=now, access_token=placed.access_token
    )

    job, status = export(session, engine, door, now)
    assert status == ExportStatus.DONE
    rows = csv_rows(export_dir, job.id)
    assert list(rows[0]) == [*exports.ATTENDEE_COLUMNS, "Attendee name", "'=Dietary needs", "Newsletter"]
    answered = sorted(
        (row["Attendee name"], row["'=Dietary needs"], row["Newsletter"])
        for row in rows
        if row["order_id"] == str(placed.order.id)
    )
    assert answered == [("Ada", "", "yes"), ("Bob", "vegan; no nuts", "yes")]
    assert [row["Attendee name"] for row in rows if row["order_id"] != str(placed.order.id)] == ["", "", ""]

    job, status = export(session, engine, door, now, kind="orders", file_format="xlsx")
    assert status == ExportStatus.DONE
    sheet = load_workbook(next(export_dir.glob(f"{job.id}.xlsx"))).active
    header, *data = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert header == [*exports.ORDER_COLUMNS, "Newsletter"]  # per-order questions only
    assert sorted(row[-1] or "" for row in data) == ["", "yes"]
