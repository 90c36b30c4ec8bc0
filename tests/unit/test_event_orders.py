"""The event back office's lists and order details: search, pages, history, resend, and who may."""

from datetime import timedelta

import pytest
from sqlmodel import select

from bilten.models import AuditEntry, Membership, OrderStatus, Role, TeamRole, Ticket, TicketType
from bilten.services import checkins, event_orders, orders
from bilten.services.errors import Forbidden, NotAuthenticated, NotFound, TooManyRequests, ValidationFailed
from tests.factories import make_user
from tests.scanning_helpers import door_with_tickets


def link(order_id):
    """The buyer's signed link token for an order."""
    return orders.order_access_token(order_id)


@pytest.fixture
def door(session, now):
    """A paid order of 3 tickets at 25.00 EUR each (Dana Fan, fan@example.org)."""
    return door_with_tickets(session, now=now, count=3, price=2500)


def member(session, door, role, now):
    """A user on the event's organization's team with `role`."""
    user = make_user(session, role=Role.ORGANIZER, now=now)
    session.add(Membership(organization_id=door.event.organization_id, user_id=user.id, team_role=role, created_at=now))
    session.commit()
    return user


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


def _orders(session, door, actor=None, **kwargs):
    return event_orders.list_event_orders(session, actor=actor or door.organizer, event_id=door.event.id, **kwargs)


# -- orders ------------------------------------------------------------------------------------


def test_orders_newest_first_with_buyer_total_and_ticket_count(session, now, door):
    later = _order(session, door.event, now + timedelta(minutes=5), quantity=2)

    page = _orders(session, door)

    assert (page.total, page.page, page.pages) == (2, 1, 1)
    rows = page.rows
    assert rows[0].id == later.id
    paid = rows[1]
    assert (paid.buyer_email, paid.buyer_name, paid.status) == ("fan@example.org", "Dana Fan", OrderStatus.PAID)
    assert (paid.total_minor, paid.currency, paid.ticket_count) == (7500, "EUR", 3)
    assert paid.cancellable and paid.refund_on_cancel
    pending = rows[0]
    assert pending.status == OrderStatus.PENDING and pending.ticket_count == 2
    assert pending.cancellable and not pending.refund_on_cancel


def test_orders_search_by_email_name_order_id_and_ticket_code(session, now, door):
    zed = _order(session, door.event, now, email="zed@example.org", name="Zoë Zed")

    def search(text):
        return [r.buyer_email for r in _orders(session, door, search=text).rows]

    assert search("ZED@") == ["zed@example.org"]
    assert search("dana") == ["fan@example.org"]
    assert search("nobody") == []
    assert search("%") == [] and search("_") == []  # wildcards are searched for, not expanded
    assert len(search("  ")) == 2
    # The order id as the back office shows it (first 8 characters, upper case), or whole.
    assert search(str(zed.id)[:8].upper()) == ["zed@example.org"]
    assert search(str(zed.id)) == ["zed@example.org"]
    # A ticket's full code, as a scanner reads it, finds its order.
    assert search(door.tickets[1].code) == ["fan@example.org"]
    assert search(door.tickets[1].code[:-3]) == []  # no partial codes: they are secrets


def test_orders_filter_by_status(session, now, door):
    _order(session, door.event, now)

    def by_status(status):
        return [r.status for r in _orders(session, door, status=status).rows]

    assert by_status("paid") == [OrderStatus.PAID]
    assert by_status(OrderStatus.PENDING) == [OrderStatus.PENDING]
    assert by_status("refunded") == []
    assert len(by_status(None)) == len(by_status("")) == 2
    with pytest.raises(ValidationFailed):
        by_status("shipped")


