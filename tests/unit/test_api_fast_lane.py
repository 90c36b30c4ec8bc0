"""The server's outermost layer (bilten.api.ApiFastLane): API requests without an Origin go
straight to the API app; everything else (browsers, pages, Reflex's websocket) takes Reflex's
full path, with its CORS layer."""

from starlette.responses import PlainTextResponse
from starlette.testclient import TestClient

from bilten.api import ApiFastLane


async def _reflex_stand_in(scope, receive, send):
    if scope["type"] == "websocket":
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close"})
        return
    await PlainTextResponse("reflex", status_code=418)(scope, receive, send)


def test_an_api_request_without_origin_goes_straight_to_the_api():
    client = TestClient(ApiFastLane(_reflex_stand_in))
    answer = client.get("/api/openapi.json")
    assert answer.status_code == 200
    assert answer.json()["info"]["title"] == "Bilten API"
    assert answer.headers["x-content-type-options"] == "nosniff"  # the API's own security headers


def test_a_browser_request_with_an_origin_takes_reflexs_full_path():
    client = TestClient(ApiFastLane(_reflex_stand_in))
    answer = client.get("/api/openapi.json", headers={"Origin": "https://elsewhere.example"})
    assert answer.status_code == 418


def test_pages_and_reflexs_own_routes_are_not_the_apis():
    client = TestClient(ApiFastLane(_reflex_stand_in))
    assert client.get("/events").status_code == 418
    assert client.get("/ping").status_code == 418
    assert client.get("/apiary").status_code == 418  # not under /api/
    with client.websocket_connect("/api/v1/live") as socket:  # a websocket is never the fast lane's
        assert socket is not None
