"""The waiting list on PostgreSQL, through the REST API as people and organizers use it: joining a
sold-out type, freed seats held as offers (emailed through a real SMTP server), offers running out
and passing on, buying the offered seat, the organizer's list, export and settings, and races."""

from __future__ import annotations

import csv
import io
import re
import threading
import uuid
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from bilten import tasks
from bilten.models import (
    Answer,
    Membership,
    Order,
    OrderStatus,
    Role,
    TeamRole,
    TicketType,
    WaitingListEntry,
    WaitingState,
)
from bilten.notifications.worker import Delivery
from bilten.services import hold_sweep, waiting_list
from bilten.services.event_admin import TicketTypeFields, update_ticket_type
from bilten.services.seat_gate import seat_gate
from tests.factories import DEFAULT_PASSWORD, make_event, make_organization, make_user
from tests.integration.test_notifications_smtp import FAST, RunningWorkers, smtp_settings
from tests.notifications_support import SmtpSink, parts, wait_until
from tests.ratelimit_support import rate_limits_on

PHONE = "+44 20 7946 0958"


@pytest.fixture
def world(pg_session, clock):
    now = clock.now
    owner = make_user(pg_session, role=Role.ORGANIZER, now=now)
    viewer = make_user(pg_session, role=Role.ORGANIZER, now=now)
    stranger = make_user(pg_session, role=Role.ORGANIZER, now=now)
    org = make_organization(pg_session, members=(owner,), now=now)
    make_organization(pg_session, members=(stranger,), now=now)
    pg_session.add(Membership(organization_id=org.id, user_id=viewer.id, team_role=TeamRole.VIEWER, created_at=now))
    event = make_event(pg_session, organization=org, now=now, title="Gala", prices=(3000,), quantity=2)
    ticket_type = pg_session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    seat_gate.clear()
    yield {"owner": owner, "viewer": viewer, "stranger": stranger, "event": event, "type": ticket_type, "clock": clock}
    seat_gate.clear()


