"""Waiting-list rules on SQLite: who may join when, links that cannot be forged, the settings'
bounds, offers from every source of freed seats (hold expiry, cancellation, raised quantity), their
email in every language, and what the event page offers to join."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from bilten.models import (
    EventStatus,
    Notification,
    Role,
    TicketType,
    WaitingListEntry,
    WaitingState,
)
from bilten.notifications.outbox import dispatch_outbox
from bilten.notifications.rendering import render_notification
from bilten.services import orders, waiting_list
from bilten.services.errors import (
    AlreadyOnWaitingList,
    EventNotOnSale,
    Forbidden,
    InvalidToken,
    OfferNotAvailable,
    SalesClosed,
    SalesNotOpen,
    TicketsStillOnSale,
    UnknownTicketType,
    ValidationFailed,
    WaitingListClosed,
)
from bilten.services.orders import CancelReason
from bilten.services.orders.cancelling import cancel_unpaid
from tests.factories import make_event, make_organization, make_user

PHONE = "+44 20 7946 0958"


@pytest.fixture
def world(session, now):
    owner = make_user(session, role=Role.ORGANIZER, now=now)
    org = make_organization(session, members=(owner,), now=now)
    event = make_event(session, organization=org, now=now, title="Gala", prices=(3000,), quantity=1)
    ticket_type = session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    return {"owner": owner, "event": event, "type": ticket_type}


def _hold_last_seat(session, world, now) -> uuid.UUID:
    placed = orders.place_order(session, items=[(world["type"].id, 1)], email="early@example.org", phone=PHONE, now=now)
    return placed.order.id


def _join(session, world, now, email, **extra):
    return waiting_list.join_waiting_list(
        session, event_id=world["event"].id, ticket_type_id=world["type"].id, email=email, now=now, **extra
    )


def _entry(session, email) -> WaitingListEntry:
    session.expire_all()
    return session.exec(select(WaitingListEntry).where(WaitingListEntry.email == email)).one()


def _reserved(session, world) -> int:
    session.expire_all()
    return session.get(TicketType, world["type"].id).reserved


def test_joining_needs_a_sold_out_type_on_sale_and_an_open_list(session, world, now):
    with pytest.raises(TicketsStillOnSale):
        _join(session, world, now, "a@example.org")
    _hold_last_seat(session, world, now)
    with pytest.raises(ValidationFailed):
        _join(session, world, now, "not an address")
    with pytest.raises(UnknownTicketType):
        waiting_list.join_waiting_list(
            session, event_id=uuid.uuid4(), ticket_type_id=world["type"].id, email="a@example.org", now=now
        )
    ticket_type = session.get(TicketType, world["type"].id)
    ticket_type.sales_end = now
    session.add(ticket_type)
    session.commit()
    with pytest.raises(SalesClosed):
        _join(session, world, now, "a@example.org")
    ticket_type.sales_end, ticket_type.sales_start = None, now + timedelta(days=1)
    session.add(ticket_type)
    session.commit()
    with pytest.raises(SalesNotOpen):
        _join(session, world, now, "a@example.org")
    ticket_type.sales_start = None
    session.add(ticket_type)
    session.commit()
    waiting_list.update_config(
        session, actor=world["owner"], event_id=world["event"].id, enabled=False, offer_hours=24, now=now
    )
    with pytest.raises(WaitingListClosed):
        _join(session, world, now, "a@example.org")
    assert waiting_list.joinable_types(session, event_id=world["event"].id, now=now) == []
    waiting_list.update_config(
        session, actor=world["owner"], event_id=world["event"].id, enabled=True, offer_hours=24, now=now
    )
    assert [t.name for t in waiting_list.joinable_types(session, event_id=world["event"].id, now=now)] == ["Type 0"]
    entry = _join(session, world, now, "A@Example.org", name="Ann", locale="de")
    assert entry.state == WaitingState.WAITING and entry.position == 1
    with pytest.raises(AlreadyOnWaitingList):
        _join(session, world, now + timedelta(seconds=1), "a@example.org")
    event = world["event"]
    event.status = EventStatus.CANCELLED
    session.add(event)
    session.commit()
    with pytest.raises(EventNotOnSale):
        _join(session, world, now, "b@example.org")


def test_links_are_signed_and_settings_are_bounded(session, world, now):
    _hold_last_seat(session, world, now)
    entry = _join(session, world, now, "a@example.org")
    assert waiting_list.entry_status(session, token=entry.token).id == entry.id
    for forged in (entry.token[:-1] + ("A" if entry.token[-1] != "A" else "B"), uuid.uuid4().hex + "x" * 24, "", "zz"):
        with pytest.raises(InvalidToken):
            waiting_list.entry_status(session, token=forged)
    for hours in (0, -3, waiting_list.MAX_OFFER_HOURS + 1, True):
        with pytest.raises(ValidationFailed):
            waiting_list.update_config(
                session, actor=world["owner"], event_id=world["event"].id, enabled=True, offer_hours=hours, now=now
            )
    stranger = make_user(session, role=Role.ORGANIZER, now=now)
    with pytest.raises(Forbidden):
        waiting_list.update_config(
            session, actor=stranger, event_id=world["event"].id, enabled=False, offer_hours=5, now=now
        )
    with pytest.raises(Forbidden):
        waiting_list.list_entries(session, actor=stranger, event_id=world["event"].id)


def test_an_expired_hold_becomes_an_offer_emailed_in_the_persons_language(session, world, now):
    _hold_last_seat(session, world, now)
    _join(session, world, now, "ann@example.org", name="Ann", locale="de")
    later = now + timedelta(hours=1)
    expired = orders.expire_holds(session, now=later)
    assert len(expired) == 1
    ann = _entry(session, "ann@example.org")
    assert ann.state == WaitingState.OFFERED and ann.offer_expires_at == later + timedelta(hours=24)
    assert _reserved(session, world) == 1  # still held: by the offer now

    dispatch_outbox(session, now=later)
    notification = session.exec(select(Notification).where(Notification.topic == "waiting_list.offered")).one()
    assert notification.recipient == "ann@example.org" and notification.locale == "de"
    rendered = render_notification(session, notification, public_url="https://tickets.example.org")
    assert rendered.subject == "Ein Ticket für Gala ist für Sie reserviert"
    token = waiting_list.entry_token(ann.id)
    assert f"https://tickets.example.org/waiting-list/{token}" in rendered.text
    assert f"https://tickets.example.org/waiting-list/{token}" in rendered.html
    assert rendered.secrets == (f"https://tickets.example.org/waiting-list/{token}",)


def test_a_buyer_cancelling_hands_the_seat_on_and_the_offer_is_bought_once(session, world, now):
    order_id = _hold_last_seat(session, world, now)
    ann = _join(session, world, now, "ann@example.org")
    with pytest.raises(OfferNotAvailable):  # nothing offered yet
        waiting_list.buy_offer(session, token=ann.token, phone=PHONE, now=now)
    cancel_unpaid(session, order_id, now=now, reason=CancelReason.BY_BUYER)
    assert _entry(session, "ann@example.org").state == WaitingState.OFFERED
    with pytest.raises(ValidationFailed):
        waiting_list.buy_offer(session, token=ann.token, phone="", now=now)  # a guest needs a phone
    assert _entry(session, "ann@example.org").state == WaitingState.OFFERED  # nothing half done

    placed = waiting_list.buy_offer(session, token=ann.token, phone=PHONE, now=now)
    assert placed.order.buyer_email == "ann@example.org" and placed.order.total_minor == 3000
    assert _reserved(session, world) == 1
    assert _entry(session, "ann@example.org").order_id == placed.order.id
    with pytest.raises(OfferNotAvailable):
        waiting_list.buy_offer(session, token=ann.token, phone=PHONE, now=now)


def test_an_order_cannot_take_a_seat_with_someone_elses_or_a_stale_offer(session, world, now):
    order_id = _hold_last_seat(session, world, now)
    ann = _join(session, world, now, "ann@example.org")
    cancel_unpaid(session, order_id, now=now, reason=CancelReason.BY_BUYER)
    with pytest.raises(OfferNotAvailable):  # the offer's deadline has passed (the sweeper is late)
        waiting_list.buy_offer(session, token=ann.token, phone=PHONE, now=now + timedelta(hours=25))
    with pytest.raises(OfferNotAvailable):  # a made-up offer id never frees a seat
        orders.place_order(
            session,
            items=[(world["type"].id, 1)],
            email="sneaky@example.org",
            phone=PHONE,
            offer_id=uuid.uuid4(),
            now=now,
        )
    assert _reserved(session, world) == 1


def test_removing_an_offered_person_passes_the_seat_on_or_back_on_sale(session, world, now):
    order_id = _hold_last_seat(session, world, now)
    _join(session, world, now, "ann@example.org")
    _join(session, world, now + timedelta(seconds=1), "bob@example.org")
    cancel_unpaid(session, order_id, now=now, reason=CancelReason.BY_BUYER)
    ann, bob = _entry(session, "ann@example.org"), _entry(session, "bob@example.org")
    waiting_list.remove_entry(session, actor=world["owner"], event_id=world["event"].id, entry_id=ann.id, now=now)
    assert _entry(session, "bob@example.org").state == WaitingState.OFFERED
    waiting_list.remove_entry(session, actor=world["owner"], event_id=world["event"].id, entry_id=bob.id, now=now)
    assert _entry(session, "bob@example.org").state == WaitingState.REMOVED
    assert _reserved(session, world) == 0  # nobody left in line: on sale again
    rows = waiting_list.list_entries(session, actor=world["owner"], event_id=world["event"].id)
    assert [(r.email, r.state) for r in rows] == [
        ("ann@example.org", WaitingState.REMOVED),
        ("bob@example.org", WaitingState.REMOVED),
    ]
    page = waiting_list.page_of_entries(session, actor=world["owner"], event_id=world["event"].id, offset=1, limit=25)
    assert page.total == 2 and [r.email for r in page.rows] == ["bob@example.org"]


def test_the_person_reads_the_event_in_their_language_else_its_main_one(session, world, now):
    event = world["event"]
    event.translations = {"title": {"de": "Galaabend"}}
    session.add(event)
    session.commit()
    _hold_last_seat(session, world, now)
    entry = _join(session, world, now, "ann@example.org", locale="de")
    assert entry.event_title == "Galaabend"
    assert waiting_list.entry_status(session, token=entry.token, locale="fr").event_title == "Gala"
    assert waiting_list.entry_status(session, token=entry.token).event_title == "Galaabend"  # as joined
