"""The event back office's reads: orders list, sales figures and the attendee CSV, and who may see them."""

import csv
import io
from datetime import timedelta

import pytest
from sqlmodel import select

from bilten.models import OrderStatus, Role, Ticket, TicketType
from bilten.services import checkins, event_orders, orders
from bilten.services.errors import Forbidden, NotAuthenticated, NotFound, ValidationFailed
from tests.factories import make_event, make_organization, make_user
from tests.scanning_helpers import door_with_tickets


def link(order_id):
    """The buyer's signed link token for an order."""
    return orders.order_access_token(order_id)


@pytest.fixture
def door(session, now):
    """A paid order of 3 tickets at 25.00 EUR each (Dana Fan, fan@example.org)."""
    return door_with_tickets(session, now=now, count=3, price=2500)


def _ticket_type(session, event):
    return session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()


def _order(session, event, now, *, quantity=1, email="other@example.org", name="Olli Other", pay=False):
    placed = orders.place_order(
        session,
        items=[(_ticket_type(session, event).id, quantity)],
        email=email,
        phone="+49 30 7654321",
        name=name,
        now=now,
    )
    orders.start_payment(session, order_id=placed.order.id, now=now, access_token=link(placed.order.id))
    if pay:
        orders.pay_with_test_provider(
            session, order_id=placed.order.id, succeeded=True, now=now, access_token=link(placed.order.id)
        )
    return placed.order


def _csv(session, door, actor=None):
    text = event_orders.export_attendees_csv(session, actor=actor or door.organizer, event_id=door.event.id)
    return list(csv.DictReader(io.StringIO(text)))


# -- orders ------------------------------------------------------------------------------------


def test_orders_newest_first_with_buyer_total_and_ticket_count(session, now, door):
    later = _order(session, door.event, now + timedelta(minutes=5), quantity=2)

    rows = event_orders.list_event_orders(session, actor=door.organizer, event_id=door.event.id)

    assert rows[0].id == later.id
    assert len(rows) == 2
    paid = rows[1]
    assert (paid.buyer_email, paid.buyer_name, paid.status) == ("fan@example.org", "Dana Fan", OrderStatus.PAID)
    assert (paid.total_minor, paid.currency, paid.ticket_count) == (7500, "EUR", 3)
    assert paid.cancellable and paid.refund_on_cancel
    pending = rows[0]
    assert pending.status == OrderStatus.PENDING and pending.ticket_count == 2
    assert pending.cancellable and not pending.refund_on_cancel


def test_orders_search_by_email_or_name_case_insensitively(session, now, door):
    _order(session, door.event, now, email="zed@example.org", name="Zoë Zed")

    def search(text):
        return event_orders.list_event_orders(session, actor=door.organizer, event_id=door.event.id, search=text)

    assert [r.buyer_email for r in search("ZED@")] == ["zed@example.org"]
    assert [r.buyer_email for r in search("dana")] == ["fan@example.org"]
    assert search("nobody") == []
    assert search("%") == [] and search("_") == []  # wildcards are searched for, not expanded
    assert len(search("  ")) == 2


def test_orders_filter_by_status(session, now, door):
    _order(session, door.event, now)

    def by_status(status):
        return event_orders.list_event_orders(session, actor=door.organizer, event_id=door.event.id, status=status)

    assert [r.status for r in by_status("paid")] == [OrderStatus.PAID]
    assert [r.status for r in by_status(OrderStatus.PENDING)] == [OrderStatus.PENDING]
    assert by_status("refunded") == []
    assert len(by_status(None)) == len(by_status("")) == 2
    with pytest.raises(ValidationFailed):
        by_status("shipped")


def test_orders_only_of_this_event_and_limited(session, now, door):
    other = door_with_tickets(session, now=now, count=1)
    rows = event_orders.list_event_orders(session, actor=door.organizer, event_id=door.event.id)
    assert {r.buyer_email for r in rows} == {"fan@example.org"} and len(rows) == 1
    assert len(event_orders.list_event_orders(session, actor=other.organizer, event_id=other.event.id)) == 1
    for minute in range(3):
        _order(session, door.event, now + timedelta(minutes=minute))
    assert len(event_orders.list_event_orders(session, actor=door.organizer, event_id=door.event.id, limit=2)) == 2


def test_cancelled_order_shows_refunded_and_no_longer_cancellable(session, now, door):
    paid = event_orders.list_event_orders(session, actor=door.organizer, event_id=door.event.id)[0]
    orders.cancel_order(session, order_id=paid.id, now=now, actor=door.organizer)
    row = event_orders.list_event_orders(session, actor=door.organizer, event_id=door.event.id)[0]
    assert row.status == OrderStatus.REFUNDED and not row.cancellable and not row.refund_on_cancel


# -- sales -------------------------------------------------------------------------------------


