"""Door decisions on SQLite: every verdict, nonces, offline conflicts, undo, access."""

import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from bilten import cache
from bilten.models import AuditEntry, CheckIn, CheckInResult, Role
from bilten.services import checkins, orders, staff
from bilten.services.errors import Forbidden, NonceTaken, NotAuthenticated, ValidationFailed
from tests.factories import make_organization, make_user
from tests.scanning_helpers import door_with_tickets


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear_local()


@pytest.fixture
def door(session, now):
    return door_with_tickets(session, now=now)


def scan(session, door, code, now, *, nonce=None, who=None, **extra):
    return checkins.scan_ticket(
        session,
        actor=who or door.staff,
        event_id=door.event.id,
        code=code,
        nonce=nonce or uuid.uuid4().hex,
        scanned_at=now,
        now=now,
        **extra,
    )


def test_first_scan_valid_then_already_used_with_when_and_where(session, now, door):
    ticket = door.tickets[0]
    first = scan(session, door, ticket.code, now, gate="North", device_id="phone-1")
    assert first.result == CheckInResult.VALID
    assert first.ticket.holder_name == "Dana Fan" and first.ticket.ticket_type == "Type 0"
    again = scan(session, door, ticket.code, now + timedelta(minutes=3), gate="South")
    assert again.result == CheckInResult.ALREADY_USED
    assert again.first_scan.scanned_at == now and again.first_scan.gate == "North"
    assert again.first_scan.device_id == "phone-1"


def test_codes_are_read_case_insensitively_and_trimmed(session, now, door):
    assert scan(session, door, "  " + door.tickets[0].code.lower() + "\n", now).result == CheckInResult.VALID


@pytest.mark.parametrize("code", ["", "hello", "https://example.org/t/1", "A" * 136, "Z" * 5000])
def test_foreign_codes_are_invalid(session, now, door, code):
    verdict = scan(session, door, code, now)
    assert verdict.result == CheckInResult.INVALID and verdict.ticket is None


def test_tampered_code_is_invalid(session, now, door):
    code = door.tickets[0].code
    tampered = code[:60] + ("A" if code[60] != "A" else "B") + code[61:]
    assert scan(session, door, tampered, now).result == CheckInResult.INVALID


def test_ticket_of_another_event_is_wrong_event(session, now, door):
    other = door_with_tickets(session, now=now, count=1)
    assert scan(session, door, other.tickets[0].code, now).result == CheckInResult.WRONG_EVENT


def test_cancelled_or_refunded_ticket(session, now):
    door = door_with_tickets(session, now=now, count=2, price=1000)
    orders.cancel_order(session, order_id=door.tickets[0].order_id, now=now, actor=door.organizer)
    verdict = scan(session, door, door.tickets[0].code, now)
    assert verdict.result == CheckInResult.CANCELLED
    data = checkins.scan_data(session, actor=door.staff, event_id=door.event.id, now=now)
    assert set(data.revoked) == {str(t.id) for t in door.tickets}


def test_same_nonce_twice_records_one_checkin(session, now, door):
    code = door.tickets[0].code
    first = scan(session, door, code, now, nonce="n-1")
    replay = scan(session, door, code, now + timedelta(seconds=5), nonce="n-1")
    assert first.result == replay.result == CheckInResult.VALID
    assert replay.replayed and replay.checkin_id == first.checkin_id
    assert len(session.exec(select(CheckIn)).all()) == 1


def test_a_nonce_from_another_event_is_refused_not_answered_with_that_events_verdict(session, now, door):
    scan(session, door, door.tickets[0].code, now, nonce="n-elsewhere")
    other = door_with_tickets(session, now=now)
    for offline in (False, True):
        with pytest.raises(NonceTaken):
            scan(session, other, other.tickets[0].code, now, nonce="n-elsewhere", offline=offline)
    assert session.exec(select(CheckIn).where(CheckIn.event_id == other.event.id)).all() == []
    # The other event's own scans are untouched: its ticket is still "not in yet".
    assert scan(session, other, other.tickets[0].code, now).result == CheckInResult.VALID


def test_bad_nonce_is_refused(session, now, door):
    with pytest.raises(ValidationFailed):
        scan(session, door, door.tickets[0].code, now, nonce=" ")
    with pytest.raises(ValidationFailed):
        scan(session, door, door.tickets[0].code, now, nonce="x" * 101)


def test_device_clock_in_the_future_is_capped(session, now, door):
    verdict = checkins.scan_ticket(
        session,
        actor=door.staff,
        event_id=door.event.id,
        code=door.tickets[0].code,
        nonce="n",
        scanned_at=now + timedelta(days=2),
        now=now,
    )
    assert session.get(CheckIn, verdict.checkin_id).scanned_at == now + timedelta(minutes=5)


