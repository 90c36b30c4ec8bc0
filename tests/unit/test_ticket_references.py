"""Ticket references: drawn at random and unique, read forgivingly, and at the door as good as the QR
(for this event only), found by the back office's searches."""

import random
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bilten import cache
from bilten.models import CheckIn, CheckInResult, Ticket
from bilten.services import checkins, event_orders, orders, tickets
from bilten.services.ticket_references import (
    ALPHABET,
    REFERENCE_LENGTH,
    format_reference,
    generate_reference,
    normalize_reference,
    unused_references,
)
from tests.scanning_helpers import door_with_tickets, link

REFERENCE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{10}$")  # Crockford base32: no I, L, O, U


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear_local()


@pytest.fixture
def door(session, now):
    return door_with_tickets(session, now=now, count=3)


def scan(session, door, code, now, *, event=None, nonce=None):
    return checkins.scan_ticket(
        session,
        actor=door.staff,
        event_id=(event or door.event).id,
        code=code,
        nonce=nonce or uuid.uuid4().hex,
        scanned_at=now,
        now=now,
    )


def as_typed(reference: str) -> str:
    """How a person types it from paper: lower case, spaces for dashes, O for 0, l or I for 1."""
    return " ".join(format_reference(reference).lower().split("-")).replace("0", "o").replace("1", "l")


# -- drawing, reading, writing ------------------------------------------------------------------


def test_references_are_ten_characters_without_look_alikes():
    drawn = {generate_reference() for _ in range(2000)}
    assert len(drawn) == 2000  # random: no two alike in a couple of thousand
    assert all(REFERENCE.match(reference) for reference in drawn)
    assert set("".join(drawn)) == set(ALPHABET)  # every character in use, none other
    assert not set("ILOU") & set(ALPHABET)


def test_the_random_source_comes_in_as_an_argument():
    assert generate_reference(random.Random(7)) == generate_reference(random.Random(7))
    assert generate_reference(random.Random(7)) != generate_reference(random.Random(8))


def test_shown_in_groups_for_reading():
    assert format_reference("K7QM4XHT2P") == "K7QM-4XHT-2P"


@pytest.mark.parametrize(
    "typed",
    ["K7QM-4XHT-2P", "k7qm4xht2p", " k7qm 4xht 2p ", "K7QM\u00a04XHT-2P", "k7qm-4xht-2p\n"],
)
def test_typed_references_ignore_case_spaces_and_dashes(typed):
    assert normalize_reference(typed) == "K7QM4XHT2P"


def test_look_alikes_read_as_crockford_reads_them():
    assert normalize_reference("ABOO-IL01-23") == "AB00-1101-23".replace("-", "")
    assert normalize_reference("o o o o o o o o o o") == "0" * REFERENCE_LENGTH


@pytest.mark.parametrize(
    "typed", ["", "K7QM-4XHT-2", "K7QM-4XHT-2PX", "K7QM-4XHT-2U", "K7QM-4XHT-2#", "Ü7QM-4XHT-2P", "X" * 5000, None]
)
def test_anything_else_is_no_reference(typed):
    assert normalize_reference(typed) is None


# -- uniqueness ------------------------------------------------------------------------------------


class Rigged(random.Random):
    """A random source that first replays the characters of references already taken."""

    def __init__(self, replay: str) -> None:
        super().__init__(1)
        self.replay = list(replay)

    def choice(self, seq):  # noqa: ANN001, ANN201
        return self.replay.pop(0) if self.replay else super().choice(seq)


def test_a_collision_is_drawn_again(session, door):
    taken = door.tickets[0].reference
    (fresh,) = unused_references(session, 1, rng=Rigged(taken))
    assert fresh != taken and REFERENCE.match(fresh)


def test_a_batch_is_distinct_and_unused(session, door):
    taken = door.tickets[1].reference
    batch = unused_references(session, 5, rng=Rigged(taken + taken))
    assert len(set(batch)) == 5 and taken not in batch


def test_the_database_refuses_a_second_ticket_with_the_same_reference(session, door):
    original = door.tickets[0]
    twin = Ticket(
        order_id=original.order_id,
        order_line_id=original.order_line_id,
        event_id=original.event_id,
        ticket_type_id=original.ticket_type_id,
        code="another-code",
        reference=original.reference,
    )
    session.add(twin)
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def test_every_issued_ticket_has_its_own_reference(session, now, door):
    other = door_with_tickets(session, now=now, count=4, price=1500)  # paid through the test provider
    references = [t.reference for t in door.tickets + other.tickets]
    assert len(set(references)) == 7 and all(REFERENCE.match(r) for r in references)


