"""The outbox dispatcher on PostgreSQL: SKIP LOCKED between dispatchers, duplicates ignored."""

from __future__ import annotations

import time

from sqlmodel import Session, select

from bilten.models import Notification, OutboxEvent
from bilten.notifications.outbox import dispatch_outbox
from tests.factories import make_user
from tests.notifications_support import emit


def test_a_second_dispatcher_skips_events_another_one_holds_instead_of_waiting(pg_engine, pg_session, now):
    users = [make_user(pg_session, now=now) for _ in range(3)]
    for user in users:
        emit(pg_session, "user.registered", {"user_id": str(user.id)}, now)

    with Session(pg_engine) as first:
        held = first.exec(select(OutboxEvent).with_for_update()).all()  # a dispatcher busy with them
        assert len(held) == 3
        started = time.monotonic()
        with Session(pg_engine) as second:
            assert dispatch_outbox(second, now=now) == []
        assert time.monotonic() - started < 1  # no lock wait
        first.rollback()

    with Session(pg_engine) as second:
        assert len(dispatch_outbox(second, now=now)) == 3


def test_an_event_emitted_twice_still_makes_one_notification(pg_engine, pg_session, now):
    user = make_user(pg_session, now=now)
    emit(pg_session, "user.registered", {"user_id": str(user.id)}, now)
    emit(pg_session, "user.registered", {"user_id": str(user.id)}, now)
    with Session(pg_engine) as session:
        created = dispatch_outbox(session, now=now)
    assert len(created) == 1
    assert len(pg_session.exec(select(Notification)).all()) == 1