def test_offline_upload_keeps_original_times_and_reports_conflicts(session, now, door):
    a, b = door.tickets[0], door.tickets[1]
    online = scan(session, door, a.code, now + timedelta(minutes=10), gate="Main")
    assert online.result == CheckInResult.VALID
    uploaded = checkins.upload_offline_scans(
        session,
        actor=door.staff,
        event_id=door.event.id,
        now=now + timedelta(hours=1),
        scans=[
            checkins.OfflineScan(
                code=b.code, nonce="off-1", scanned_at=now + timedelta(minutes=1), device_result="valid"
            ),
            checkins.OfflineScan(
                code=a.code, nonce="off-2", scanned_at=now + timedelta(minutes=12), device_result="valid"
            ),
            checkins.OfflineScan(
                code="garbage", nonce="off-3", scanned_at=now + timedelta(minutes=13), device_result="invalid"
            ),
        ],
    )
    assert [v.result for v in uploaded] == [CheckInResult.VALID, CheckInResult.ALREADY_USED, CheckInResult.INVALID]
    assert [v.conflict for v in uploaded] == [False, True, False]
    assert session.get(CheckIn, uploaded[0].checkin_id).scanned_at == now + timedelta(minutes=1)
    # Uploading the same queue again (the network dropped mid-upload) changes nothing.
    again = checkins.upload_offline_scans(
        session,
        actor=door.staff,
        event_id=door.event.id,
        now=now + timedelta(hours=2),
        scans=[
            checkins.OfflineScan(
                code=b.code, nonce="off-1", scanned_at=now + timedelta(minutes=1), device_result="valid"
            ),
        ],
    )
    assert again[0].replayed and again[0].result == CheckInResult.VALID
    assert len(session.exec(select(CheckIn)).all()) == 4
    rows = {r.ticket_id: r for r in checkins.list_attendees(session, actor=door.organizer, event_id=door.event.id)}
    assert rows[a.id].conflicts == 1 and rows[b.id].checked_in_at == now + timedelta(minutes=1)


def test_scan_data_lists_key_revocations_and_checkins(session, now, door):
    scan(session, door, door.tickets[0].code, now)
    data = checkins.scan_data(session, actor=door.staff, event_id=door.event.id, now=now)
    assert data.public_key == door.event.signing_public_key
    assert data.checkins == [{"ticket_id": str(door.tickets[0].id), "scanned_at": now.isoformat()}]
    assert data.revoked == []


def test_only_the_events_staff_organizers_and_admins_may_scan(session, now, door):
    attendee = make_user(session, now=now)
    rival = make_user(session, role=Role.ORGANIZER, now=now)
    make_organization(session, members=(rival,), now=now)
    other_staff = make_user(session, role=Role.STAFF, now=now)
    for who in (attendee, rival, other_staff):
        with pytest.raises(Forbidden):
            scan(session, door, door.tickets[0].code, now, who=who)
        with pytest.raises(Forbidden):
            checkins.scan_data(session, actor=who, event_id=door.event.id, now=now)
    with pytest.raises(NotAuthenticated):
        checkins.scan_ticket(session, actor=None, event_id=door.event.id, code="x", nonce="n", scanned_at=now, now=now)
    assert session.exec(select(CheckIn)).all() == []
    admin = make_user(session, role=Role.ADMIN, now=now)
    assert scan(session, door, door.tickets[0].code, now, who=admin).result == CheckInResult.VALID
    with pytest.raises(Forbidden):  # staff scan, but do not manage the attendee list
        checkins.list_attendees(session, actor=door.staff, event_id=door.event.id)


def test_manual_check_in_and_undo_are_audited(session, now, door):
    ticket = door.tickets[0]
    verdict = checkins.check_in_manually(session, actor=door.organizer, ticket_id=ticket.id, now=now)
    assert verdict.result == CheckInResult.VALID and session.get(CheckIn, verdict.checkin_id).manual
    assert scan(session, door, ticket.code, now).result == CheckInResult.ALREADY_USED
    with pytest.raises(Forbidden):
        checkins.undo_checkin(session, actor=door.staff, checkin_id=verdict.checkin_id, now=now)
    checkins.undo_checkin(session, actor=door.organizer, checkin_id=verdict.checkin_id, now=now)
    with pytest.raises(ValidationFailed):
        checkins.undo_checkin(session, actor=door.organizer, checkin_id=verdict.checkin_id, now=now)
    assert scan(session, door, ticket.code, now + timedelta(minutes=1)).result == CheckInResult.VALID
    actions = [a.action for a in session.exec(select(AuditEntry).order_by(AuditEntry.created_at)).all()]
    assert "ticket.checked_in" in actions and "ticket.check_in_undone" in actions


def test_counts_per_gate(session, now, door):
    scan(session, door, door.tickets[0].code, now, gate="North")
    scan(session, door, door.tickets[1].code, now, gate="South")
    scan(session, door, door.tickets[1].code, now, gate="North")  # already used: not counted
    counts = checkins.checkin_counts(session, door.event.id)
    assert (counts.checked_in, counts.expected) == (2, 3)
    assert {g.gate: g.checked_in for g in counts.by_gate} == {"North": 1, "South": 1}


def test_staff_assigned_to_a_gate_scan_as_that_gate(session, now, door):
    staff.assign_staff(
        session, actor=door.organizer, event_id=door.event.id, email=door.staff.email, gate="VIP", now=now
    )
    verdict = scan(session, door, door.tickets[0].code, now, gate="Main")
    assert session.get(CheckIn, verdict.checkin_id).gate == "VIP"


def test_staff_management_is_for_the_events_organizers(session, now, door):
    newcomer = make_user(session, now=now)
    with pytest.raises(Forbidden):
        staff.assign_staff(session, actor=door.staff, event_id=door.event.id, email=newcomer.email, gate="", now=now)
    with pytest.raises(ValidationFailed):
        staff.assign_staff(
            session, actor=door.organizer, event_id=door.event.id, email="nobody@example.org", gate="", now=now
        )
    staff.assign_staff(session, actor=door.organizer, event_id=door.event.id, email=newcomer.email, gate="", now=now)
    assert [e.id for e in staff.scannable_events(session, actor=newcomer, now=now)] == [door.event.id]
    staff.remove_staff(session, actor=door.organizer, event_id=door.event.id, user_id=newcomer.id, now=now)
    assert staff.scannable_events(session, actor=newcomer, now=now) == []
    with pytest.raises(Forbidden):
        scan(session, door, door.tickets[0].code, now, who=newcomer)