def test_sales_summary_splits_sold_and_held_with_revenue(session, now, door):
    _order(session, door.event, now, quantity=2)  # held
    _order(session, door.event, now, quantity=4, pay=True)  # sold
    _order(session, door.event, now, quantity=5)  # held
    cancelled = _order(session, door.event, now, quantity=1)
    orders.cancel_order(session, order_id=cancelled.id, now=now, actor=door.organizer)

    summary = event_orders.event_sales_summary(session, actor=door.organizer, event_id=door.event.id)

    assert summary.title == door.event.title and summary.timezone == "Europe/Berlin"
    (row,) = summary.ticket_types
    assert (row.name, row.capacity, row.price_minor, row.currency) == ("Type 0", 100, 2500, "EUR")
    assert (row.sold, row.held) == (3 + 4, 2 + 5)
    assert row.revenue_minor == 7 * 2500
    ticket_type = session.get(TicketType, row.ticket_type_id)
    session.refresh(ticket_type)
    assert row.sold + row.held == ticket_type.reserved  # the seat counter agrees
    assert row.available == 100 - 14
    assert (summary.capacity, summary.sold, summary.held, summary.available) == (100, 7, 7, 86)
    assert summary.revenue == {"EUR": 17500}


def test_refund_moves_seats_back_and_revenue_out(session, now, door):
    paid = event_orders.list_event_orders(session, actor=door.organizer, event_id=door.event.id)[0]
    orders.cancel_order(session, order_id=paid.id, now=now, actor=door.organizer)
    summary = event_orders.event_sales_summary(session, actor=door.organizer, event_id=door.event.id)
    assert (summary.sold, summary.held, summary.available, summary.revenue) == (0, 0, 100, {"EUR": 0})


def test_sales_summary_per_type_and_per_currency(session, now):
    organizer = make_user(session, role=Role.ORGANIZER, now=now)
    org = make_organization(session, members=(organizer,), now=now)
    event = make_event(session, organization=org, now=now, prices=(1000, 0, 500), quantity=10)
    summary = event_orders.event_sales_summary(session, actor=organizer, event_id=event.id)
    assert [t.name for t in summary.ticket_types] == ["Type 0", "Type 1", "Type 2"]
    assert summary.capacity == 30 and summary.sold == 0 and summary.revenue == {"EUR": 0}


# -- CSV ---------------------------------------------------------------------------------------


def test_csv_lists_every_ticket_with_check_in_in_the_event_time_zone(session, now, door):
    checkins.check_in_manually(session, actor=door.organizer, ticket_id=door.tickets[0].id, now=now, gate="North")

    rows = _csv(session, door)

    assert len(rows) == 3
    assert list(rows[0]) == list(event_orders.CSV_COLUMNS)
    by_id = {row["ticket_id"]: row for row in rows}
    first = by_id[str(door.tickets[0].id)]
    assert first["holder_name"] == "Dana Fan" and first["buyer_email"] == "fan@example.org"
    assert first["ticket_type"] == "Type 0" and first["ticket_status"] == "valid"
    assert first["checked_in_at"] == "2026-11-22T13:00:00+01:00"  # 12:00 UTC in Berlin
    assert first["gate"] == "North"
    others = [by_id[str(t.id)] for t in door.tickets[1:]]
    assert all(row["checked_in_at"] == "" and row["gate"] == "" for row in others)


def test_csv_forgets_undone_check_ins_and_shows_refunded_tickets(session, now, door):
    verdict = checkins.check_in_manually(session, actor=door.organizer, ticket_id=door.tickets[0].id, now=now)
    checkins.undo_checkin(session, actor=door.organizer, checkin_id=verdict.checkin_id, now=now)
    orders.cancel_order(session, order_id=door.tickets[0].order_id, now=now, actor=door.organizer)
    rows = _csv(session, door)
    assert {row["ticket_status"] for row in rows} == {"refunded"}
    assert all(row["checked_in_at"] == "" for row in rows)


@pytest.mark.parametrize("payload", ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_csv_defuses_formulas(session, now, door, payload):
    ticket = session.get(Ticket, door.tickets[0].id)
    ticket.holder_name = payload
    session.add(ticket)
    session.commit()
    rows = _csv(session, door)
    holder = next(row["holder_name"] for row in rows if row["ticket_id"] == str(ticket.id))
    assert holder == "'" + payload


def test_safe_cell_leaves_plain_text_alone():
    assert event_orders.safe_cell("Dana Fan") == "Dana Fan"
    assert event_orders.safe_cell("ليلى") == "ليلى"
    assert event_orders.safe_cell(None) == ""
    assert event_orders.safe_cell("a=b") == "a=b"


# -- who may -----------------------------------------------------------------------------------

READS = [
    lambda s, actor, event_id: event_orders.list_event_orders(s, actor=actor, event_id=event_id),
    lambda s, actor, event_id: event_orders.event_sales_summary(s, actor=actor, event_id=event_id),
    lambda s, actor, event_id: event_orders.export_attendees_csv(s, actor=actor, event_id=event_id),
]


@pytest.mark.parametrize("read", READS)
def test_other_organizers_staff_and_buyers_are_refused(session, now, door, read):
    stranger = door_with_tickets(session, now=now, count=1).organizer  # organizer of another organization
    attendee = make_user(session, role=Role.ATTENDEE, now=now)
    for actor in (stranger, door.staff, attendee):  # staff scan this event but do not manage it
        with pytest.raises(Forbidden):
            read(session, actor, door.event.id)
    with pytest.raises(NotAuthenticated):
        read(session, None, door.event.id)


@pytest.mark.parametrize("read", READS)
def test_admins_may_and_unknown_events_are_not_found(session, now, door, read):
    admin = make_user(session, role=Role.ADMIN, now=now)
    assert read(session, admin, door.event.id) is not None
    for actor in (door.organizer, admin):
        with pytest.raises(NotFound):
            read(session, actor, door.staff.id)  # some id that is no event
