"""The `/live` namespace: tabs follow an event's seats left without any Reflex state.

A real socket.io server (python-socketio on uvicorn, as Reflex serves it) and real socket.io clients
over a websocket; the counts come from a SQLite database and from `bilten.live` (in-process here).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import socketio
import uvicorn
from sqlmodel import select

from bilten import live, live_fanout
from bilten.live_inventory import INVENTORY_EVENT, NAMESPACE, InventoryNamespace, read_public_availability
from bilten.models import EventStatus, TicketType
from tests.factories import make_event, make_organization

PATH = "/_event"  # Reflex's socket.io path: `/live` shares it with Reflex's own namespace


@pytest.fixture
def database(app_database):
    """Every `session_scope` of the namespace opens its session on this test's database."""
    return app_database


@pytest.fixture
def namespace() -> InventoryNamespace:
    return InventoryNamespace()


@pytest.fixture
def live_server(database, namespace, monkeypatch) -> Iterator[str]:
    monkeypatch.setattr("bilten.live_inventory.get_settings", lambda: _Limits())
    server = socketio.AsyncServer(async_mode="asgi", transports=["websocket"])
    server.register_namespace(namespace)
    live_fanout.install(server)  # as `register` does: counts are written straight into the websockets
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    runner = uvicorn.Server(
        uvicorn.Config(socketio.ASGIApp(server, socketio_path=PATH), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not runner.started:
        assert time.monotonic() < deadline, "the socket.io server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    runner.should_exit = True
    thread.join(timeout=10)


class _Limits:
    live_events_per_connection = 2
    live_frames_per_second = 3000
    redis_url = None


@pytest.fixture
def events(session, now):
    """A published event with a visible and a hidden ticket type, and a draft."""
    org = make_organization(session, now=now)
    public = make_event(session, organization=org, now=now, prices=(2500, 5000), quantity=40)
    hidden = session.exec(select(TicketType).where(TicketType.event_id == public.id, TicketType.position == 1)).one()
    hidden.is_hidden = True
    session.add(hidden)
    session.commit()
    visible = session.exec(select(TicketType).where(TicketType.event_id == public.id, TicketType.position == 0)).one()
    draft = make_event(session, organization=org, now=now, title="Secret", status=EventStatus.DRAFT)
    return {"public": str(public.id), "visible": str(visible.id), "hidden": str(hidden.id), "draft": str(draft.id)}


def test_only_visible_ticket_types_of_public_events_are_read(database, events):
    assert read_public_availability(uuid.UUID(events["public"])) == {events["visible"]: 40}
    assert read_public_availability(uuid.UUID(events["draft"])) is None
    assert read_public_availability(uuid.uuid4()) is None


async def _tab(base_url: str) -> tuple[socketio.AsyncClient, list[dict]]:
    received: list[dict] = []
    client = socketio.AsyncClient(reconnection=False)
    client.on(INVENTORY_EVENT, received.append, namespace=NAMESPACE)
    await client.connect(base_url, namespaces=[NAMESPACE], socketio_path=PATH, transports=["websocket"])
    return client, received


async def _until(condition, seconds: float = 3.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not received in time"
        await asyncio.sleep(0.01)


@pytest.mark.anyio
async def test_a_published_change_reaches_every_watching_tab_once_and_hides_the_hidden(live_server, namespace, events):
    first, first_got = await _tab(live_server)
    second, second_got = await _tab(live_server)
    bystander, bystander_got = await _tab(live_server)
    try:
        for client in (first, second):
            answer = await client.call("watch", events["public"], namespace=NAMESPACE, timeout=5)
            assert answer == {"event_id": events["public"], "available": {events["visible"]: 40}}

        channel = live.inventory_channel(events["public"])
        live.publish(channel, {"event_id": events["public"], "available": {events["visible"]: 37, events["hidden"]: 3}})
        await _until(lambda: first_got and second_got)
        for got in (first_got, second_got):
            assert got == [{"event_id": events["public"], "available": {events["visible"]: 37}}]
        assert bystander_got == []  # not watching: nothing

        # A tab that leaves gets nothing more; the other still does.
        await first.emit("unwatch", events["public"], namespace=NAMESPACE)
        await asyncio.sleep(0.1)
        live.publish(channel, {"event_id": events["public"], "available": {events["visible"]: 36}})
        await _until(lambda: len(second_got) == 2)
        await asyncio.sleep(0.1)
        assert len(first_got) == 1 and second_got[-1]["available"] == {events["visible"]: 36}

        # Joining later: the answer carries the latest counts, not the page's stale ones.
        again = await first.call("watch", events["public"], namespace=NAMESPACE, timeout=5)
        assert again["available"] == {events["visible"]: 36}
        assert list(namespace._relays) == [events["public"]]  # one relay for both tabs
        assert namespace._fanout is not None and namespace._fanout.direct >= 3  # not through socket.io's queues
    finally:
        for client in (first, second, bystander):
            await client.disconnect()
    await _until(lambda: not namespace._relays)  # the last tab gone: the event is no longer followed


@pytest.mark.anyio
async def test_drafts_unknown_ids_nonsense_and_too_many_events_are_refused(live_server, events, session, now):
    org = make_organization(session, now=now)
    others = [str(make_event(session, organization=org, now=now, title=f"Other {n}").id) for n in range(2)]
    client, got = await _tab(live_server)
    try:

        async def watch(event_id: object) -> dict:
            return await client.call("watch", event_id, namespace=NAMESPACE, timeout=5)

        assert await watch(events["draft"]) == {"error": "not_found"}
        assert await watch(str(uuid.uuid4())) == {"error": "not_found"}
        assert await watch("'; DROP TABLE event; --") == {"error": "invalid_event"}
        assert await watch({"id": events["public"]}) == {"error": "invalid_event"}
        assert "available" in await watch(events["public"])
        assert "available" in await watch(others[0])
        assert await watch(others[1]) == {"error": "too_many_events"}  # the limit here is 2
        assert "available" in await watch(events["public"])  # the same one again is no new place

        live.publish(live.inventory_channel(events["draft"]), {"event_id": events["draft"], "available": {"x": 1}})
        await asyncio.sleep(0.2)
        assert got == []  # nothing of the draft reached this socket
    finally:
        await client.disconnect()


@pytest.mark.anyio
async def test_a_larger_audience_gets_counts_further_apart(live_server, events, monkeypatch):
    """The relay's gap is tabs / LIVE_FRAMES_PER_SECOND (at least 0.25 s): with a budget of 4 frames
    a second, two watching tabs get a count every half second however fast the sales come."""
    monkeypatch.setattr(_Limits, "live_frames_per_second", 4)
    first, _ = await _tab(live_server)
    second, second_got = await _tab(live_server)
    arrived: list[float] = []
    first.on(INVENTORY_EVENT, lambda message: arrived.append(time.monotonic()), namespace=NAMESPACE)
    try:
        for client in (first, second):
            await client.call("watch", events["public"], namespace=NAMESPACE, timeout=5)
        channel = live.inventory_channel(events["public"])
        for left in (39, 38, 37):
            live.publish(channel, {"event_id": events["public"], "available": {events["visible"]: left}})
            await asyncio.sleep(0.05)
        await _until(lambda: len(arrived) >= 2 and len(second_got) >= 2)
        assert arrived[1] - arrived[0] >= 0.45  # not 0.25: the gap grew with the audience
        assert second_got[-1]["available"] == {events["visible"]: 37}  # the later sales rode along
    finally:
        for client in (first, second):
            await client.disconnect()
