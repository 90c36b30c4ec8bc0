"""Structured logs over the real API on PostgreSQL: one JSON line per request with its id, user,
route, status and time; X-Request-ID on every answer; no password, token, secret or full email in
any line, whatever the requests carried."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from bilten.api import api
from bilten.api.deps import get_now
from bilten.models import TicketType
from bilten.observability.logging import make_handler
from bilten.settings import Settings
from tests.factories import DEFAULT_PASSWORD, make_event, make_organization, make_user
from tests.integration.test_stripe_payments import WEBHOOK_SECRET, deliver, stripe_fake  # noqa: F401


class JsonLog:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    @property
    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def requests(self) -> list[dict]:
        return [line for line in self.lines if line["message"].startswith("api request")]


@pytest.fixture
def json_log() -> Iterator[JsonLog]:
    """The app's JSON log handler, writing to memory, on the root logger as `configure_logging` puts it."""
    stream = io.StringIO()
    handler = make_handler("json", stream)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield JsonLog(stream)
    root.removeHandler(handler)
    root.setLevel(old_level)


@pytest.fixture
def ticket_type(pg_session, clock):
    org = make_organization(pg_session, now=clock.now)
    event = make_event(pg_session, organization=org, now=clock.now, prices=(2500,), quantity=5)
    return pg_session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()


def test_every_api_request_logs_one_json_line_with_its_id_user_route_status_and_time(
    client, json_log, pg_session, clock
):
    user = make_user(pg_session, email="jane.doe@example.com", now=clock.now)
    login = client.post("/api/v1/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD})
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}", "X-Request-ID": "trace-42.a_b"})
    assert me.status_code == 200 and me.headers["x-request-id"] == "trace-42.a_b"

    lines = json_log.requests()
    assert [(line["route"], line["status"]) for line in lines] == [
        ("/api/v1/auth/login", 200),
        ("/api/v1/auth/me", 200),
    ]
    for line in lines:
        assert {"timestamp", "level", "logger", "request_id", "method", "route", "status", "duration_ms"} <= set(line)
        assert line["level"] == "INFO" and line["logger"] == "bilten.api.access" and line["duration_ms"] >= 0
    assert lines[0]["request_id"] == login.headers["x-request-id"] and len(lines[0]["request_id"]) == 32
    assert lines[1]["request_id"] == "trace-42.a_b" and lines[1]["user_id"] == str(user.id)


@pytest.mark.parametrize("incoming", ["has spaces", "x" * 129, "<script>", "ünïcode"])
def test_an_odd_incoming_request_id_is_replaced(client, incoming):
    response = client.get("/api/v1/events", headers={"X-Request-ID": incoming.encode()})
    assert response.status_code == 200
    assert response.headers["x-request-id"] != incoming and len(response.headers["x-request-id"]) == 32


def test_errors_and_refusals_carry_the_request_id_too(client, json_log, ticket_type):
    assert client.get("/api/v1/nowhere").headers["x-request-id"]
    invalid = client.post("/api/v1/orders", json={"items": "nope"})
    assert invalid.status_code == 422 and invalid.headers["x-request-id"]
    body = {
        "items": [{"ticket_type_id": str(ticket_type.id), "quantity": 5}],
        "email": "fan@example.org",
        "phone": "+44 20 7946 0958",
    }
    assert client.post("/api/v1/orders", json=body).status_code == 201
    for _ in range(2):  # refused by the database, then (maybe) by the sold-out gate before routing
        refused = client.post("/api/v1/orders", json={**body, "items": [{**body["items"][0], "quantity": 1}]})
        assert refused.status_code == 409 and refused.headers["x-request-id"]
    logged = {line["request_id"]: line for line in json_log.requests()}
    assert logged[refused.headers["x-request-id"]]["route"] == "/api/v1/orders"
    assert logged[refused.headers["x-request-id"]]["status"] == 409
    assert logged[invalid.headers["x-request-id"]]["status"] == 422


