"""Sold-out answers from memory (bilten/api/sold_out_gate.py), over HTTP on PostgreSQL: after a
sell-out refusals never reach the database, the answer is the endpoint's own, and a seat that comes
back is for sale again within 250 ms."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from bilten.api import api
from bilten.api.deps import get_now, get_session
from bilten.models import Role, TicketType
from bilten.services import orders
from bilten.services.seat_gate import TRUST_SECONDS, seat_gate
from tests.factories import DEFAULT_PASSWORD, make_event, make_organization, make_user
from tests.ratelimit_support import ThreadedServer

SEATS = 2


@pytest.fixture(autouse=True)
def empty_gate() -> Iterator[None]:
    seat_gate.clear()
    yield
    seat_gate.clear()


@pytest.fixture
def ticket_type(pg_session, clock) -> TicketType:
    org = make_organization(pg_session, now=clock.now)
    created = make_event(pg_session, organization=org, now=clock.now, quantity=SEATS)
    return pg_session.exec(select(TicketType).where(TicketType.event_id == created.id)).one()


@pytest.fixture
def http(pg_engine, pg_app_database, pg_session, clock) -> Iterator[httpx.Client]:
    """The API served over real HTTP (uvicorn) on the test database (the gate's recount included)."""

    def session_override():
        with Session(pg_engine, expire_on_commit=False) as session:
            yield session

    api.dependency_overrides[get_session] = session_override
    api.dependency_overrides[get_now] = clock
    try:
        with ThreadedServer(api) as server, httpx.Client(base_url=server.base_url, timeout=10) as client:
            yield client
    finally:
        api.dependency_overrides.clear()


class Statements:
    """Every SQL statement the engine runs for requests while counting (not the "N left" counts a
    timer thread publishes a moment after each sale)."""

    def __init__(self, engine) -> None:  # noqa: ANN001
        self.seen: list[str] = []
        self._engine = engine

    def __enter__(self) -> Statements:
        event.listen(self._engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self._engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if not isinstance(threading.current_thread(), threading.Timer):
            self.seen.append(statement)


def buy(http: httpx.Client, ticket_type: TicketType, quantity: int = 1, locale: str = "en") -> httpx.Response:
    body = {
        "items": [{"ticket_type_id": str(ticket_type.id), "quantity": quantity}],
        "email": "buyer@example.org",
        "phone": "+44 20 7946 0958",
    }
    return http.post("/api/v1/orders", json=body, headers={"Accept-Language": locale})


def sell_out(http: httpx.Client, ticket_type: TicketType) -> list[dict]:
    placed = [buy(http, ticket_type) for _ in range(SEATS)]
    assert [response.status_code for response in placed] == [201] * SEATS
    return [response.json() for response in placed]


def test_after_a_sell_out_refusals_never_touch_the_database(http, ticket_type, pg_engine, monkeypatch):
    sell_out(http, ticket_type)
    from_database = {locale: buy(http, ticket_type, locale=locale) for locale in ("en", "ar")}
    assert all(response.status_code == 409 for response in from_database.values())
    held = [time.monotonic()]
    monkeypatch.setattr(seat_gate, "clock", lambda: held[0])  # the gate's knowledge does not age

    with Statements(pg_engine) as statements:
        from_memory = [buy(http, ticket_type, locale=locale) for locale in ("en", "ar") * 20]
    assert statements.seen == []  # no query, no lock, no connection: the hot row is not touched
    for response, locale in zip(from_memory, ("en", "ar") * 20, strict=True):
        expected = from_database[locale]
        assert response.status_code == 409
        assert response.content == expected.content  # the endpoint's own answer, byte for byte
        assert response.headers["content-type"] == expected.headers["content-type"]
        assert response.headers.get("x-content-type-options") == expected.headers.get("x-content-type-options")

    # Once the knowledge has aged, ONE request reads the counts again (a plain SELECT, no UPDATE of the
    # hot row, no lock); it and the rest are refused from what it read.
    held[0] += TRUST_SECONDS + 0.01
    with Statements(pg_engine) as statements:
        again = [buy(http, ticket_type) for _ in range(10)]
    assert [response.status_code for response in again] == [409] * 10
    assert len(statements.seen) == 1 and statements.seen[0].startswith("SELECT ticket_type.id")
    assert "FOR UPDATE" not in statements.seen[0]


def test_a_seat_freed_by_a_cancellation_is_for_sale_again_within_250_ms(http, ticket_type):
    first, _ = sell_out(http, ticket_type)
    assert buy(http, ticket_type).status_code == 409  # the database's refusal teaches the gate
    assert buy(http, ticket_type).status_code == 409  # ...and this one is answered from memory

    cancelled = http.post(f"/api/v1/orders/{first['id']}/cancel", headers={"X-Order-Token": first["access_token"]})
    assert cancelled.status_code == 200
    freed_at = time.monotonic()
    while (response := buy(http, ticket_type)).status_code == 409:
        assert time.monotonic() - freed_at < 0.25
    assert response.status_code == 201
    assert time.monotonic() - freed_at < 0.25


def test_a_seat_freed_by_an_expired_hold_is_for_sale_again_within_250_ms(http, ticket_type, pg_session, clock):
    sell_out(http, ticket_type)
    assert buy(http, ticket_type).status_code == 409
    refused_from_memory = buy(http, ticket_type)
    assert refused_from_memory.status_code == 409

    # The sweeper (another process in production) returns the seats: this process hears nothing.
    assert len(orders.expire_holds(pg_session, now=clock.now + timedelta(days=1))) == SEATS
    freed_at = time.monotonic()
    answers = []
    while (response := buy(http, ticket_type)).status_code == 409:
        answers.append(response)
        assert time.monotonic() - freed_at < 0.25
    assert response.status_code == 201
    assert time.monotonic() - freed_at < 0.25
    second = buy(http, ticket_type)
    assert second.status_code == 201, second.text  # the second seat too: nothing remembered wrongly


def test_an_organizer_adding_seats_through_the_api_puts_them_on_sale_at_once(client, pg_session, clock):
    organizer = make_user(pg_session, role=Role.ORGANIZER, now=clock.now)
    org = make_organization(pg_session, members=(organizer,), now=clock.now)
    created = make_event(pg_session, organization=org, now=clock.now, quantity=SEATS)
    ticket_type = pg_session.exec(select(TicketType).where(TicketType.event_id == created.id)).one()
    for _ in range(SEATS):
        assert client.post("/api/v1/orders", json=_body(ticket_type)).status_code == 201
    assert client.post("/api/v1/orders", json=_body(ticket_type)).status_code == 409
    assert not seat_gate.is_empty()

    tokens = client.post("/api/v1/auth/login", json={"email": organizer.email, "password": DEFAULT_PASSWORD}).json()
    edited = client.patch(
        f"/api/v1/events/{created.id}/ticket-types/{ticket_type.id}",
        json={"quantity": SEATS + 1},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert edited.status_code == 200
    assert client.post("/api/v1/orders", json=_body(ticket_type)).status_code == 201


def _body(ticket_type: TicketType) -> dict:
    return {
        "items": [{"ticket_type_id": str(ticket_type.id), "quantity": 1}],
        "email": "buyer@example.org",
        "phone": "+44 20 7946 0958",
    }
