import uuid

import pytest
from sqlmodel import select

from bilten.models import CheckInResult, Role, Ticket, TicketStatus
from bilten.services import checkins, orders, tickets
from bilten.services.errors import NotFound, ValidationFailed
from bilten.services.ticket_codes import load_public_key, verify_ticket_code
from tests.factories import make_user
from tests.scanning_helpers import door_with_tickets


@pytest.fixture
def door(session, now):
    return door_with_tickets(session, now=now, count=2)


def token_for(door):
    return orders.order_access_token(door.tickets[0].order_id)


def test_buyer_sees_the_order_with_its_tickets(session, now, door):
    view = tickets.order_view(session, order_id=door.tickets[0].order_id, user=None, access_token=token_for(door))
    assert view.status == "paid" and len(view.tickets) == 2 and view.lines[0].quantity == 2
    with pytest.raises(NotFound):
        tickets.order_view(session, order_id=door.tickets[0].order_id, user=None, access_token="nope")
    stranger = make_user(session, now=now)
    with pytest.raises(NotFound):
        tickets.order_view(session, order_id=door.tickets[0].order_id, user=stranger)
    assert tickets.order_view(session, order_id=door.tickets[0].order_id, user=door.organizer).id


def test_holder_name_is_set_by_the_buyer(session, now, door):
    ticket = door.tickets[0]
    view = tickets.set_ticket_holder(
        session, ticket_id=ticket.id, holder_name="  Sam   Lee ", now=now, access_token=token_for(door)
    )
    assert view.holder_name == "Sam Lee" and view.code == ticket.code
    with pytest.raises(ValidationFailed):
        tickets.set_ticket_holder(session, ticket_id=ticket.id, holder_name=" ", now=now, access_token=token_for(door))
    with pytest.raises(ValidationFailed):
        tickets.set_ticket_holder(
            session, ticket_id=ticket.id, holder_name="x" * 201, now=now, access_token=token_for(door)
        )
    with pytest.raises(NotFound):
        tickets.set_ticket_holder(session, ticket_id=ticket.id, holder_name="Eve", now=now, access_token="forged")
    with pytest.raises(NotFound):
        tickets.set_ticket_holder(session, ticket_id=uuid.uuid4(), holder_name="Eve", now=now)


def test_reissued_ticket_gets_a_new_code_and_the_old_one_is_revoked(session, now, door):
    old = door.tickets[0]
    new = tickets.reissue_ticket(session, ticket_id=old.id, now=now, access_token=token_for(door))
    assert new.code != old.code and new.status == "valid"
    verify_ticket_code(new.code, load_public_key(door.event.signing_public_key))
    assert session.get(Ticket, old.id).status == TicketStatus.REISSUED
    data = checkins.scan_data(session, actor=door.staff, event_id=door.event.id, now=now)
    assert str(old.id) in data.revoked

    def scan(code, nonce):
        return checkins.scan_ticket(
            session, actor=door.staff, event_id=door.event.id, code=code, nonce=nonce, scanned_at=now, now=now
        ).result

    assert scan(old.code, "a") == CheckInResult.CANCELLED
    assert scan(new.code, "b") == CheckInResult.VALID
    view = tickets.order_view(session, order_id=old.order_id, user=None, access_token=token_for(door))
    assert {t.id for t in view.tickets} == {new.id, door.tickets[1].id}
    with pytest.raises(ValidationFailed):
        tickets.reissue_ticket(session, ticket_id=old.id, now=now, access_token=token_for(door))


def test_my_orders_lists_only_mine(session, now, door):
    buyer = make_user(session, role=Role.ATTENDEE, now=now)
    placed = orders.place_order(
        session, items=[(door.tickets[0].ticket_type_id, 1)], email=buyer.email, phone="", user=buyer, now=now
    )
    mine = tickets.my_orders(session, user=buyer)
    assert [o.id for o in mine] == [placed.order.id] and len(mine[0].tickets) == 1
    assert tickets.my_orders(session, user=make_user(session, now=now)) == []
    assert len(session.exec(select(Ticket)).all()) == 3


def test_resend_is_rate_limited_to_three_an_hour(session, now, door):
    from datetime import timedelta

    from bilten.models import OutboxEvent
    from bilten.services.errors import TooManyRequests

    order_id = door.tickets[0].order_id
    for minute in range(3):
        tickets.resend_tickets_email(
            session, order_id=order_id, now=now + timedelta(minutes=minute), access_token=token_for(door)
        )
    with pytest.raises(TooManyRequests):
        tickets.resend_tickets_email(
            session, order_id=order_id, now=now + timedelta(minutes=10), access_token=token_for(door)
        )
    tickets.resend_tickets_email(
        session, order_id=order_id, now=now + timedelta(minutes=61), access_token=token_for(door)
    )
    resent = session.exec(select(OutboxEvent).where(OutboxEvent.topic == "order.tickets_resent")).all()
    assert len(resent) == 4 and len({e.payload["request_id"] for e in resent}) == 4
    with pytest.raises(NotFound):
        tickets.resend_tickets_email(session, order_id=order_id, now=now, access_token="forged")