def test_a_crash_answers_500_with_the_id_and_logs_the_error_without_its_secrets(client, json_log):
    def broken_clock():
        raise RuntimeError("db said: password=hunter2-secret for jane.doe@example.com")

    api.dependency_overrides[get_now] = broken_clock
    with TestClient(api, raise_server_exceptions=False) as crashing:
        response = crashing.get("/api/v1/auth/me", headers={"X-Request-ID": "crash-1"})
    assert response.status_code == 500 and response.headers["x-request-id"] == "crash-1"
    assert response.json()["error"]["code"] == "internal_error"
    failed = [line for line in json_log.lines if line.get("request_id") == "crash-1" and line["level"] == "ERROR"]
    assert failed and failed[0]["message"] == "api request failed" and failed[0]["status"] == 500
    assert "RuntimeError" in failed[0]["exception"]
    assert "hunter2-secret" not in json_log.text and "jane.doe@example.com" not in json_log.text
    assert "j***@example.com" in json_log.text


def test_no_secret_token_password_or_full_email_reaches_the_log(
    client,
    json_log,
    pg_session,
    clock,
    ticket_type,
    stripe_fake,  # noqa: F811
):
    password = "Sup3r-Secret-Passw0rd!"
    email = "margaret.hamilton@example.com"
    registered = client.post(
        "/api/v1/auth/register", json={"email": email, "password": password, "full_name": "Margaret H"}
    )
    assert registered.status_code == 201, registered.text
    user = make_user(pg_session, email="grace.hopper@example.com", now=clock.now)
    wrong = client.post("/api/v1/auth/login", json={"email": user.email, "password": password})
    assert wrong.status_code == 401
    login = client.post("/api/v1/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD}).json()
    access, refresh = login["access_token"], login["refresh_token"]
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {access}"}).status_code == 200
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": refresh}).status_code == 200

    placed = client.post(
        "/api/v1/orders",
        json={
            "items": [{"ticket_type_id": str(ticket_type.id), "quantity": 1}],
            "email": "ada.lovelace@example.com",
            "phone": "+44 20 7946 0958",
        },
    ).json()
    order_token = placed["access_token"]
    assert client.get(f"/api/v1/orders/{placed['id']}", params={"token": order_token}).status_code == 200
    assert client.get(f"/api/v1/orders/{placed['id']}", headers={"X-Order-Token": order_token}).status_code == 200
    completed = stripe_fake.event("checkout.session.completed", stripe_fake.pay(placed["payment"]["reference"]))
    assert deliver(client, stripe_fake, completed).status_code == 200
    assert deliver(client, stripe_fake, completed, secret="whsec_forged0000").status_code == 400

    # Application code that logs carelessly is caught too (message, arguments and extra fields).
    careless = logging.getLogger("bilten.careless")
    careless.warning("login for %s with password=%s", email, password)
    careless.warning("calling Stripe", extra={"authorization": f"Bearer {access}", "webhook": WEBHOOK_SECRET})
    careless.warning("headers %s", {"Authorization": f"Bearer {access}", "X-Order-Token": order_token})

    text = json_log.text
    assert len(json_log.requests()) >= 9
    for secret in (
        password,
        DEFAULT_PASSWORD,
        access,
        refresh,
        order_token,
        WEBHOOK_SECRET,
        "sk_test_bilten",
        email,
        "grace.hopper@example.com",
        "ada.lovelace@example.com",
    ):
        assert secret not in text, f"{secret[:12]}... leaked into the log"
    assert "m***@example.com" in text  # masked, still useful


def test_console_is_the_default_format_and_json_is_chosen_by_log_format(monkeypatch):
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    assert Settings(_env_file=None).log_format == "console"
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    monkeypatch.setenv("LOG_LEVEL", "warning")
    settings = Settings(_env_file=None)
    assert settings.log_format == "json" and settings.log_level == "WARNING"