def test_orders_are_paginated_in_the_database(session, now, door):
    for minute in range(6):
        _order(session, door.event, now + timedelta(minutes=minute + 1), email=f"p{minute}@example.org")

    first = _orders(session, door, page=1, page_size=3)
    second = _orders(session, door, page=2, page_size=3)
    third = _orders(session, door, page=3, page_size=3)

    assert (first.total, first.pages) == (7, 3)
    assert [r.buyer_email for r in first.rows] == ["p5@example.org", "p4@example.org", "p3@example.org"]
    assert [r.buyer_email for r in second.rows] == ["p2@example.org", "p1@example.org", "p0@example.org"]
    assert [r.buyer_email for r in third.rows] == ["fan@example.org"]
    assert _orders(session, door, page=9, page_size=3).rows == []
    for bad in ({"page": 0}, {"page_size": 0}, {"page_size": event_orders.MAX_PAGE_SIZE + 1}):
        with pytest.raises(ValidationFailed):
            _orders(session, door, **bad)


def test_orders_only_of_this_event(session, now, door):
    other = door_with_tickets(session, now=now, count=1)
    assert {r.buyer_email for r in _orders(session, door).rows} == {"fan@example.org"}
    assert _orders(session, door).total == 1
    assert event_orders.list_event_orders(session, actor=other.organizer, event_id=other.event.id).total == 1


def test_cancelled_order_shows_refunded_and_no_longer_cancellable(session, now, door):
    paid = _orders(session, door).rows[0]
    orders.cancel_order(session, order_id=paid.id, now=now, actor=door.organizer)
    row = _orders(session, door).rows[0]
    assert row.status == OrderStatus.REFUNDED and not row.cancellable and not row.refund_on_cancel


# -- order details -----------------------------------------------------------------------------


def test_order_detail_has_lines_tickets_payments_and_history(session, now, door):
    order_id = door.tickets[0].order_id
    checkins.check_in_manually(session, actor=door.organizer, ticket_id=door.tickets[0].id, now=now)
    orders.cancel_order(session, order_id=order_id, now=now + timedelta(minutes=1), actor=door.organizer)

    detail = event_orders.order_detail(session, actor=door.organizer, order_id=order_id)

    assert detail.order.status == OrderStatus.REFUNDED and detail.order.ticket_count == 3
    assert detail.buyer_phone == "+49 30 1234567" and detail.event_id == door.event.id
    (line,) = detail.lines
    assert (line.ticket_type, line.quantity, line.unit_price_minor, line.line_total_minor) == ("Type 0", 3, 2500, 7500)
    assert len(detail.tickets) == 3 and {t.status for t in detail.tickets} == {"refunded"}
    assert sum(1 for t in detail.tickets if t.checked_in_at) == 1
    (payment,) = detail.payments
    assert (payment.status, payment.amount_minor, payment.refunded_minor) == ("refunded", 7500, 7500)
    actions = [entry.action for entry in detail.history]
    for expected in (
        "order.placed",
        "payment.confirmed",
        "order.paid",
        "ticket.checked_in",
        "payment.refunded",
        "order.cancelled",
    ):
        assert expected in actions
    assert actions.index("order.paid") < actions.index("order.cancelled")  # oldest first (cancelled a minute later)
    cancelled = next(e for e in detail.history if e.action == "order.cancelled")
    assert cancelled.actor_email == door.organizer.email and cancelled.data == {"refunded": True}


def test_order_detail_unknown_order_is_not_found(session, now, door):
    with pytest.raises(NotFound):
        event_orders.order_detail(session, actor=door.organizer, order_id=door.event.id)


# -- resend ------------------------------------------------------------------------------------


def test_managers_resend_tickets_to_the_buyer_within_the_limit(session, now, door):
    order_id = door.tickets[0].order_id
    manager = member(session, door, TeamRole.MANAGER, now)
    for minute in range(3):
        event_orders.resend_order_tickets(
            session, actor=manager, order_id=order_id, now=now + timedelta(minutes=minute)
        )
    entries = session.exec(select(AuditEntry).where(AuditEntry.action == "order.tickets_resent")).all()
    assert len(entries) == 3 and {e.actor_user_id for e in entries} == {manager.id}
    with pytest.raises(TooManyRequests):
        event_orders.resend_order_tickets(session, actor=door.organizer, order_id=order_id, now=now)


