"""Ready for the public, through the API on PostgreSQL: no free tickets without a payment provider,
crafted tokens and nonces get plain refusals, every answer carries the security headers, and the
OpenAPI document lists each operation's error answers."""

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from bilten import cache
from bilten.api import DOCS_URL, create_api
from bilten.models import CheckIn, Order, Payment, TicketType
from bilten.payments import provider_registry
from bilten.settings import Settings, get_settings
from tests.factories import DEFAULT_PASSWORD, make_event, make_organization
from tests.scanning_helpers import door_with_tickets


@pytest.fixture
def no_payment_provider(monkeypatch):
    """A production server without Stripe and without PAYMENT_PROVIDER=test."""
    for name in ("PAYMENT_PROVIDER", "BILTEN_DEMO", "STRIPE_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    provider_registry.cache_clear()
    yield
    get_settings.cache_clear()
    provider_registry.cache_clear()


@pytest.fixture
def shop(pg_session, clock):
    org = make_organization(pg_session, now=clock.now)
    event = make_event(pg_session, organization=org, now=clock.now, prices=(2500, 0), quantity=5)
    paid, free = pg_session.exec(
        select(TicketType).where(TicketType.event_id == event.id).order_by(TicketType.position)
    ).all()
    return {"event": event, "paid": paid, "free": free}


def order_body(*items):
    return {
        "items": [{"ticket_type_id": str(t.id), "quantity": q} for t, q in items],
        "email": "guest@example.org",
        "phone": "+44 20 7946 0958",
    }


def _kept(session):
    session.expire_all()
    return {
        "orders": session.exec(select(func.count()).select_from(Order)).one(),
        "payments": session.exec(select(func.count()).select_from(Payment)).one(),
        "reserved": session.exec(select(func.sum(TicketType.reserved))).one(),
    }


def test_without_a_provider_paid_tickets_are_refused_and_nothing_is_kept(no_payment_provider, client, shop, pg_session):
    for items in ([(shop["paid"], 2)], [(shop["free"], 1), (shop["paid"], 1)]):
        refused = client.post("/api/v1/orders", json=order_body(*items), headers={"Accept-Language": "ar"})
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "payments_not_configured"
        assert "مزوّد" in refused.json()["error"]["message"]  # translated
    assert _kept(pg_session) == {"orders": 0, "payments": 0, "reserved": 0}
    event = client.get(f"/api/v1/events/{shop['event'].id}").json()
    assert [t["available"] for t in event["ticket_types"]] == [5, 5]


def test_without_a_provider_free_tickets_still_work(no_payment_provider, client, shop):
    placed = client.post("/api/v1/orders", json=order_body((shop["free"], 2)))
    assert placed.status_code == 201, placed.text
    assert placed.json()["status"] == "paid" and len(placed.json()["tickets"]) == 2


def test_without_a_provider_the_test_payment_endpoint_is_gone(no_payment_provider, client, shop):
    placed = client.post("/api/v1/orders", json=order_body((shop["free"], 1))).json()
    pay = client.post(
        f"/api/v1/orders/{placed['id']}/test-payment",
        json={"outcome": "succeeded"},
        params={"token": placed["access_token"]},
    )
    assert pay.status_code == 404


ORDER_ENDPOINTS = [
    ("get", "/api/v1/orders/{id}", None),
    ("post", "/api/v1/orders/{id}/cancel", None),
    ("post", "/api/v1/orders/{id}/test-payment", {"outcome": "succeeded"}),
    ("get", "/api/v1/orders/{id}/tickets.pdf", None),
    ("get", "/api/v1/orders/{id}/calendar.ics", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ORDER_ENDPOINTS)
@pytest.mark.parametrize("token", ["é", "ü" * 24, "\u202e" + "A" * 23, "😀"])
def test_a_non_ascii_order_token_is_a_plain_404_on_every_order_endpoint(client, shop, method, path, body, token):
    placed = client.post("/api/v1/orders", json=order_body((shop["paid"], 1))).json()
    url = path.format(id=placed["id"])
    answer = client.request(method, url, params={"token": token}, json=body)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    # ... and as the header a guest may send instead (raw bytes: the server reads them as latin-1)
    header = client.request(method, url, headers={"X-Order-Token": token.encode()}, json=body)
    assert header.status_code == 404
    # The real token still opens the order: nothing was broken for the buyer.
    assert client.get(f"/api/v1/orders/{placed['id']}", params={"token": placed["access_token"]}).status_code == 200


def test_a_nonce_used_at_another_event_gets_no_verdict_of_that_event(client, pg_session, clock):
    cache.clear_local()
    first = door_with_tickets(pg_session, now=clock.now, count=1)
    second = door_with_tickets(pg_session, now=clock.now, count=1)

    def scan(door, code, nonce):
        token = client.post(
            "/api/v1/devices", json={"email": door.staff.email, "password": DEFAULT_PASSWORD, "name": "phone"}
        ).json()["device_token"]
        return client.post(
            "/api/v1/orders/validate",
            json={"code": code, "event_id": str(door.event.id), "nonce": nonce},
            headers={"Authorization": f"Bearer {token}"},
        )

    nonce = str(uuid.uuid4())
    at_first = scan(first, first.tickets[0].code, nonce)
    assert at_first.status_code == 200 and at_first.json()["ticket"]["holder_name"] == "Dana Fan"
    # Staff of the second event replays that nonce with any code: no verdict, no holder, nothing kept.
    replayed = scan(second, "NOT-A-TICKET", nonce)
    assert replayed.status_code == 409 and replayed.json()["error"]["code"] == "nonce_taken"
    assert "Dana" not in replayed.text and str(first.tickets[0].id) not in replayed.text
    pg_session.expire_all()
    assert (
        pg_session.exec(select(func.count()).select_from(CheckIn).where(CheckIn.event_id == second.event.id)).one() == 0
    )
    # The same nonce at its own event is still the idempotent replay of the first verdict.
    again = scan(first, first.tickets[0].code, nonce)
    assert again.status_code == 200 and again.json()["replayed"] is True


# ---------------------------------------------------------------------------------------------
# Headers and the OpenAPI document


def test_api_answers_carry_the_security_headers(client, shop):
    for answer in (
        client.get("/api/health"),
        client.get(f"/api/v1/events/{shop['event'].id}"),
        client.get(f"/api/v1/orders/{uuid.uuid4()}"),  # errors too
    ):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert answer.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert answer.headers["permissions-policy"] == "camera=()"
        assert "strict-transport-security" not in answer.headers  # PUBLIC_URL is http here


def test_hsts_when_the_public_address_is_https():
    app = create_api(Settings(PUBLIC_URL="https://tickets.example.org", BILTEN_DEMO=False))
    with TestClient(app) as https_client:
        answer = https_client.get("/api/openapi.json")
    assert answer.headers["strict-transport-security"].startswith("max-age=31536000")
    assert answer.status_code == 200


def test_swagger_ui_only_in_demo_mode_and_the_document_always():
    with TestClient(create_api(Settings(BILTEN_DEMO=False))) as production:
        assert production.get(DOCS_URL).status_code == 404
        assert production.get("/api/openapi.json").status_code == 200
    with TestClient(create_api(Settings(BILTEN_DEMO=True))) as demo:
        docs = demo.get(DOCS_URL)
        assert docs.status_code == 200
        # Its CDN is allowed on that page only.
        assert "cdn.jsdelivr.net" in docs.headers["content-security-policy"]


ERROR_BODY = "#/components/schemas/ErrorOut"


def test_every_operation_lists_its_error_answers_with_the_error_body(client):
    document = client.get("/api/openapi.json").json()
    assert document["components"]["schemas"]["ErrorOut"]["required"] == ["error"]
    assert set(document["components"]["schemas"]["ErrorDetail"]["required"]) == {"code", "message"}
    assert "HTTPValidationError" not in document["components"]["schemas"]  # 422 is ours too
    operations = [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if path != "/api/health"
    ]
    assert len(operations) > 50
    for method, path, operation in operations:
        errors = {code: answer for code, answer in operation["responses"].items() if code.startswith(("4", "5"))}
        assert "422" in errors, (method, path)
        for code, answer in errors.items():
            assert answer["content"]["application/json"]["schema"]["$ref"] == ERROR_BODY, (method, path, code)
        if "security" in operation or "{" in path:
            assert "404" in errors or "401" in errors, (method, path)
    documented = {(m, p): set(o["responses"]) for m, p, o in operations}
    assert {"401", "404", "409", "422"} <= documented[("post", "/api/v1/orders/validate")]
    assert {"409", "422"} <= documented[("post", "/api/v1/orders")]
    assert {"401", "429"} <= documented[("post", "/api/v1/auth/login")]