def bearer(client, user) -> dict[str, str]:
    tokens = client.post("/api/v1/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD}).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def buy(client, world, quantity=1, email="buyer@example.org"):
    items = [{"ticket_type_id": str(world["type"].id), "quantity": quantity}]
    return client.post("/api/v1/orders", json={"items": items, "email": email, "phone": PHONE})


def join(client, world, email, name="", **headers):
    world["clock"].now += timedelta(seconds=1)  # people join one after another: their place is their time
    body = {"ticket_type_id": str(world["type"].id), "email": email, "name": name}
    return client.post(f"/api/v1/events/{world['event'].id}/waiting-list", json=body, headers=headers)


def sell_out(client, world) -> list[dict]:
    placed = [buy(client, world, email=f"early{i}@example.org").json() for i in range(2)]
    assert all(order["status"] == "pending" for order in placed)
    return placed


def cancel(client, order) -> None:
    answer = client.post(f"/api/v1/orders/{order['id']}/cancel", headers={"X-Order-Token": order["access_token"]})
    assert answer.status_code == 200 and answer.json()["status"] == "cancelled"


def reserved(pg_session, world) -> int:
    pg_session.rollback()
    return pg_session.get(TicketType, world["type"].id, populate_existing=True).reserved


def entry_of(pg_session, email) -> WaitingListEntry:
    pg_session.rollback()
    query = select(WaitingListEntry).where(WaitingListEntry.email == email).order_by(col(WaitingListEntry.created_at))
    return pg_session.exec(query.execution_options(populate_existing=True)).all()[-1]


def test_joining_is_refused_while_tickets_are_on_sale_and_bad_input_is_named(client, world):
    on_sale = join(client, world, "early@example.org", **{"Accept-Language": "de"})
    assert on_sale.status_code == 409 and on_sale.json()["error"]["code"] == "tickets_on_sale"
    assert on_sale.json()["error"]["message"] == "Type 0 ist noch im Verkauf: Kaufen Sie Ihr Ticket, statt zu warten."
    sell_out(client, world)
    bad_email = join(client, world, "not-an-address")
    assert bad_email.status_code == 422 and bad_email.json()["error"]["code"] == "validation_error"
    other_event_type = {"ticket_type_id": str(world["event"].id), "email": "x@example.org"}
    unknown = client.post(f"/api/v1/events/{world['event'].id}/waiting-list", json=other_event_type)
    assert unknown.status_code == 404 or unknown.json()["error"]["code"] == "unknown_ticket_type"
    missing = client.post(f"/api/v1/events/{world['event'].id}/waiting-list", json={"email": "x@example.org"})
    assert missing.status_code == 422


def test_a_sold_out_type_takes_people_in_order_once_each(client, world):
    sell_out(client, world)
    first = join(client, world, "Ann@Example.org", name="Ann")
    assert first.status_code == 201, first.text
    assert first.json()["state"] == "waiting" and first.json()["position"] == 1
    second = join(client, world, "bob@example.org")
    assert second.json()["position"] == 2
    again = join(client, world, "ann@example.org")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_on_waiting_list"

    status = client.get(f"/api/v1/waiting-list/{second.json()['token']}")
    assert status.status_code == 200 and status.json()["position"] == 2 and status.json()["ticket_type"] == "Type 0"
    forged = second.json()["token"][:-4] + "AAAA"
    assert client.get(f"/api/v1/waiting-list/{forged}").status_code == 401
    assert client.get("/api/v1/waiting-list/nonsense").status_code == 401


def test_a_cancelled_order_becomes_an_emailed_held_offer_the_rush_cannot_take(client, world, pg_session, pg_engine):
    placed = sell_out(client, world)
    join(client, world, "ann@example.org", name="Ann")
    join(client, world, "bob@example.org")
    assert buy(client, world).json()["error"]["code"] == "sold_out"  # the gate learns "sold out"

    cancel(client, placed[0])

    ann = entry_of(pg_session, "ann@example.org")
    assert ann.state == WaitingState.OFFERED and ann.offer_expires_at == world["clock"].now + timedelta(hours=24)
    assert reserved(pg_session, world) == 2  # the freed seat is held by the offer, never free
    rush = buy(client, world, email="rush@example.org")
    assert rush.status_code == 409 and rush.json()["error"]["code"] == "sold_out"
    event = client.get(f"/api/v1/events/{world['event'].id}").json()
    assert event["ticket_types"][0]["available"] == 0
    assert entry_of(pg_session, "bob@example.org").state == WaitingState.WAITING

    with SmtpSink() as sink, RunningWorkers(Delivery(engine=pg_engine, settings=smtp_settings(sink), config=FAST)):
        wait_until(lambda: len(sink.messages) == 1, what="the offer email")
    message = sink.messages[0]
    assert message["To"] == "ann@example.org" and message["Subject"] == "A ticket for Gala is held for you"
    text = parts(message)["text/plain"][0].get_content()
    link = re.search(r"https://bilten\.test(/waiting-list/\S+)", text).group(1)
    status = client.get("/api/v1" + link).json()
    assert status["state"] == "offered" and status["position"] is None and status["offer_expires_at"]


def pay(client, order) -> None:
    paid = client.post(
        f"/api/v1/orders/{order['id']}/test-payment",
        json={"outcome": "succeeded"},
        headers={"X-Order-Token": order["access_token"]},
    )
    assert paid.json()["status"] == "paid"


def test_an_offer_that_runs_out_passes_to_the_next_person(client, world, pg_session, pg_app_database, clock):
    placed = sell_out(client, world)
    pay(client, placed[1])  # a sold seat: never comes back
    ann = join(client, world, "ann@example.org").json()
    join(client, world, "bob@example.org")
    cancel(client, placed[0])

    clock.now += timedelta(hours=23, minutes=59)
    assert tasks.sweep(now=clock.now)["offers_expired"] == 0
    clock.now += timedelta(minutes=2)
    assert tasks.sweep(now=clock.now)["offers_expired"] == 1

    assert client.get(f"/api/v1/waiting-list/{ann['token']}").json()["state"] == "expired"
    bob = entry_of(pg_session, "bob@example.org")
    assert bob.state == WaitingState.OFFERED and bob.offer_expires_at == clock.now + timedelta(hours=24)
    assert reserved(pg_session, world) == 2
    late = client.post(f"/api/v1/waiting-list/{ann['token']}/order", json={"phone": PHONE})
    assert late.status_code == 409 and late.json()["error"]["code"] == "offer_not_available"

    clock.now += timedelta(hours=25)  # nobody left in line: the seat goes back on sale
    assert tasks.sweep(now=clock.now)["offers_expired"] == 1
    assert reserved(pg_session, world) == 1  # the paid seat
    assert buy(client, world).status_code == 201


def test_the_offered_seat_is_bought_by_its_link_exactly_once(client, world, pg_session):
    placed = sell_out(client, world)
    ann = join(client, world, "ann@example.org", name="Ann").json()
    cancel(client, placed[1])

    bought = client.post(f"/api/v1/waiting-list/{ann['token']}/order", json={"phone": PHONE})
    assert bought.status_code == 201, bought.text
    order = bought.json()
    assert order["status"] == "pending" and order["total"] == 3000 and order["email"] == "ann@example.org"
    assert reserved(pg_session, world) == 2  # the order took over the held seat, no new one
    paid = client.post(
        f"/api/v1/orders/{order['id']}/test-payment",
        json={"outcome": "succeeded"},
        headers={"X-Order-Token": order["access_token"]},
    ).json()
    assert paid["status"] == "paid" and len(paid["tickets"]) == 1
    assert paid["tickets"][0]["ticket_type_id"] == str(world["type"].id)
    again = client.post(f"/api/v1/waiting-list/{ann['token']}/order", json={"phone": PHONE})
    assert again.status_code == 409 and again.json()["error"]["code"] == "offer_not_available"
    status = client.get(f"/api/v1/waiting-list/{ann['token']}").json()
    assert status["state"] == "redeemed" and status["order_id"] == order["id"]
    assert reserved(pg_session, world) == 2


def test_an_offer_on_an_event_with_required_questions_is_bought_with_its_answers(client, world, pg_session):
    placed = sell_out(client, world)
    owner = bearer(client, world["owner"])  # the organizer asks once the early buyers are in
    asked = {"label": "Dietary needs", "kind": "text", "required": True, "per_ticket": True}
    question = client.post(f"/api/v1/events/{world['event'].id}/questions", json=asked, headers=owner).json()
    ann = join(client, world, "ann@example.org", name="Ann").json()
    cancel(client, placed[1])
    path = f"/api/v1/waiting-list/{ann['token']}/order"

    unanswered = client.post(path, json={"phone": PHONE}, headers={"Accept-Language": "de"})
    assert unanswered.status_code == 422, unanswered.text
    error = unanswered.json()["error"]
    assert error["code"] == "invalid_answer" and error["question_id"] == question["id"]
    assert error["question"] == "Dietary needs" and error["ticket_index"] == 0 and "Dietary needs" in error["message"]
    assert entry_of(pg_session, "ann@example.org").state == WaitingState.OFFERED  # the offer stays
    assert reserved(pg_session, world) == 2  # and so does its held seat: nobody else can take it
    answers = [{"question_id": question["id"], "value": "Vegan", "ticket_index": 0}]
    items = [{"ticket_type_id": str(world["type"].id), "quantity": 1}]
    rush = client.post(
        "/api/v1/orders", json={"items": items, "email": "rush@example.org", "phone": PHONE, "answers": answers}
    )
    assert rush.status_code == 409 and rush.json()["error"]["code"] == "sold_out"

    bought = client.post(path, json={"phone": PHONE, "answers": answers})
    assert bought.status_code == 201, bought.text
    order = bought.json()
    assert order["email"] == "ann@example.org" and reserved(pg_session, world) == 2
    stored = pg_session.exec(select(Answer).where(Answer.order_id == uuid.UUID(order["id"]))).all()
    assert [(str(a.question_id), a.ticket_index, a.value) for a in stored] == [(question["id"], 0, "Vegan")]
    read = client.get(f"/api/v1/orders/{order['id']}/answers", headers={"X-Order-Token": order["access_token"]})
    assert read.status_code == 200 and [a["value"] for a in read.json()] == ["Vegan"]
    assert entry_of(pg_session, "ann@example.org").state == WaitingState.REDEEMED


def test_expired_holds_from_the_sweeper_become_offers(client, world, pg_session, pg_app_database, clock):
    sell_out(client, world)  # two pending orders, holding both seats
    join(client, world, "ann@example.org")
    clock.now += timedelta(hours=2)
    with Session(pg_app_database) as session:
        released = hold_sweep.release_expired_batch(session, now=clock.now)
    assert len(released) == 2
    assert entry_of(pg_session, "ann@example.org").state == WaitingState.OFFERED
    assert reserved(pg_session, world) == 1  # one seat held by Ann's offer, the other back on sale
    assert buy(client, world).status_code == 201
    assert buy(client, world).json()["error"]["code"] == "sold_out"


def test_a_raised_quantity_goes_to_the_people_in_line_first(client, world, pg_session):
    sell_out(client, world)
    for name in ("ann", "bob", "cy"):
        join(client, world, f"{name}@example.org")
    with Session(pg_session.get_bind()) as session:
        owner = session.get(type(world["owner"]), world["owner"].id)
        update_ticket_type(
            session,
            actor=owner,
            event_id=world["event"].id,
            ticket_type_id=world["type"].id,
            fields=TicketTypeFields(quantity=6),
            now=world["clock"].now,
        )
    states = [entry_of(pg_session, f"{name}@example.org").state for name in ("ann", "bob", "cy")]
    assert states == [WaitingState.OFFERED] * 3
    assert reserved(pg_session, world) == 5
    assert client.get(f"/api/v1/events/{world['event'].id}").json()["ticket_types"][0]["available"] == 1


def test_the_organizer_reads_exports_prunes_and_switches_off_the_list(client, world, pg_session):
    placed = sell_out(client, world)
    join(client, world, "ann@example.org", name="=HYPERLINK(1)")
    join(client, world, "bob@example.org", name="Bob")
    cancel(client, placed[0])
    owner, viewer, stranger = (bearer(client, world[who]) for who in ("owner", "viewer", "stranger"))
    path = f"/api/v1/events/{world['event'].id}/waiting-list"

    assert client.get(path).status_code == 401
    assert client.get(path, headers=stranger).status_code in (403, 404)
    assert client.get(path + ".csv", headers=stranger).status_code in (403, 404)
    rows = client.get(path, headers=viewer).json()
    assert [(row["email"], row["state"], row["position"]) for row in rows] == [
        ("ann@example.org", "offered", None),
        ("bob@example.org", "waiting", 1),
    ]
    exported = client.get(path + ".csv", headers=owner)
    assert exported.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(exported.text)))
    assert lines[0][:3] == ["position", "ticket_type", "email"]
    assert lines[1][2:5] == ["ann@example.org", "'=HYPERLINK(1)", "offered"]  # no formula runs

    assert client.delete(f"{path}/{rows[0]['id']}", headers=viewer).status_code == 403
    assert client.delete(f"{path}/{rows[0]['id']}", headers=stranger).status_code in (403, 404)
    assert client.delete(f"{path}/{rows[0]['id']}", headers=owner).status_code == 204
    assert entry_of(pg_session, "bob@example.org").state == WaitingState.OFFERED  # Ann's seat passed on
    assert reserved(pg_session, world) == 2

    settings = client.get(path + "/settings", headers=owner).json()
    assert settings == {"enabled": True, "offer_hours": 24}
    bad = client.put(path + "/settings", json={"enabled": True, "offer_hours": 0}, headers=owner)
    assert bad.status_code == 422 and "between 1 and 336 hours" in bad.json()["error"]["message"]
    assert client.put(path + "/settings", json={"enabled": False, "offer_hours": 6}, headers=viewer).status_code == 403
    off = client.put(path + "/settings", json={"enabled": False, "offer_hours": 6}, headers=owner)
    assert off.json() == {"enabled": False, "offer_hours": 6}
    closed = join(client, world, "cy@example.org")
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "waiting_list_closed"


