"""The sweeper on PostgreSQL: expired holds released in batches exactly once, with the right seats,
by one sweeper at a time, while buyers keep buying and payers keep their orders."""

import random
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, text
from sqlmodel import Session, select

from bilten import tasks
from bilten.models import AuditEntry, Order, OrderLine, OrderStatus, Payment, PaymentStatus, TicketType
from bilten.payments import get_provider
from bilten.services import hold_sweep, orders, sweeper_election
from bilten.services.sweeper_election import SweeperElection
from tests.factories import make_event, make_organization

HOLDS = 450  # more than two batches each for two sweepers


@pytest.fixture
def sweeper_database(pg_app_database):
    """`tasks` opens its sessions on the test database."""
    return pg_app_database


def _event_with_two_types(session, now):
    org = make_organization(session, now=now)
    event = make_event(session, organization=org, now=now, quantity=5000, prices=(2500, 1000))
    types = session.exec(select(TicketType).where(TicketType.event_id == event.id).order_by(TicketType.position)).all()
    return list(types)


def _place_holds(session, types, now, count):
    """`count` pending orders of 1-3 seats of one or both types; every tenth with an open checkout."""
    rng = random.Random(13)
    placed = []
    for n in range(count):
        chosen = types if n % 3 == 0 else [rng.choice(types)]
        items = [(ticket_type.id, rng.randint(1, 3)) for ticket_type in chosen]
        provider = get_provider("test") if n % 10 == 0 else None
        order = orders.place_order(
            session, items=items, email=f"hold{n}@example.org", phone="+49 30 1234567", now=now, provider=provider
        ).order
        placed.append(order.id)
    return placed


def _reserved(session, types):
    session.expire_all()
    return {t.id: session.exec(select(TicketType.reserved).where(TicketType.id == t.id)).one() for t in types}


def _seats_in_live_orders(session, types):
    rows = session.exec(
        select(OrderLine.ticket_type_id, func.sum(OrderLine.quantity))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.status.in_([OrderStatus.PENDING, OrderStatus.PAID]))
        .group_by(OrderLine.ticket_type_id)
    ).all()
    seats = {t.id: 0 for t in types}
    seats.update({type_id: int(total) for type_id, total in rows})
    return seats


def test_two_sweepers_at_once_release_each_hold_once_and_exactly_its_seats_while_a_buyer_buys(
    pg_session, sweeper_database, clock
):
    now = clock.now
    types = _event_with_two_types(pg_session, now)
    holds = _place_holds(pg_session, types, now, HOLDS)
    later = now + timedelta(minutes=16)  # every hold above ran out

    bought, buying_done, start = [], threading.Event(), threading.Barrier(3)

    def buyer():
        start.wait()
        with Session(sweeper_database, expire_on_commit=False) as session:
            while not buying_done.is_set():
                order = orders.place_order(
                    session,
                    items=[(types[len(bought) % 2].id, 2)],
                    email="b@example.org",
                    phone="+49 30 1234567",
                    now=later,
                ).order
                bought.append(order.id)

    released = []

    def sweeper():
        start.wait()
        released.append(tasks.release_expired_holds(later))

    threads = [threading.Thread(target=buyer), threading.Thread(target=sweeper), threading.Thread(target=sweeper)]
    for thread in threads:
        thread.start()
    for thread in threads[1:]:
        thread.join(60)
    buying_done.set()
    threads[0].join(60)

    # Both may have taken turns; the holds released add up to exactly the expired ones.
    assert sum(released) == HOLDS
    assert bought, "the buyer kept buying during the sweep"
    statuses = dict(pg_session.exec(select(Order.id, Order.status)).all())
    assert {statuses[order_id] for order_id in holds} == {OrderStatus.EXPIRED}
    assert {statuses[order_id] for order_id in bought} == {OrderStatus.PENDING}
    expiries = Counter(pg_session.exec(select(AuditEntry.object_id).where(AuditEntry.action == "order.expired")).all())
    assert expiries == Counter({str(order_id): 1 for order_id in holds})
    # The counters hold exactly the seats of the buyer's orders: nothing given back twice or missed.
    assert _reserved(pg_session, types) == _seats_in_live_orders(pg_session, types)
    assert sum(_reserved(pg_session, types).values()) == 2 * len(bought)
    checkouts = pg_session.exec(select(Payment.status).where(Payment.order_id.in_(holds))).all()
    assert len(checkouts) == HOLDS // 10
    assert set(checkouts) == {PaymentStatus.CANCELED}


