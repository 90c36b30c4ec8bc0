"""The sweeper on SQLite: expired holds released batch by batch, seats, audit and checkouts as one."""

import asyncio
from contextlib import contextmanager
from datetime import timedelta

from sqlmodel import select

from bilten import live, tasks
from bilten.models import AuditEntry, Order, OrderStatus, Payment, PaymentStatus, TicketType
from bilten.payments import get_provider
from bilten.services import hold_sweep, orders
from bilten.services.sweeper_election import SweeperElection
from bilten.settings import get_settings
from tests.factories import make_event, make_organization


@contextmanager
def _settings(monkeypatch, **values):
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name in values:
            monkeypatch.delenv(name)
        get_settings.cache_clear()


def _shop(session, now):
    event = make_event(session, organization=make_organization(session, now=now), now=now, prices=(2500, 1000))
    return event, list(session.exec(select(TicketType).where(TicketType.event_id == event.id)).all())


def _hold(session, now, items, *, checkout=False):
    return orders.place_order(
        session,
        items=items,
        email="fan@example.org",
        phone="+49 30 1234567",
        now=now,
        provider=get_provider("test") if checkout else None,
    ).order


def test_a_batch_releases_only_holds_that_ran_out_and_gives_back_their_seats(session, now):
    event, (standard, reduced) = _shop(session, now)
    first = _hold(session, now, [(standard.id, 3), (reduced.id, 1)], checkout=True)
    second = _hold(session, now, [(reduced.id, 2)])
    young = _hold(session, now + timedelta(minutes=10), [(standard.id, 4)])

    released = hold_sweep.release_expired_batch(session, now=now + timedelta(minutes=15))

    assert [hold.order_id for hold in released] == [first.id, second.id]
    assert released[0].open_checkouts[0][0] == "test" and released[1].open_checkouts == []
    assert {hold.event_id for hold in released} == {event.id}
    session.expire_all()
    assert session.get(Order, first.id).status == OrderStatus.EXPIRED
    assert session.get(Order, second.id).status == OrderStatus.EXPIRED
    assert session.get(Order, young.id).status == OrderStatus.PENDING
    assert session.get(TicketType, standard.id).reserved == 4  # the young hold's seats only
    assert session.get(TicketType, reduced.id).reserved == 0
    assert session.exec(select(Payment.status)).one() == PaymentStatus.CANCELED
    audited = session.exec(select(AuditEntry.object_id).where(AuditEntry.action == "order.expired")).all()
    assert sorted(audited) == sorted([str(first.id), str(second.id)])
    assert hold_sweep.release_expired_batch(session, now=now + timedelta(minutes=15)) == []


def test_the_sweep_loops_batches_until_no_expired_hold_is_left(session, app_database, now, monkeypatch):
    _, (standard, _) = _shop(session, now)
    for _ in range(10):
        _hold(session, now, [(standard.id, 2)])

    with _settings(monkeypatch, SWEEP_BATCH_SIZE="4"):
        result = tasks.sweep(now + timedelta(minutes=16))

    assert result["expired"] == 10
    session.expire_all()
    assert set(session.exec(select(Order.status)).all()) == {OrderStatus.EXPIRED}
    assert session.get(TicketType, standard.id).reserved == 0


def test_open_event_pages_hear_the_seats_come_back(session, now):
    event, (standard, reduced) = _shop(session, now)
    _hold(session, now, [(standard.id, 5)])

    async def watch_the_sweep():
        async with live.subscription(live.inventory_channel(event.id)) as queue:
            hold_sweep.release_expired_batch(session, now=now + timedelta(minutes=15))
            return await asyncio.wait_for(queue.get(), 5)

    message = asyncio.run(watch_the_sweep())
    assert message["available"] == {str(standard.id): 100, str(reduced.id): 100}


def test_the_sweeper_rests_between_batches_in_proportion_to_their_time(session, app_database, now, monkeypatch):
    _, (standard, _) = _shop(session, now)
    for _ in range(10):
        _hold(session, now, [(standard.id, 1)])
    rests = []

    with _settings(monkeypatch, SWEEP_BATCH_SIZE="4", SWEEP_MIN_RATE="0"):
        released = tasks.release_expired_holds(now + timedelta(minutes=16), duty_cycle=0.25, sleep=rests.append)
        assert tasks.release_expired_holds(now + timedelta(minutes=16), duty_cycle=1, sleep=rests.append) == 0

    assert released == 10
    assert len(rests) == 2  # after each full batch (4 + 4), none after the last (2): nothing is left
    assert all(rest > 0 for rest in rests)


def test_the_sweeper_works_full_time_at_a_duty_cycle_of_one(session, app_database, now, monkeypatch):
    _, (standard, _) = _shop(session, now)
    for _ in range(10):
        _hold(session, now, [(standard.id, 1)])
    rests = []

    with _settings(monkeypatch, SWEEP_BATCH_SIZE="4", SWEEP_DUTY_CYCLE="1"):
        assert tasks.release_expired_holds(now + timedelta(minutes=16), sleep=rests.append) == 10

    assert rests == []


def test_on_sqlite_every_loop_releases_holds(app_database):
    """The embedded default (one process, no `bilten worker`): nothing to elect, holds still expire."""
    assert SweeperElection(app_database, preferred=False).leads()
    assert SweeperElection(app_database, preferred=True).leads()


def test_the_rests_never_take_the_sweeper_below_its_minimum_rate(session, app_database, now, monkeypatch):
    """4 holds a batch at 1 hold/s at least: a rest never exceeds 4 s minus the batch's own time,
    however slow the batch (a saturated machine), and a floor nobody can reach means no rest."""
    _, (standard, _) = _shop(session, now)
    for _ in range(10):
        _hold(session, now, [(standard.id, 1)])
    rests = []

    with _settings(monkeypatch, SWEEP_BATCH_SIZE="4", SWEEP_MIN_RATE="1"):
        assert tasks.release_expired_holds(now + timedelta(minutes=16), duty_cycle=0.0001, sleep=rests.append) == 8 + 2
    with _settings(monkeypatch, SWEEP_BATCH_SIZE="4", SWEEP_MIN_RATE="1000000000"):
        _hold(session, now, [(standard.id, 1)])
        for _ in range(4):
            _hold(session, now, [(standard.id, 1)])
        assert tasks.release_expired_holds(now + timedelta(minutes=16), duty_cycle=0.0001, sleep=rests.append) == 5

    assert len(rests) == 2 and all(0 < rest < 4 for rest in rests)
