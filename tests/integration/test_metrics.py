"""`/api/metrics` on PostgreSQL: counters move with the business, once per fact; who may read them;
route templates, never raw ids; several processes add up."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import select

from bilten.api import api
from bilten.models import TicketType
from bilten.observability import metrics
from bilten.observability.scrape import exposition
from bilten.services import orders
from bilten.settings import get_settings
from tests.conftest import TEST_NOW
from tests.factories import make_event, make_organization
from tests.integration.test_stripe_payments import buy, deliver, event_on_sale, stripe_fake  # noqa: F401
from tests.scanning_helpers import door_with_tickets

PUBLIC = ("203.0.113.5", 1234)  # a documentation range: public as far as the rule goes
LOOPBACK = ("127.0.0.7", 1234)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(name: str, **labels: str) -> float:
    """A metric's value summed over every process of this run (0 when it never moved)."""
    return samples(exposition(include_state=False).decode()).get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(client_address=LOOPBACK, headers=None) -> tuple[int, str]:
    with TestClient(api, client=client_address) as test_client:
        response = test_client.get("/api/metrics", headers=headers or {})
    return response.status_code, response.text


def test_one_paid_order_moves_tickets_sold_by_its_seats_and_paid_by_one(client, stripe_fake, event_on_sale):  # noqa: F811
    _, ticket_type = event_on_sale
    before = {
        "sold": value("bilten_tickets_sold_total"),
        "paid": value("bilten_orders_total", outcome="paid"),
        "placed": value("bilten_orders_total", outcome="placed"),
    }
    placed = buy(client, ticket_type, quantity=2)
    assert placed.status_code == 201, placed.text
    assert value("bilten_orders_total", outcome="placed") == before["placed"] + 1
    assert value("bilten_tickets_sold_total") == before["sold"]  # held, not sold yet

    completed = stripe_fake.event("checkout.session.completed", stripe_fake.pay(placed.json()["payment"]["reference"]))
    assert deliver(client, stripe_fake, completed).json()["result"] == "paid"
    assert value("bilten_tickets_sold_total") == before["sold"] + 2
    assert value("bilten_orders_total", outcome="paid") == before["paid"] + 1

    # Stripe delivers the same event again: nothing new was sold.
    assert deliver(client, stripe_fake, completed).json()["result"] == "duplicate"
    assert value("bilten_tickets_sold_total") == before["sold"] + 2
    assert value("bilten_orders_total", outcome="paid") == before["paid"] + 1


@pytest.fixture
def three_seats(pg_session, clock):
    org = make_organization(pg_session, now=clock.now)
    event = make_event(pg_session, organization=org, now=clock.now, prices=(2500,), quantity=3)
    return pg_session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()


def order_json(ticket_type, quantity):
    return {
        "items": [{"ticket_type_id": str(ticket_type.id), "quantity": quantity}],
        "email": "fan@example.org",
        "phone": "+44 20 7946 0958",
    }


def test_sold_out_refusals_move_sold_out_and_leave_sales_alone(client, three_seats):
    sold_out, placed = value("bilten_orders_total", outcome="sold_out"), value("bilten_orders_total", outcome="placed")
    assert client.post("/api/v1/orders", json=order_json(three_seats, 3)).status_code == 201
    for _ in range(2):  # the database refuses the first, the sold-out gate may answer the second
        refused = client.post("/api/v1/orders", json=order_json(three_seats, 1))
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "sold_out"
    assert value("bilten_orders_total", outcome="sold_out") == sold_out + 2
    assert value("bilten_orders_total", outcome="placed") == placed + 1


def test_test_payment_cancel_and_expiry_are_counted_once_each(client, three_seats, pg_session, clock):
    counts = {o: value("bilten_orders_total", outcome=o) for o in ("paid", "cancelled", "expired")}
    sold = value("bilten_tickets_sold_total")
    first = client.post("/api/v1/orders", json=order_json(three_seats, 1)).json()
    paid = client.post(
        f"/api/v1/orders/{first['id']}/test-payment",
        json={"outcome": "succeeded"},
        headers={"X-Order-Token": first["access_token"]},
    )
    assert paid.json()["status"] == "paid"
    second = client.post("/api/v1/orders", json=order_json(three_seats, 1)).json()
    cancelled = client.post(f"/api/v1/orders/{second['id']}/cancel", headers={"X-Order-Token": second["access_token"]})
    assert cancelled.status_code == 200, cancelled.text
    assert client.post("/api/v1/orders", json=order_json(three_seats, 1)).status_code == 201
    expired = orders.expire_holds(pg_session, now=clock.now + timedelta(hours=2))
    assert len(expired) == 1
    assert value("bilten_orders_total", outcome="paid") == counts["paid"] + 1
    assert value("bilten_orders_total", outcome="cancelled") == counts["cancelled"] + 1
    assert value("bilten_orders_total", outcome="expired") == counts["expired"] + 1
    assert value("bilten_tickets_sold_total") == sold + 1


