"""Ticket transfer rules on SQLite (services/ticket_transfer.py); the HTTP, door, email and race
cases run on PostgreSQL in tests/integration/test_ticket_transfer.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bilten.back_office.orders.state import _history_label
from bilten.models import CheckInResult, Event, Notification, Ticket, TicketStatus
from bilten.notifications.outbox import dispatch_outbox
from bilten.notifications.rendering import render_notification
from bilten.services import checkins, orders, ticket_transfer, tickets
from bilten.services.errors import NotFound, TicketHandedOver, TransferNotAllowed, ValidationFailed
from bilten.services.event_admin.fields import EventFields, resolve_event_fields
from tests.factories import make_user
from tests.scanning_helpers import door_with_tickets, link


@pytest.fixture
def door(session, now):
    return door_with_tickets(session, now=now, count=2)


def hand_on(session, now, ticket, token, email="kim@example.net", name="Kim Friend", **kwargs):
    return ticket_transfer.transfer_ticket(
        session, ticket_id=ticket.id, email=email, name=name, now=now, access_token=token, **kwargs
    )


def received(session, old_id) -> Ticket:
    return session.exec(select(Ticket).where(Ticket.replaces_ticket_id == old_id)).one()


def test_the_new_holder_reissues_their_code_and_keeps_their_link(session, now, door):
    old = door.tickets[0]
    hand_on(session, now, old, link(old.order_id))
    new = received(session, old.id)
    holder = ticket_transfer.holder_token(new.transfer_id)
    replacement = tickets.reissue_ticket(session, ticket_id=new.id, now=now, access_token=holder)
    assert replacement.code != new.code
    view = ticket_transfer.held_ticket(session, transfer_id=new.transfer_id, access_token=holder, now=now)
    assert view.id == replacement.id and view.code == replacement.code and view.holder_email == "kim@example.net"
    with pytest.raises(TicketHandedOver):  # the buyer's link cannot reissue it either
        tickets.reissue_ticket(session, ticket_id=replacement.id, now=now, access_token=link(old.order_id))
    data = checkins.scan_data(session, actor=door.staff, event_id=door.event.id, now=now)
    assert {str(old.id), str(new.id)} <= set(data.revoked) and str(replacement.id) not in data.revoked


def test_the_buyers_order_shows_the_ticket_as_transferred_without_the_new_code(session, now, door):
    old = door.tickets[0]
    result = hand_on(session, now, old, link(old.order_id))
    assert result.status == TicketStatus.TRANSFERRED and result.to_email == "kim@example.net"
    view = tickets.order_view(session, order_id=old.order_id, user=None, access_token=link(old.order_id))
    assert [t.status for t in view.tickets] == ["transferred", "valid"]
    assert received(session, old.id).code not in {t.code for t in view.tickets}


def test_the_organizer_may_transfer_and_a_cancelled_order_voids_the_new_ticket_too(session, now, door):
    old = door.tickets[0]
    hand_on(session, now, old, "", user=door.organizer)
    new = received(session, old.id)
    orders.cancel_order(session, order_id=old.order_id, now=now, actor=door.organizer)
    holder = ticket_transfer.holder_token(new.transfer_id)
    view = ticket_transfer.held_ticket(session, transfer_id=new.transfer_id, access_token=holder, now=now)
    assert view.status == TicketStatus.CANCELLED and view.code == "" and view.transferable is False
    verdict = checkins.scan_ticket(
        session, actor=door.staff, event_id=door.event.id, code=new.code, nonce="n1", scanned_at=now, now=now
    )
    assert verdict.result == CheckInResult.CANCELLED
    with pytest.raises(ValidationFailed):
        hand_on(session, now, new, holder, email="late@example.net")


def test_a_stranger_account_and_a_cancelled_event_are_refused(session, now, door):
    stranger = make_user(session, now=now)
    with pytest.raises(NotFound):
        hand_on(session, now, door.tickets[0], "", user=stranger)
    event = session.get(Event, door.event.id)
    event.starts_at = now - timedelta(minutes=1)
    session.add(event)
    session.commit()
    with pytest.raises(TransferNotAllowed) as refused:
        hand_on(session, now, door.tickets[0], link(door.tickets[0].order_id))
    assert refused.value.key == "error.transfer_too_late"


def test_the_new_holders_email_is_drafted_in_the_senders_language(session, now, door, tmp_path):
    old = door.tickets[0]
    hand_on(session, now, old, link(old.order_id), locale="de")
    dispatch_outbox(session, now=now)
    session.commit()
    notification = session.exec(select(Notification).where(Notification.recipient == "kim@example.net")).one()
    assert notification.locale == "de" and notification.topic == "ticket.transferred"
    email = render_notification(session, notification, public_url="https://bilten.test")
    assert email.subject == "Ihr Ticket für Concert" and "Dana Fan" in email.text
    assert [a.filename for a in email.attachments] == ["ticket.pdf", "event.ics"]


def test_the_order_history_names_the_chain(session, now, door):
    label = _history_label(
        "ticket.transferred", "en", {"from": "Dana Fan", "to": "Kim Friend", "to_email": "kim@example.net"}
    )
    assert label == "Ticket handed from Dana Fan to Kim Friend (kim@example.net)"


def test_the_editor_switch_is_a_boolean(session, now, door):
    event = session.get(Event, door.event.id)
    with pytest.raises(ValidationFailed):
        resolve_event_fields(EventFields(allow_ticket_transfer="no"), event, now=now)
    values = resolve_event_fields(EventFields(allow_ticket_transfer=False), event, now=now)
    assert values["allow_ticket_transfer"] is False
    assert resolve_event_fields(EventFields(), event, now=now)["allow_ticket_transfer"] is True
