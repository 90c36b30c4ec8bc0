"""The seat counter (`TicketType.reserved`: held + sold) and the live "seats left" it feeds.

Seats are taken by one guarded UPDATE (`reserved + n <= quantity`) and given back by another, in
ticket type id order so two transactions never wait on each other crosswise. Pages hear of the
new counts after the commit, never of a rolled-back number."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, update
from sqlmodel import Session, col, select

from bilten import live
from bilten.debounce import Debouncer
from bilten.models import OrderLine, TicketType
from bilten.services.transaction import transaction
from bilten.services.waiting_offers import hand_on_seats

# The hot statements are built once (building a SQLAlchemy expression costs more CPU than running it).
_TAKE_SEATS = (
    update(TicketType)
    .where(col(TicketType.id) == bindparam("type_id"), col(TicketType.reserved) + bindparam("n") <= TicketType.quantity)
    .values(reserved=col(TicketType.reserved) + bindparam("n"))
    .returning(col(TicketType.quantity) - col(TicketType.reserved))
    .execution_options(synchronize_session=False)
)
ADD_SEATS = (  # no WHERE on the seats: the CHECK constraint decides, inside the pipelined batch
    update(TicketType)
    .where(col(TicketType.id) == bindparam("type_id"))
    .values(reserved=col(TicketType.reserved) + bindparam("n"))
    .execution_options(synchronize_session=False)
)
_SEATS_LEFT = select(TicketType.id, TicketType.quantity - TicketType.reserved).where(
    col(TicketType.id).in_(bindparam("ids", expanding=True))
)


def take_seats(session: Session, ticket_type_id: uuid.UUID, quantity: int) -> int | None:
    """Take seats if that many are left; returns how many are left then, None when there were not
    enough. (A CHECK constraint, reserved <= quantity, backs this up in the schema.)"""
    remaining: int | None = session.execute(
        _TAKE_SEATS, {"type_id": ticket_type_id, "n": quantity}
    ).scalar_one_or_none()
    loaded = session.identity_map.get(session.identity_key(TicketType, ticket_type_id))
    if loaded is not None:
        session.expire(loaded, ["reserved"])  # the UPDATE went around the loaded copy
    return remaining


def retake_seats(session: Session, lines: list[OrderLine]) -> bool:
    """Reserve the seats of an expired order again, all or none (a savepoint inside the caller's
    transaction)."""
    savepoint = session.begin_nested()
    for line in sorted(lines, key=lambda line: line.ticket_type_id):
        if take_seats(session, line.ticket_type_id, line.quantity) is None:
            savepoint.rollback()
            return False
    savepoint.commit()
    return True


def return_seats(session: Session, lines: list[OrderLine], *, now: datetime) -> None:
    """Give an order's seats back: first to the people on the waiting list (their offers hold them,
    services/waiting_offers.py), the rest to sale."""
    offered = hand_on_seats(session, [(line.ticket_type_id, line.quantity) for line in lines], now=now)
    for line in sorted(lines, key=lambda line: line.ticket_type_id):
        given_back = line.quantity - offered.pop(line.ticket_type_id, 0)
        if given_back <= 0:
            continue
        session.exec(
            update(TicketType)
            .where(col(TicketType.id) == line.ticket_type_id)
            .values(reserved=col(TicketType.reserved) - given_back)
        )


def seats_left(session: Session, type_ids: list[uuid.UUID]) -> dict[str, int]:
    rows = session.execute(_SEATS_LEFT, {"ids": type_ids}).all()
    return {str(type_id): max(left, 0) for type_id, left in rows}


def order_lines(session: Session, order_id: uuid.UUID) -> list[OrderLine]:
    query = select(OrderLine).where(OrderLine.order_id == order_id).order_by(col(OrderLine.id))
    return list(session.exec(query).all())


def availability(session: Session, event_id: uuid.UUID) -> dict[str, int]:
    rows = session.exec(
        select(TicketType.id, TicketType.quantity, TicketType.reserved).where(TicketType.event_id == event_id)
    ).all()
    return {str(type_id): max(quantity - reserved, 0) for type_id, quantity, reserved in rows}


def publish_availability(session: Session, event_id: uuid.UUID) -> None:
    """Tell every open event page how many seats are left (after commit: never a rolled-back number),
    within a quarter of a second: a rush of sales costs one count per quarter second and process.
    (SQLite, one small process, publishes at once: its in-memory test databases share one connection
    a timer thread must not use.)"""
    engine = session.get_bind()
    if engine.dialect.name == "sqlite":
        with transaction(session):  # a read: ends the transaction it opens
            left = availability(session, event_id)
        _publish_seats_left(event_id, left)
    else:
        _availability_publisher.schedule(event_id, engine, event_id)


def _publish_availability_in_new_session(engine: Engine, event_id: uuid.UUID) -> None:
    with Session(engine) as session:
        _publish_seats_left(event_id, availability(session, event_id))


AVAILABILITY_PUBLISH_DELAY_SECONDS = 0.25
_availability_publisher = Debouncer(AVAILABILITY_PUBLISH_DELAY_SECONDS, _publish_availability_in_new_session)
wait_for_pending_publishes = _availability_publisher.wait


def _publish_seats_left(event_id: uuid.UUID, left: dict[str, Any]) -> None:
    """`left` maps ticket type ids to seats left; pages update just those types."""
    live.publish(live.inventory_channel(event_id), {"event_id": str(event_id), "available": left})
