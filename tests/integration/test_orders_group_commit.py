"""Orders that arrive together share one transaction on PostgreSQL (group commit), and each buyer
still gets their own answer: a refused buyer in the middle of a batch loses nothing for the others,
and a batch whose seats do not all fit never oversells."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import text
from sqlmodel import Session, func, select

from bilten.db import make_engine
from bilten.models import Order, OrderStatus, Ticket, TicketType
from bilten.services import orders
from bilten.services.errors import QuantityOutOfRange, SoldOut
from bilten.services.orders.placing import orders_waiting_to_commit
from tests.factories import make_event, make_organization


def _wait_until(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _buy_together(pg_url, ticket_type_id, now, quantities, *, queued=True):
    """The first buyer's transaction is held up on the seat counter (another transaction locks its
    row); the rest arrive meanwhile and queue, then go as one batch once the row is free.
    Returns each buyer's answer: the order, or the error's class name."""
    engine = make_engine(pg_url)
    answers = {}

    def buy(n):
        with Session(engine, expire_on_commit=False) as session:
            try:
                placed = orders.place_order(
                    session,
                    items=[(ticket_type_id, quantities[n])],
                    email=f"buyer{n}@example.org",
                    phone="+49 30 1234567",
                    now=now,
                )
                answers[n] = placed.order
            except (SoldOut, QuantityOutOfRange) as exc:
                answers[n] = type(exc).__name__

    with engine.connect() as blocker, engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
        blocker.execute(text("SELECT 1 FROM ticket_type WHERE id = :id FOR UPDATE"), {"id": ticket_type_id})
        with ThreadPoolExecutor(max_workers=len(quantities)) as pool:
            pool.submit(buy, 0)
            _wait_until(lambda: _waiting_for_a_lock(watcher) == 1)  # the first batch waits on the row
            for n in range(1, len(quantities)):
                pool.submit(buy, n)
            if queued:
                _wait_until(lambda: orders_waiting_to_commit((ticket_type_id,)) == len(quantities) - 1)
            else:  # each in a transaction of its own, all waiting on the row
                _wait_until(lambda: _waiting_for_a_lock(watcher) == len(quantities))
            blocker.rollback()  # the row is free: the first batch commits, the queued ones go next
    engine.dispose()
    return answers


def _waiting_for_a_lock(connection):
    return connection.execute(
        text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
    ).scalar_one()


def _transactions_of(session, order_ids):
    """The PostgreSQL transactions that inserted these orders (xmin): one for a shared commit."""
    rows = session.execute(
        text("SELECT DISTINCT xmin::text FROM ticket_order WHERE id = ANY(:ids)"), {"ids": list(order_ids)}
    ).all()
    return len(rows)


def test_a_buyer_refused_in_the_middle_of_a_batch_costs_the_others_nothing(pg_url, pg_session, clock):
    now = clock.now
    event = make_event(pg_session, organization=make_organization(pg_session, now=now), now=now, quantity=100)
    ticket_type = pg_session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    # Buyer 4 asks for more than one order may hold (max 10 per order).
    quantities = [1, 2, 1, 3, 11, 1, 2, 1]

    answers = _buy_together(pg_url, ticket_type.id, now, quantities)

    assert answers[4] == "QuantityOutOfRange"
    placed = {n: order for n, order in answers.items() if n != 4}
    assert all(isinstance(order, Order) for order in placed.values())
    for n, order in placed.items():
        assert order.buyer_email == f"buyer{n}@example.org"
        assert order.total_minor == quantities[n] * 2500
        assert order.status == OrderStatus.PENDING
    batch = [order.id for n, order in placed.items() if n != 0]
    assert _transactions_of(pg_session, batch) == 1  # the six that queued committed together
    assert _transactions_of(pg_session, [placed[0].id, batch[0]]) == 2
    pg_session.expire_all()
    assert pg_session.get(TicketType, ticket_type.id).reserved == sum(quantities) - 11
    assert pg_session.exec(select(func.count()).select_from(Order)).one() == 7
    assert pg_session.exec(select(Order).where(Order.buyer_email == "buyer4@example.org")).first() is None


def test_a_batch_whose_seats_do_not_all_fit_is_judged_buyer_by_buyer(pg_url, pg_session, clock):
    now = clock.now
    event = make_event(pg_session, organization=make_organization(pg_session, now=now), now=now, quantity=6)
    ticket_type = pg_session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    # 1 seat for the first buyer, then 7 buyers of 1 seat for the 5 left.
    answers = _buy_together(pg_url, ticket_type.id, now, [1] * 8)

    sold = [order for order in answers.values() if isinstance(order, Order)]
    assert len(sold) == 6
    assert list(answers.values()).count("SoldOut") == 2
    pg_session.expire_all()
    assert pg_session.get(TicketType, ticket_type.id).reserved == 6
    assert pg_session.exec(select(func.count()).select_from(Order)).one() == 6


def test_free_orders_arriving_together_are_each_paid_with_their_tickets(pg_url, pg_session, clock):
    now = clock.now
    event = make_event(
        pg_session, organization=make_organization(pg_session, now=now), now=now, quantity=20, prices=(0,)
    )
    ticket_type = pg_session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()

    # A free order issues its tickets at once, so it is placed in a transaction of its own.
    answers = _buy_together(pg_url, ticket_type.id, now, [1, 2, 1, 1], queued=False)

    assert {order.status for order in answers.values()} == {OrderStatus.PAID}
    assert pg_session.exec(select(func.count()).select_from(Ticket)).one() == 5
    pg_session.expire_all()
    assert pg_session.get(TicketType, ticket_type.id).reserved == 5


def test_a_rush_over_many_threads_sells_each_seat_once(pg_url, pg_session, clock):
    """No lock held up: batches form by themselves while 60 buyers race for 40 seats, 1 or 2 each."""
    now = clock.now
    event = make_event(pg_session, organization=make_organization(pg_session, now=now), now=now, quantity=40)
    ticket_type = pg_session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    engine = make_engine(pg_url)
    start = threading.Barrier(60)

    def buy(n):
        start.wait()
        with Session(engine, expire_on_commit=False) as session:
            try:
                orders.place_order(
                    session,
                    items=[(ticket_type.id, 1 + n % 2)],
                    email=f"b{n}@example.org",
                    phone="+49 30 1234567",
                    now=now,
                )
                return 1 + n % 2
            except SoldOut:
                return 0

    with ThreadPoolExecutor(max_workers=60) as pool:
        seats = list(pool.map(buy, range(60)))
    engine.dispose()
    pg_session.expire_all()
    reserved = pg_session.get(TicketType, ticket_type.id).reserved
    assert reserved == sum(seats) <= 40
    assert reserved >= 39  # a refusal leaves at most the one seat a 2-seat buyer could not take
    in_orders = pg_session.execute(text("SELECT coalesce(sum(quantity), 0) FROM order_line")).scalar_one()
    assert in_orders == reserved
