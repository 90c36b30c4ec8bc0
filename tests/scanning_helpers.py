"""Builders for scanning tests: an event with paid tickets and a staff member at its door."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from bilten.models import Event, Role, Ticket, TicketType, User
from bilten.services import orders
from tests.factories import assign_staff, make_event, make_organization, make_user


def link(order_id):
    """The buyer's signed link token for an order."""
    return orders.order_access_token(order_id)


@dataclass
class Door:
    event: Event
    organizer: User
    staff: User
    tickets: list[Ticket]


def door_with_tickets(session: Session, *, now: datetime, count: int = 3, price: int = 0) -> Door:
    organizer = make_user(session, role=Role.ORGANIZER, now=now)
    staff_user = make_user(session, role=Role.STAFF, now=now)
    org = make_organization(session, members=(organizer,), now=now)
    event = make_event(session, organization=org, now=now, prices=(price,), quantity=100)
    ticket_type = session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    placed = orders.place_order(
        session,
        items=[(ticket_type.id, count)],
        email="fan@example.org",
        phone="+49 30 1234567",
        name="Dana Fan",
        now=now,
    )
    if price:
        orders.start_payment(session, order_id=placed.order.id, now=now, access_token=link(placed.order.id))
        orders.pay_with_test_provider(
            session, order_id=placed.order.id, succeeded=True, now=now, access_token=link(placed.order.id)
        )
    assign_staff(session, event=event, user=staff_user, now=now)
    tickets = list(session.exec(select(Ticket).where(Ticket.order_id == placed.order.id).order_by(Ticket.id)).all())
    return Door(event=event, organizer=organizer, staff=staff_user, tickets=tickets)