def test_a_reissued_ticket_gets_a_new_reference_and_the_old_one_stops(session, now, door):
    old = door.tickets[0]
    old_reference = old.reference
    replacement = tickets.reissue_ticket(session, ticket_id=old.id, now=now, access_token=link(old.order_id))
    assert replacement.reference != old_reference and REFERENCE.match(replacement.reference)
    assert scan(session, door, old_reference, now).result == CheckInResult.CANCELLED
    assert scan(session, door, as_typed(replacement.reference), now).result == CheckInResult.VALID


# -- at the door -----------------------------------------------------------------------------------


def test_a_typed_reference_gets_in_once_like_the_qr(session, now, door):
    ticket = door.tickets[0]
    first = scan(session, door, as_typed(ticket.reference), now)
    assert first.result == CheckInResult.VALID
    assert first.ticket.id == ticket.id and first.ticket.holder_name == "Dana Fan"

    later = now + timedelta(minutes=2)
    assert scan(session, door, format_reference(ticket.reference), later).result == CheckInResult.ALREADY_USED
    by_qr = scan(session, door, ticket.code, later)
    assert by_qr.result == CheckInResult.ALREADY_USED and by_qr.first_scan.scanned_at == now
    live = session.exec(
        select(CheckIn).where(CheckIn.ticket_id == ticket.id, CheckIn.result == CheckInResult.VALID)
    ).all()
    assert len(live) == 1


def test_after_the_qr_the_reference_is_already_used(session, now, door):
    ticket = door.tickets[1]
    assert scan(session, door, ticket.code, now).result == CheckInResult.VALID
    assert scan(session, door, ticket.reference, now).result == CheckInResult.ALREADY_USED


def test_another_events_reference_is_invalid_not_its_verdict(session, now, door):
    other = door_with_tickets(session, now=now, count=1)
    verdict = scan(session, door, other.tickets[0].reference, now)
    assert verdict.result == CheckInResult.INVALID and verdict.ticket is None
    # ... and it was not let in at its own event either.
    assert scan(session, other, other.tickets[0].reference, now, event=other.event).result == CheckInResult.VALID


def test_an_unknown_reference_is_invalid(session, now, door):
    unknown = next(r for r in iter(generate_reference, None) if r not in {t.reference for t in door.tickets})
    assert scan(session, door, unknown, now).result == CheckInResult.INVALID


def test_a_cancelled_tickets_reference_answers_cancelled(session, now):
    door = door_with_tickets(session, now=now, count=1, price=1000)
    orders.cancel_order(session, order_id=door.tickets[0].order_id, now=now, actor=door.organizer)
    assert scan(session, door, door.tickets[0].reference, now).result == CheckInResult.CANCELLED


# -- the back office finds it ----------------------------------------------------------------------


def test_back_office_searches_find_a_ticket_by_its_reference(session, now, door):
    ticket = door.tickets[2]
    typed = as_typed(ticket.reference)

    orders_found = event_orders.list_event_orders(session, actor=door.organizer, event_id=door.event.id, search=typed)
    assert [row.id for row in orders_found.rows] == [ticket.order_id]
    attendees = event_orders.list_event_attendees(session, actor=door.organizer, event_id=door.event.id, search=typed)
    assert [row.ticket_id for row in attendees.rows] == [ticket.id]
    checkin_list = checkins.list_attendees(session, actor=door.organizer, event_id=door.event.id, search=typed)
    assert [row.ticket_id for row in checkin_list] == [ticket.id]

    other = door_with_tickets(session, now=now, count=1)
    foreign = event_orders.list_event_attendees(
        session, actor=door.organizer, event_id=door.event.id, search=other.tickets[0].reference
    )
    assert foreign.rows == []  # another event's reference finds nothing here


def test_the_order_details_show_each_tickets_reference(session, door):
    detail = event_orders.order_detail(session, actor=door.organizer, order_id=door.tickets[0].order_id)
    assert {t.id: t.reference for t in detail.tickets} == {t.id: t.reference for t in door.tickets}