def test_offers_follow_the_settings_validity(client, world, pg_session):
    owner = bearer(client, world["owner"])
    path = f"/api/v1/events/{world['event'].id}/waiting-list/settings"
    client.put(path, json={"enabled": True, "offer_hours": 3}, headers=owner)
    placed = sell_out(client, world)
    join(client, world, "ann@example.org")
    cancel(client, placed[0])
    ann = entry_of(pg_session, "ann@example.org")
    assert ann.offer_expires_at - ann.offered_at == timedelta(hours=3)


def test_seats_freed_at_once_go_to_different_people(client, world, pg_session, pg_engine):
    """Two cancellations commit at the same moment: each freed seat goes to its own person in line
    (SKIP LOCKED), nobody is offered twice, and no seat is lost."""
    placed = sell_out(client, world)
    for name in ("ann", "bob", "cy"):
        join(client, world, f"{name}@example.org")
    barrier = threading.Barrier(2)
    errors = []

    def cancel_in_thread(order):
        try:
            barrier.wait()
            cancel(client, order)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=cancel_in_thread, args=(order,)) for order in placed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    states = [entry_of(pg_session, f"{name}@example.org").state for name in ("ann", "bob", "cy")]
    assert states == [WaitingState.OFFERED, WaitingState.OFFERED, WaitingState.WAITING]
    assert reserved(pg_session, world) == 2