def test_resend_refused_to_viewers_strangers_and_for_unpaid_orders(session, now, door):
    order_id = door.tickets[0].order_id
    viewer = member(session, door, TeamRole.VIEWER, now)
    stranger = door_with_tickets(session, now=now, count=1).organizer
    for actor in (viewer, stranger, door.staff):
        with pytest.raises(Forbidden):
            event_orders.resend_order_tickets(session, actor=actor, order_id=order_id, now=now)
    pending = _order(session, door.event, now)
    with pytest.raises(ValidationFailed):
        event_orders.resend_order_tickets(session, actor=door.organizer, order_id=pending.id, now=now)
    assert not session.exec(select(AuditEntry).where(AuditEntry.action == "order.tickets_resent")).all()


# -- attendees ---------------------------------------------------------------------------------


def _attendees(session, door, actor=None, **kwargs):
    return event_orders.list_event_attendees(session, actor=actor or door.organizer, event_id=door.event.id, **kwargs)


def test_attendees_one_row_per_ticket_with_check_in_and_gate(session, now, door):
    verdict = checkins.check_in_manually(
        session, actor=door.organizer, ticket_id=door.tickets[0].id, now=now, gate="North"
    )
    page = _attendees(session, door)
    assert page.total == 3 and len(page.rows) == 3
    first = next(r for r in page.rows if r.ticket_id == door.tickets[0].id)
    assert (first.gate, first.checkin_id, first.checked_in_at) == ("North", verdict.checkin_id, now)
    assert (first.holder_name, first.buyer_email, first.ticket_type) == ("Dana Fan", "fan@example.org", "Type 0")
    assert all(r.checkin_id is None for r in page.rows if r.ticket_id != door.tickets[0].id)


def test_attendees_search_and_pages(session, now, door):
    ticket = session.get(Ticket, door.tickets[2].id)
    ticket.holder_name = "Kim Holder"
    session.add(ticket)
    session.commit()

    def search(text):
        return [r.ticket_id for r in _attendees(session, door, search=text).rows]

    assert search("kim") == [ticket.id]
    assert search(ticket.code) == [ticket.id]
    assert search(str(ticket.id)[:8]) == [ticket.id]
    assert len(search(str(ticket.order_id)[:8].upper())) == 3  # the order id finds all its tickets
    assert len(search("FAN@example")) == 3
    pages = [_attendees(session, door, page=n, page_size=2) for n in (1, 2)]
    assert [len(p.rows) for p in pages] == [2, 1] and pages[0].pages == 2
    assert {r.ticket_id for p in pages for r in p.rows} == {t.id for t in door.tickets}


# -- who may -----------------------------------------------------------------------------------

READS = [
    lambda s, actor, door: event_orders.list_event_orders(s, actor=actor, event_id=door.event.id),
    lambda s, actor, door: event_orders.list_event_attendees(s, actor=actor, event_id=door.event.id),
    lambda s, actor, door: event_orders.order_detail(s, actor=actor, order_id=door.tickets[0].order_id),
]


@pytest.mark.parametrize("read", READS)
def test_viewers_and_managers_may_read(session, now, door, read):
    for role in (TeamRole.VIEWER, TeamRole.MANAGER, TeamRole.OWNER):
        assert read(session, member(session, door, role, now), door) is not None


@pytest.mark.parametrize("read", READS)
def test_other_organizers_staff_and_buyers_are_refused(session, now, door, read):
    stranger = door_with_tickets(session, now=now, count=1).organizer  # organizer of another organization
    attendee = make_user(session, role=Role.ATTENDEE, now=now)
    team_staff = member(session, door, TeamRole.STAFF, now)
    for actor in (stranger, door.staff, attendee, team_staff):  # staff scan this event but see no reports
        with pytest.raises(Forbidden):
            read(session, actor, door)
    with pytest.raises(NotAuthenticated):
        read(session, None, door)


def test_admins_may_and_unknown_events_are_not_found(session, now, door):
    admin = make_user(session, role=Role.ADMIN, now=now)
    for read in READS:
        assert read(session, admin, door) is not None
    for actor in (door.organizer, admin):
        with pytest.raises(NotFound):
            event_orders.list_event_orders(session, actor=actor, event_id=door.staff.id)  # some id that is no event
        with pytest.raises(NotFound):
            event_orders.list_event_attendees(session, actor=actor, event_id=door.staff.id)