def test_a_scan_moves_valid_and_a_second_scan_already_used(client, pg_session, clock):
    from tests.integration.test_scanning import device_headers

    door = door_with_tickets(pg_session, now=clock.now, count=1)
    headers, _ = device_headers(client, door.staff)
    valid, used = value("bilten_checkins_total", result="valid"), value("bilten_checkins_total", result="already_used")
    body = {
        "code": door.tickets[0].code,
        "event_id": str(door.event.id),
        "nonce": "n-1",
        "scanned_at": clock.now.isoformat(),
    }
    assert client.post("/api/v1/orders/validate", json=body, headers=headers).json()["result"] == "valid"
    assert client.post("/api/v1/orders/validate", json=body, headers=headers).json()["replayed"] is True
    second = client.post("/api/v1/orders/validate", json={**body, "nonce": "n-2"}, headers=headers).json()
    assert second["result"] == "already_used"
    assert value("bilten_checkins_total", result="valid") == valid + 1  # the replay counted nothing
    assert value("bilten_checkins_total", result="already_used") == used + 1


def test_requests_are_counted_by_route_template_never_by_raw_path(client, three_seats):
    placed = client.post("/api/v1/orders", json=order_json(three_seats, 1)).json()
    template = "/api/v1/orders/{order_id}"
    before = value("bilten_http_requests_total", method="GET", route=template, status="200")
    count_before = value("bilten_http_request_duration_seconds_count", method="GET", route=template)
    assert client.get(f"/api/v1/orders/{placed['id']}", params={"token": placed["access_token"]}).status_code == 200
    assert client.get(f"/api/v1/nothing/{uuid.uuid4()}").status_code == 404
    text = exposition(include_state=False).decode()
    assert value("bilten_http_requests_total", method="GET", route=template, status="200") == before + 1
    assert value("bilten_http_request_duration_seconds_count", method="GET", route=template) == count_before + 1
    assert value("bilten_http_requests_total", method="GET", route="unmatched", status="404") >= 1
    assert placed["id"] not in text and "/api/v1/nothing" not in text
    templates = set(api.openapi()["paths"]) | {"unmatched"}
    labelled = {dict(labels)["route"] for (name, labels) in samples(text) if name.startswith("bilten_http_request")}
    assert template in labelled and labelled <= templates


def test_who_may_read_the_metrics(client, monkeypatch):
    monkeypatch.setenv("METRICS_TOKEN", "scrape-me-" + "x" * 30)
    get_settings.cache_clear()
    try:
        status, text = scrape(LOOPBACK)
        assert status == 200 and "bilten_orders_total" in text
        assert scrape(("192.168.10.4", 80))[0] == 200  # a private network
        assert scrape(PUBLIC)[0] == 403
        assert scrape(PUBLIC, {"Authorization": "Bearer wrong-token"})[0] == 403
        assert scrape(PUBLIC, {"X-Forwarded-For": "127.0.0.1"})[0] == 403  # a header grants nothing
        assert scrape(PUBLIC, {"Authorization": "Bearer scrape-me-" + "x" * 30})[0] == 200
        # Through a reverse proxy on this machine: the proxy's loopback address says nothing.
        assert scrape(LOOPBACK, {"X-Forwarded-For": "198.51.100.20"})[0] == 403
        assert (
            scrape(LOOPBACK, {"X-Forwarded-For": "198.51.100.20", "Authorization": f"Bearer scrape-me-{'x' * 30}"})[0]
            == 200
        )
    finally:
        get_settings.cache_clear()
    monkeypatch.delenv("METRICS_TOKEN")
    assert scrape(PUBLIC, {"Authorization": "Bearer "})[0] == 403  # no token set: nobody from outside


def test_scrape_reads_holds_outbox_and_sweeper_lag(client, three_seats, pg_app_database, clock):
    assert client.post("/api/v1/orders", json=order_json(three_seats, 1)).status_code == 201
    status, text = scrape()
    found = samples(text)
    assert status == 200
    assert found[("bilten_holds_active", ())] == 1
    assert found[("bilten_sweeper_lag_seconds", ())] == 0
    assert ("bilten_outbox_pending", ()) in found
    assert ("bilten_job_queue_depth", (("queue", "notifications"),)) in found
    assert ("bilten_db_pool_in_use", ()) in found and ("bilten_live_connections", ()) in found

    # The hold ran out 90 seconds ago and no sweeper has run: the lag shows it.
    hold = get_settings().hold_minutes
    clock.now = TEST_NOW + timedelta(minutes=hold, seconds=90)
    found = samples(scrape()[1])
    assert found[("bilten_holds_active", ())] == 0
    assert found[("bilten_sweeper_lag_seconds", ())] == pytest.approx(90, abs=5)


def test_processes_writing_to_the_same_directory_add_up():
    """Two processes (as two granian workers or `bilten worker` would) sell and exit; a scrape in a
    third sees their sum, and the live connections of a process that is gone are dropped."""
    program = textwrap.dedent(
        """
        from bilten.observability import metrics
        metrics.count_paid(3)
        metrics.count_order("sold_out")
        metrics.live_connection_opened()
        print(metrics.MULTIPROC_DIR)
        """
    )
    sold, sold_out = value("bilten_tickets_sold_total"), value("bilten_orders_total", outcome="sold_out")
    live = value("bilten_live_connections")
    children = [subprocess.run([sys.executable, "-c", program], capture_output=True, text=True) for _ in range(2)]
    for child in children:
        assert child.returncode == 0, child.stderr
        assert child.stdout.strip() == str(metrics.MULTIPROC_DIR)
    assert value("bilten_tickets_sold_total") == sold + 6
    assert value("bilten_orders_total", outcome="sold_out") == sold_out + 2
    assert value("bilten_live_connections") == live  # both children are gone, and so are their tabs