def test_two_concurrent_sweeps_pass_each_expired_offer_on_once(client, world, pg_session, pg_engine, clock):
    placed = sell_out(client, world)
    for name in ("ann", "bob", "cy", "dee"):
        join(client, world, f"{name}@example.org")
    for order in placed:
        cancel(client, order)  # Ann and Bob hold offers
    clock.now += timedelta(hours=25)
    barrier = threading.Barrier(2)
    counts = []

    def sweep():
        with Session(pg_engine) as session:
            barrier.wait()
            counts.append(waiting_list.expire_offers(session, now=clock.now))

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 2
    states = [entry_of(pg_session, f"{name}@example.org").state for name in ("ann", "bob", "cy", "dee")]
    assert states == [WaitingState.EXPIRED, WaitingState.EXPIRED, WaitingState.OFFERED, WaitingState.OFFERED]
    assert reserved(pg_session, world) == 2
    pg_session.rollback()
    orders = pg_session.exec(select(Order).where(Order.event_id == world["event"].id)).all()
    assert {order.status for order in orders} == {OrderStatus.CANCELLED}


def test_joins_are_rate_limited_per_address_and_per_email(client, world):
    sell_out(client, world)
    with rate_limits_on(RATE_LIMIT_WAITING_LIST_ACCOUNT="2/hour"):
        answers = [join(client, world, "same@example.org") for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 409, 429]
    assert answers[-1].json()["error"]["code"] == "rate_limited" and answers[-1].headers["retry-after"]
    with rate_limits_on(RATE_LIMIT_WAITING_LIST="3/minute"):
        answers = [join(client, world, f"person{n}@example.org") for n in range(4)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429]


def test_an_organizers_refund_hands_the_seat_to_the_next_in_line(client, world, pg_session):
    placed = sell_out(client, world)
    pay(client, placed[0])
    join(client, world, "ann@example.org")
    refunded = client.post(f"/api/v1/orders/{placed[0]['id']}/cancel", headers=bearer(client, world["owner"]))
    assert refunded.status_code == 200 and refunded.json()["status"] == "refunded"
    assert entry_of(pg_session, "ann@example.org").state == WaitingState.OFFERED
    assert reserved(pg_session, world) == 2
    assert buy(client, world).json()["error"]["code"] == "sold_out"
