"""Vouchers on PostgreSQL through the REST API: the use limit under a rush, uses given back by
expiry and cancellation, the organizers' CRUD with its refusals, and code guessing per address."""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from bilten.api import api
from bilten.api.deps import get_now, get_session
from bilten.i18n import translate
from bilten.models import Membership, Order, OrderStatus, Role, TeamRole, TicketType, Voucher
from bilten.services import hold_sweep
from tests.factories import DEFAULT_PASSWORD, make_event, make_organization, make_user
from tests.ratelimit_support import ThreadedServer, client_from, rate_limits_on

pytestmark = pytest.mark.postgres

BUYERS = 20
USES_LEFT = 4


@pytest.fixture
def world(pg_session, clock):
    now = clock.now
    owner = make_user(pg_session, role=Role.ORGANIZER, now=now)
    viewer = make_user(pg_session, role=Role.ORGANIZER, now=now)
    stranger = make_user(pg_session, role=Role.ORGANIZER, now=now)
    org = make_organization(pg_session, members=(owner,), now=now)
    make_organization(pg_session, members=(stranger,), now=now)
    pg_session.add(Membership(organization_id=org.id, user_id=viewer.id, team_role=TeamRole.VIEWER, created_at=now))
    pg_session.commit()
    event = make_event(pg_session, organization=org, now=now, prices=(2500, 4000), quantity=100)
    standard, vip = pg_session.exec(
        select(TicketType).where(TicketType.event_id == event.id).order_by(TicketType.position)
    ).all()
    vip.is_hidden = True
    pg_session.add(vip)
    pg_session.commit()
    return {
        "owner": owner,
        "viewer": viewer,
        "stranger": stranger,
        "event": event,
        "standard": standard,
        "vip": vip,
        "now": now,
    }


