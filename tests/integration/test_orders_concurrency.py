"""Races on PostgreSQL: a rush never oversells, and every seat comes back when a hold runs out."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy.pool import QueuePool
from sqlmodel import Session, func, select

from bilten.db import make_engine
from bilten.models import Event, EventStatus, Order, OrderStatus, Ticket, TicketType
from bilten.services import orders
from bilten.services.errors import EventNotOnSale, SoldOut, TryAgain
from tests.factories import make_event, make_organization

BUYERS = 200
SEATS = 50
# PostgreSQL allows 100 connections here; 200 buyers share 90 (each buyer's work runs on its own
# connection while it has one), which still puts ~90 transactions on the hot row at once.
CONNECTIONS = 90


def _rush(pg_url, ticket_type_id, now, buyers=BUYERS):
    engine = make_engine(pg_url)
    engine.pool = QueuePool(engine.pool._creator, pool_size=CONNECTIONS, max_overflow=0, timeout=60)
    start = threading.Barrier(buyers)
    results = []

    def buy(n):
        start.wait()
        with Session(engine, expire_on_commit=False) as session:
            try:
                orders.place_order(
                    session, items=[(ticket_type_id, 1)], email=f"buyer{n}@example.org", phone="+49 30 1234567", now=now
                )
                return "ok"
            except SoldOut:
                return "sold_out"
            except TryAgain:
                return "try_again"

    with ThreadPoolExecutor(max_workers=buyers) as pool:
        results = list(pool.map(buy, range(buyers)))
    engine.dispose()
    return results


def test_two_hundred_buyers_fifty_seats_exactly_fifty_sold(pg_url, pg_session, clock):
    now = clock.now
    org = make_organization(pg_session, now=now)
    event = make_event(pg_session, organization=org, now=now, quantity=SEATS)
    ticket_type = pg_session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()

    results = _rush(pg_url, ticket_type.id, now)

    assert results.count("ok") == SEATS
    assert results.count("sold_out") == BUYERS - SEATS
    pg_session.expire_all()
    assert pg_session.get(TicketType, ticket_type.id).reserved == SEATS
    assert pg_session.exec(select(func.count()).select_from(Order)).one() == SEATS


def test_expired_holds_return_their_seats_for_the_next_rush(pg_url, pg_session, clock):
    now = clock.now
    org = make_organization(pg_session, now=now)
    event = make_event(pg_session, organization=org, now=now, quantity=10)
    ticket_type = pg_session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    assert _rush(pg_url, ticket_type.id, now, buyers=30).count("ok") == 10

    # Two sweepers at once (two web workers) expire every hold exactly once.
    later = now + timedelta(minutes=16)
    engine = make_engine(pg_url)

    def sweep(_):
        with Session(engine, expire_on_commit=False) as session:
            return len(orders.expire_holds(session, now=later, limit=4))

    expired = 0
    for _ in range(5):
        with ThreadPoolExecutor(max_workers=2) as pool:
            expired += sum(pool.map(sweep, range(2)))
    engine.dispose()
    assert expired == 10
    pg_session.expire_all()
    assert pg_session.get(TicketType, ticket_type.id).reserved == 0
    statuses = pg_session.exec(select(Order.status)).all()
    assert set(statuses) == {OrderStatus.EXPIRED}

    assert _rush(pg_url, ticket_type.id, later, buyers=30).count("ok") == 10
    assert pg_session.exec(select(func.count()).select_from(Ticket)).one() == 0


def test_a_free_order_racing_the_events_cancellation_gets_no_tickets(pg_url, pg_session, clock):
    now = clock.now
    org = make_organization(pg_session, now=now)
    event = make_event(pg_session, organization=org, now=now, quantity=10, prices=(0,))
    ticket_type = pg_session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    engine = make_engine(pg_url)
    outcome = {}

    def buy():
        with Session(engine, expire_on_commit=False) as session:
            try:
                orders.place_order(
                    session, items=[(ticket_type.id, 1)], email="free@example.org", phone="+49 30 1234567", now=now
                )
                outcome["result"] = "paid"
            except EventNotOnSale:
                outcome["result"] = "not_on_sale"

    with Session(engine) as organizer:  # the cancellation holds the event row until it commits
        locked = organizer.exec(select(Event).where(Event.id == event.id).with_for_update()).one()
        buyer = threading.Thread(target=buy)
        buyer.start()
        time.sleep(0.5)  # the buyer has read the event as published and now waits on its row
        locked.status = EventStatus.CANCELLED
        organizer.add(locked)
        organizer.commit()
    buyer.join(timeout=10)
    engine.dispose()

    assert outcome == {"result": "not_on_sale"}
    assert pg_session.exec(select(func.count()).select_from(Ticket)).one() == 0
    assert pg_session.exec(select(func.count()).select_from(Order)).one() == 0
    pg_session.expire_all()
    assert pg_session.get(TicketType, ticket_type.id).reserved == 0