def test_an_order_being_paid_is_skipped_and_released_by_a_later_sweep(pg_session, sweeper_database, clock):
    now = clock.now
    types = _event_with_two_types(pg_session, now)
    paying, other = _place_holds(pg_session, types, now, 2)
    later = now + timedelta(minutes=16)

    with Session(sweeper_database) as payment_in_progress:  # holds the order's row as a payment does
        payment_in_progress.execute(select(Order).where(Order.id == paying).with_for_update())
        assert tasks.release_expired_holds(later) == 1
        pg_session.expire_all()
        assert pg_session.get(Order, paying).status == OrderStatus.PENDING
        assert pg_session.get(Order, other).status == OrderStatus.EXPIRED

    assert tasks.release_expired_holds(later) == 1
    pg_session.expire_all()
    assert pg_session.get(Order, paying).status == OrderStatus.EXPIRED
    assert sum(_reserved(pg_session, types).values()) == 0


def test_a_sweeper_gives_way_while_another_one_works(pg_session, sweeper_database, clock):
    now = clock.now
    types = _event_with_two_types(pg_session, now)
    _place_holds(pg_session, types, now, 3)
    later = now + timedelta(minutes=16)

    with Session(sweeper_database) as other_sweeper:
        other_sweeper.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": hold_sweep.SWEEPER_LOCK_KEY})
        with Session(sweeper_database) as session:
            assert hold_sweep.release_expired_batch(session, now=later) is None
        assert pg_session.exec(select(func.count()).where(Order.status == OrderStatus.PENDING)).one() == 3
        other_sweeper.rollback()  # the other sweeper's batch ends

    with Session(sweeper_database) as session:
        assert len(hold_sweep.release_expired_batch(session, now=later)) == 3
    assert sum(_reserved(pg_session, types).values()) == 0


def test_the_sweep_walks_the_partial_index_of_pending_holds(pg_session, sweeper_database):
    pg_session.execute(text("SET LOCAL enable_seqscan = off"))  # a nearly empty table: scan it anyway
    plan = pg_session.execute(
        text(
            "EXPLAIN SELECT id FROM ticket_order WHERE ticket_order.status = 'pending' "
            "AND hold_expires_at <= now() ORDER BY hold_expires_at LIMIT 200"
        )
    ).all()
    pg_session.rollback()
    assert "ix_ticket_order_pending_hold" in "\n".join(line for (line,) in plan)


def test_one_process_leads_the_sweep_and_a_bilten_worker_takes_over_from_the_web_workers(pg_engine):
    web_a = SweeperElection(pg_engine, preferred=False)
    web_b = SweeperElection(pg_engine, preferred=False)
    worker = SweeperElection(pg_engine, preferred=True)
    try:
        assert [web_a.leads(), web_b.leads(), web_a.leads(), web_b.leads()] == [True, False, True, False]

        # A `bilten worker` starts: the leading web worker gives way at its next turn, the worker leads.
        assert worker.leads() is False  # the web worker still holds the lead
        assert web_a.leads() is False and web_b.leads() is False
        assert worker.leads() is True
        assert [web_a.leads(), web_b.leads(), worker.leads()] == [False, False, True]

        # The worker stops (or dies: its connection closes): a web worker takes over at its next turn.
        worker.close()
        _wait_until_the_server_let_go(pg_engine, sweeper_election.WORKER_PRESENT_LOCK_KEY)
        assert [web_b.leads(), web_a.leads(), web_b.leads()] == [True, False, True]
    finally:
        for election in (web_a, web_b, worker):
            election.close()


def test_a_lost_election_connection_gives_up_the_lead_and_a_new_one_is_opened(pg_engine):
    first, second = SweeperElection(pg_engine, preferred=False), SweeperElection(pg_engine, preferred=False)
    try:
        assert first.leads() is True
        with pg_engine.connect() as admin:  # the leader's connection is killed (a restart, a network cut)
            admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = :low "
                    "AND pid <> pg_backend_pid()"
                ),
                {"low": sweeper_election.LEAD_LOCK_KEY & 0xFFFFFFFF},
            )
        _wait_until_the_server_let_go(pg_engine, sweeper_election.LEAD_LOCK_KEY)
        assert second.leads() is True
        assert first.leads() is False  # notices, reconnects, and finds the lead taken
        assert first.leads() is False
    finally:
        first.close()
        second.close()


def _wait_until_the_server_let_go(engine, key):
    """A closed connection's backend frees its locks a moment after the client hung up."""
    deadline = time.monotonic() + 10
    with engine.connect() as connection:
        while connection.execute(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :low"),
            {"low": key & 0xFFFFFFFF},
        ).scalar_one():
            assert time.monotonic() < deadline, "the lock was never freed"
            connection.rollback()
            time.sleep(0.01)