def bearer(client, user) -> dict[str, str]:
    tokens = client.post("/api/v1/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD}).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def vouchers_url(world) -> str:
    return f"/api/v1/events/{world['event'].id}/vouchers"


def order_body(ticket_type, quantity=1, voucher=None, email="guest@example.org"):
    body = {
        "items": [{"ticket_type_id": str(ticket_type.id), "quantity": quantity}],
        "email": email,
        "phone": "+44 20 7946 0958",
    }
    if voucher is not None:
        body["voucher"] = voucher
    return body


@pytest.fixture
def live_api(pg_engine, pg_session, clock) -> Iterator[str]:
    """The REST API served over HTTP by uvicorn on the test database: real concurrent requests."""

    def session_override():
        with Session(pg_engine, expire_on_commit=False) as session:
            yield session

    api.dependency_overrides[get_session] = session_override
    api.dependency_overrides[get_now] = clock
    try:
        with ThreadedServer(api) as server:
            yield server.base_url
    finally:
        api.dependency_overrides.clear()


# -- the rush -----------------------------------------------------------------------------------


def test_twenty_buyers_at_once_on_four_uses_left_get_exactly_four_discounts(live_api, client, world, pg_session):
    owner = bearer(client, world["owner"])
    made = client.post(
        vouchers_url(world), json={"code": "RUSH", "discount_percent": 50, "max_uses": 10}, headers=owner
    ).json()
    pg_session.exec(update(Voucher).where(Voucher.id == made["id"]).values(used=10 - USES_LEFT))
    pg_session.commit()

    def buy(n):
        with client_from(live_api, f"127.0.0.{60 + n}") as buyer:
            return buyer.post("/api/v1/orders", json=order_body(world["standard"], 2, "rush", f"b{n}@example.org"))

    started = time.monotonic()
    with ThreadPoolExecutor(BUYERS) as pool:
        answers = list(pool.map(buy, range(BUYERS)))
    took = time.monotonic() - started

    outcome = Counter(
        r.status_code if r.status_code == 201 else (r.status_code, r.json()["error"]["code"]) for r in answers
    )
    assert outcome == {201: USES_LEFT, (409, "voucher_exhausted"): BUYERS - USES_LEFT}, outcome
    discounted = [r.json() for r in answers if r.status_code == 201]
    assert all(o["total"] == 2 * 1250 and o["discount"] == 2 * 1250 and o["voucher"] == "RUSH" for o in discounted)
    refused = next(r for r in answers if r.status_code == 409)
    assert refused.json()["error"]["message"] == translate("error.voucher_exhausted", "en")
    pg_session.expire_all()
    assert pg_session.get(Voucher, made["id"]).used == 10
    # The refused buyers held no seats: only the four orders' tickets are taken.
    assert pg_session.get(TicketType, world["standard"].id).reserved == 2 * USES_LEFT
    assert len(pg_session.exec(select(Order).where(Order.voucher_id == made["id"])).all()) == USES_LEFT
    print(f"{BUYERS} buyers on {USES_LEFT} uses left, answered in {took:.2f} s: {dict(outcome)}")


# -- uses come back -----------------------------------------------------------------------------


def test_expired_holds_give_their_uses_back_through_the_sweeper(client, world, pg_session, clock):
    owner = bearer(client, world["owner"])
    made = client.post(
        vouchers_url(world), json={"code": "TWICE", "discount_amount": 500, "max_uses": 2}, headers=owner
    ).json()
    for n in range(2):
        placed = client.post("/api/v1/orders", json=order_body(world["standard"], voucher="TWICE", email=f"h{n}@x.org"))
        assert placed.status_code == 201 and placed.json()["total"] == 2000
    third = client.post("/api/v1/orders", json=order_body(world["standard"], voucher="TWICE"))
    assert third.status_code == 409 and third.json()["error"]["code"] == "voucher_exhausted"

    released = hold_sweep.release_expired_batch(pg_session, now=clock.now + timedelta(hours=1))
    assert len(released) == 2
    pg_session.expire_all()
    assert pg_session.get(Voucher, made["id"]).used == 0
    listed = client.get(vouchers_url(world), headers=owner).json()
    assert [(v["code"], v["used"], v["max_uses"]) for v in listed] == [("TWICE", 0, 2)]
    again = client.post("/api/v1/orders", json=order_body(world["standard"], voucher="twice"))
    assert again.status_code == 201 and again.json()["discount"] == 500


def test_a_cancelled_order_gives_its_use_back(client, world, pg_session):
    owner = bearer(client, world["owner"])
    made = client.post(vouchers_url(world), json={"code": "ONCE", "price": 1000, "max_uses": 1}, headers=owner).json()
    placed = client.post("/api/v1/orders", json=order_body(world["standard"], 3, voucher="ONCE")).json()
    assert placed["total"] == 3000 and placed["discount"] == 3 * 1500
    cancelled = client.post(f"/api/v1/orders/{placed['id']}/cancel", params={"token": placed["access_token"]})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    pg_session.expire_all()
    assert pg_session.get(Voucher, made["id"]).used == 0
    paid = client.post("/api/v1/orders", json=order_body(world["standard"], voucher="ONCE")).json()
    client.post(
        f"/api/v1/orders/{paid['id']}/test-payment",
        json={"outcome": "succeeded"},
        params={"token": paid["access_token"]},
    )
    refunded = client.post(f"/api/v1/orders/{paid['id']}/cancel", headers=owner)
    assert refunded.status_code == 200 and refunded.json()["status"] in ("refunded", "cancelled")
    pg_session.expire_all()
    assert pg_session.get(Voucher, made["id"]).used == 0
    assert pg_session.get(Order, paid["id"]).status in (OrderStatus.REFUNDED, OrderStatus.CANCELLED)


# -- buyers' errors -----------------------------------------------------------------------------


def test_unknown_and_expired_codes_get_a_translated_404(client, world, clock):
    owner = bearer(client, world["owner"])
    client.post(
        vouchers_url(world),
        json={"code": "GONE", "discount_percent": 10, "max_uses": 5, "valid_until": clock.now.isoformat()},
        headers=owner,
    )
    for code in ("NOSUCH", "GONE", "!!"):
        answer = client.post(
            "/api/v1/orders", json=order_body(world["standard"], voucher=code), headers={"Accept-Language": "de"}
        )
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"] == {
            "code": "voucher_invalid",
            "message": translate("error.voucher_invalid", "de"),
        }
    hidden = client.post("/api/v1/orders", json=order_body(world["vip"]))
    assert hidden.status_code == 422 and hidden.json()["error"]["code"] == "unknown_ticket_type"


def test_a_code_that_unlocks_hidden_types_sells_them(client, world):
    owner = bearer(client, world["owner"])
    made = client.post(
        vouchers_url(world),
        json={"code": "BACKSTAGE", "unlocks_hidden": True, "max_uses": 3, "ticket_type_ids": [str(world["vip"].id)]},
        headers=owner,
    )
    assert made.status_code == 201 and made.json()["kind"] == "unlock"
    bought = client.post("/api/v1/orders", json=order_body(world["vip"], voucher="backstage"))
    assert bought.status_code == 201 and bought.json()["total"] == 4000 and bought.json()["voucher"] == "BACKSTAGE"
    wrong_type = client.post("/api/v1/orders", json=order_body(world["standard"], voucher="BACKSTAGE"))
    assert wrong_type.status_code == 409 and wrong_type.json()["error"]["code"] == "voucher_not_applicable"


# -- organizers ---------------------------------------------------------------------------------


