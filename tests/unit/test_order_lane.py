"""The order lane (bilten/api/order_lane.py) answers POST /api/v1/orders without FastAPI's routing,
and gives what the route gives: the same refusals, byte for byte, through the API's own handlers,
with its security headers, counted under the route's name. (The sales themselves, sold out,
vouchers, rate limits, go through the lane in tests/integration/test_api_orders.py and others.)"""

import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from bilten.api import create_api
from bilten.api.orders import router as orders_router
from bilten.observability.scrape import exposition

ORDER = "/api/v1/orders"
A_TYPE = str(uuid.uuid4())

# What an outsider may send instead of an order.
HOSTILE = [
    ("invalid JSON", b'{"items": [', "application/json"),
    ("empty body", b"", "application/json"),
    ("a list, not an object", b"[1, 2]", "application/json"),
    ("no items", b'{"email": "a@example.org"}', "application/json"),
    ("no email", b'{"items": [{"ticket_type_id": "%s", "quantity": 1}]}' % A_TYPE.encode(), "application/json"),
    (
        "a quantity as text",
        b'{"items": [{"ticket_type_id": "%s", "quantity": "1"}], "email": "a@example.org"}' % A_TYPE.encode(),
        "application/json",
    ),
    ("not a ticket type id", b'{"items": [{"ticket_type_id": "x", "quantity": 1}], "email": "a@e.org"}', None),
    # A cross-site form or text/plain POST cannot pass as JSON (no preflight protects those).
    (
        "JSON sent as text/plain",
        b'{"items": [{"ticket_type_id": "%s", "quantity": 1}], "email": "a@example.org"}' % A_TYPE.encode(),
        "text/plain",
    ),
    ("a form", b"items=1&email=a%40example.org", "application/x-www-form-urlencoded"),
    (
        "an email far too long",
        b'{"items": [{"ticket_type_id": "%s", "quantity": 1}], "email": "%s"}' % (A_TYPE.encode(), b"a" * 400),
        "application/json",
    ),
]


@pytest.fixture(scope="module")
def with_lane():
    with TestClient(create_api()) as client:
        yield client


@pytest.fixture(scope="module")
def by_the_route():
    with TestClient(create_api(order_lane=False)) as client:
        yield client


@pytest.mark.parametrize(("case", "body", "content_type"), HOSTILE, ids=[case for case, _, _ in HOSTILE])
@pytest.mark.parametrize("locale", ["en", "ar"])
def test_the_lane_refuses_what_the_route_refuses_in_the_same_words(
    with_lane, by_the_route, case, body, content_type, locale
):
    headers = {"Accept-Language": locale} | ({"Content-Type": content_type} if content_type else {})
    lane = with_lane.post(ORDER, content=body, headers=headers)
    route = by_the_route.post(ORDER, content=body, headers=headers)

    assert lane.status_code == route.status_code == 422, case
    assert lane.content == route.content
    assert lane.json()["error"]["code"] == "validation_error"
    assert lane.headers["x-content-type-options"] == "nosniff"  # the API's security headers
    assert lane.headers["content-type"] == route.headers["content-type"]


def test_the_lane_is_counted_under_the_routes_name(with_lane):
    def counted():
        for family in text_string_to_metric_families(exposition(include_state=False).decode()):
            for sample in family.samples:
                labels = {"method": "POST", "route": ORDER, "status": "422"}
                if sample.name == "bilten_http_requests_total" and sample.labels == labels:
                    return sample.value
        return 0.0

    before = counted()
    with_lane.post(ORDER, content=b"{", headers={"Content-Type": "application/json"})
    assert counted() == before + 1


def test_other_order_routes_still_go_through_the_router(with_lane):
    assert with_lane.get(f"{ORDER}/not-an-order-id").status_code == 422  # routed: the path is validated
    assert with_lane.put(ORDER).status_code == 405  # the router's answer: only POST is served here


def test_the_route_stays_documented():
    paths = create_api().openapi()["paths"]
    assert "post" in paths[ORDER]
    assert any(route.path == ORDER for route in orders_router.routes)


def test_the_lane_answers_a_valid_order_itself_with_the_routes_dependencies(monkeypatch):
    from starlette.responses import Response

    from bilten.api import order_lane
    from bilten.api.deps import get_now

    seen = {}

    async def answer(body, request, session, now):
        seen.update(body=body, session=session, now=now)
        return Response(b"the lane", status_code=299)

    monkeypatch.setattr(order_lane, "answer_order", answer)
    app = create_api()
    app.dependency_overrides[get_now] = lambda: "the test's clock"
    order = {"items": [{"ticket_type_id": A_TYPE, "quantity": 2}], "email": "a@example.org"}
    with TestClient(app) as client:
        answered = client.post(ORDER, json=order)

    assert (answered.status_code, answered.content) == (299, b"the lane")  # not the route's answer
    assert seen["body"].items[0].quantity == 2
    assert seen["now"] == "the test's clock"
    assert seen["session"] is not None


@pytest.mark.parametrize("garbage", [b"\x80abc", b'{"email": "\xff"}'])
def test_bytes_that_are_not_utf8_get_the_routes_400(with_lane, by_the_route, garbage):
    headers = {"Content-Type": "application/json"}
    lane = with_lane.post(ORDER, content=garbage, headers=headers)
    route = by_the_route.post(ORDER, content=garbage, headers=headers)
    assert lane.status_code == route.status_code == 400
    assert lane.content == route.content