def test_organizers_create_list_change_and_delete_vouchers(client, world):
    owner = bearer(client, world["owner"])
    made = client.post(
        vouchers_url(world),
        json={
            "code": "early-bird",
            "discount_percent": 15,
            "max_uses": 50,
            "ticket_type_ids": [str(world["standard"].id)],
        },
        headers=owner,
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["code"] == "EARLY-BIRD" and body["kind"] == "percent" and body["value"] == 15 and body["used"] == 0
    changed = client.patch(f"{vouchers_url(world)}/{body['id']}", json={"max_uses": 60, "price": 900}, headers=owner)
    assert changed.status_code == 200 and (
        changed.json()["kind"],
        changed.json()["value"],
        changed.json()["max_uses"],
    ) == (
        "price",
        900,
        60,
    )
    assert client.get(f"{vouchers_url(world)}/{body['id']}", headers=owner).json()["value"] == 900
    taken = client.post(
        vouchers_url(world), json={"code": "Early-Bird", "discount_percent": 5, "max_uses": 1}, headers=owner
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "voucher_code_taken"
    assert client.delete(f"{vouchers_url(world)}/{body['id']}", headers=owner).status_code == 204
    assert client.get(vouchers_url(world), headers=owner).json() == []
    assert client.delete(f"{vouchers_url(world)}/{body['id']}", headers=owner).status_code == 404


@pytest.mark.parametrize(
    ("body", "key", "params"),
    [
        ({"code": "X", "discount_percent": 10, "max_uses": 1}, "error.voucher_code_format", {}),
        ({"code": "OK1", "discount_percent": 0, "max_uses": 1}, "error.voucher_percent", {}),
        ({"code": "OK1", "discount_percent": 120, "max_uses": 1}, "error.voucher_percent", {}),
        ({"code": "OK1", "discount_amount": 0, "max_uses": 1}, "error.voucher_amount", {}),
        ({"code": "OK1", "price": -5, "max_uses": 1}, "error.voucher_price", {}),
        ({"code": "OK1", "discount_percent": 10, "price": 100, "max_uses": 1}, "error.voucher_one_kind", {}),
        ({"code": "OK1", "max_uses": 1}, "error.voucher_kind_required", {}),
        ({"code": "OK1", "discount_percent": 10, "max_uses": 0}, "error.voucher_max_uses", {"max": 1_000_000}),
        ({"code": "OK1", "discount_percent": 10}, "error.request_invalid", {"field": "max_uses"}),
        (
            {
                "code": "OK1",
                "discount_percent": 10,
                "max_uses": 1,
                "ticket_type_ids": ["7d3c5a52-1f7e-4bb0-a7a4-3b8d0e0f0c11"],
            },
            "error.voucher_ticket_types",
            {},
        ),
    ],
)
def test_bad_voucher_input_gets_a_clear_422(client, world, body, key, params):
    answer = client.post(vouchers_url(world), json=body, headers=bearer(client, world["owner"]))
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"] == translate(key, "en", **params)


def test_a_window_that_ends_before_it_starts_is_refused(client, world, clock):
    answer = client.post(
        vouchers_url(world),
        json={
            "code": "WIN",
            "discount_percent": 10,
            "max_uses": 1,
            "valid_from": (clock.now + timedelta(days=2)).isoformat(),
            "valid_until": (clock.now + timedelta(days=1)).isoformat(),
        },
        headers=bearer(client, world["owner"]),
    )
    assert answer.status_code == 422 and answer.json()["error"]["message"] == translate("error.voucher_window", "en")


def test_other_organizers_viewers_and_strangers_are_refused(client, world, pg_session):
    owner, viewer, stranger = (bearer(client, world[name]) for name in ("owner", "viewer", "stranger"))
    made = client.post(
        vouchers_url(world), json={"code": "TEAM", "discount_percent": 10, "max_uses": 1}, headers=owner
    ).json()
    item = f"{vouchers_url(world)}/{made['id']}"
    body = {"code": "MINE", "discount_percent": 90, "max_uses": 99}
    assert client.post(vouchers_url(world), json=body).status_code == 401
    for headers in (stranger, viewer):
        assert client.post(vouchers_url(world), json=body, headers=headers).status_code == 403
        assert (
            client.post(
                f"{vouchers_url(world)}/bulk", json={"count": 3, "discount_percent": 90, "max_uses": 1}, headers=headers
            ).status_code
            == 403
        )
        assert client.patch(item, json={"max_uses": 1000}, headers=headers).status_code == 403
        assert client.delete(item, headers=headers).status_code == 403
        assert client.get(f"{vouchers_url(world)}.csv", headers=headers).status_code == 403
    assert client.get(vouchers_url(world), headers=stranger).status_code == 403
    assert [v["code"] for v in client.get(vouchers_url(world), headers=viewer).json()] == ["TEAM"]  # viewers read
    assert client.get(f"{vouchers_url(world)}.csv").status_code == 401
    unknown = "/api/v1/events/7d3c5a52-1f7e-4bb0-a7a4-3b8d0e0f0c11/vouchers"
    assert client.get(unknown, headers=owner).status_code == 404
    pg_session.expire_all()
    assert [(v.code, v.max_uses) for v in pg_session.exec(select(Voucher)).all()] == [("TEAM", 1)]


def test_bulk_codes_come_back_and_download_as_csv(client, world):
    owner = bearer(client, world["owner"])
    made = client.post(
        f"{vouchers_url(world)}/bulk",
        json={"count": 40, "prefix": "pr-", "discount_amount": 700, "max_uses": 1},
        headers=owner,
    )
    assert made.status_code == 201, made.text
    codes = [v["code"] for v in made.json()]
    assert len(set(codes)) == 40 and all(c.startswith("PR-") and len(c) == 13 for c in codes)
    download = client.get(f"{vouchers_url(world)}.csv", headers=owner)
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    assert download.headers["cache-control"] == "private, no-store"
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert sorted(r["code"] for r in rows) == sorted(codes)
    too_many = client.post(
        f"{vouchers_url(world)}/bulk", json={"count": 5000, "discount_percent": 5, "max_uses": 1}, headers=owner
    )
    assert too_many.status_code == 422
    used = client.post("/api/v1/orders", json=order_body(world["standard"], voucher=codes[0].lower()))
    assert used.status_code == 201 and used.json()["total"] == 1800


# -- guessing codes -----------------------------------------------------------------------------


def test_guessing_codes_meets_429_per_address_while_buyers_elsewhere_use_theirs(live_api, client, world):
    owner = bearer(client, world["owner"])
    client.post(vouchers_url(world), json={"code": "REAL-CODE", "discount_percent": 10, "max_uses": 5}, headers=owner)
    with rate_limits_on(RATE_LIMIT_VOUCHER="5/minute"):
        with client_from(live_api, "127.0.0.30") as guesser:
            guesses = [
                guesser.post(
                    "/api/v1/orders", json=order_body(world["standard"], voucher=f"GUESS{n:03d}", email=f"g{n}@x.org")
                )
                for n in range(12)
            ]
            # Right codes from the guessing address are refused too, until the window passes.
            right_after = guesser.post(
                "/api/v1/orders", json=order_body(world["standard"], voucher="REAL-CODE", email="r@x.org")
            )
            without_code = guesser.post("/api/v1/orders", json=order_body(world["standard"], email="n@x.org"))
        # A botnet: every address gets its own few guesses, never more.
        spread = []
        for n in range(8):
            with client_from(live_api, f"127.0.0.{100 + n}") as bot:
                spread += [
                    bot.post(
                        "/api/v1/orders",
                        json=order_body(world["standard"], voucher=f"BOT{n}X{k}", email=f"bot{n}{k}@x.org"),
                    ).status_code
                    for k in range(7)
                ]
        with client_from(live_api, "127.0.0.31") as buyer:
            honest = buyer.post(
                "/api/v1/orders", json=order_body(world["standard"], voucher="real-code", email="h@x.org")
            )
    assert [r.status_code for r in guesses] == [404] * 5 + [429] * 7
    assert guesses[-1].json()["error"]["code"] == "rate_limited" and int(guesses[-1].headers["retry-after"]) >= 1
    assert right_after.status_code == 429
    assert without_code.status_code == 201  # buying without a code is not this limit's business
    assert Counter(spread) == {404: 8 * 5, 429: 8 * 2}
    assert honest.status_code == 201 and honest.json()["discount"] == 250


# -- the migration ------------------------------------------------------------------------------


def test_migration_0008_keeps_every_order_line_and_ticket_both_ways(tmp_path, now):
    """0008 adds columns to the orders table in place (no copy of the table, which on SQLite with
    foreign keys on would cascade into order lines and tickets), and takes them out the same way."""
    from alembic import command
    from bilten.cli import alembic_config
    from bilten.db import make_engine
    from tests.scanning_helpers import door_with_tickets

    url = f"sqlite:///{tmp_path / 'shop.db'}"
    config = alembic_config(url)
    command.upgrade(config, "head")
    engine = make_engine(url)
    with Session(engine) as session:
        door_with_tickets(session, now=now, count=4)

    def counts():
        with engine.connect() as connection:
            return [
                connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
                for table in ("ticket_order", "order_line", "ticket")
            ]

    before = counts()
    assert before[0] >= 1 and before[2] == 4
    command.downgrade(config, "0010")
    assert counts() == before
    command.upgrade(config, "head")
    assert counts() == before
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT DISTINCT discount_minor FROM ticket_order").scalars().all() == [0]
    engine.dispose()
