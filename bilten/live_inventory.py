"""Live "N left" for open event pages, without a Reflex state round trip per tab.

A tab's small script (`components/live_inventory.py`) opens the socket.io namespace `/live` on
Reflex's own server and asks to `watch` an event: it joins the room `inventory:<event id>`. Each
process keeps ONE relay per watched event: it subscribes to the event's channel in `bilten.live`
(one Redis subscription per process), reads the starting counts once, and emits every change to
its tabs, encoded once and written straight into their websockets (`bilten.live_fanout`). A sale
therefore costs one message per event and process, not a lock, a load and a save of every watching
tab's state. A relay sends at most one count per gap; the gap grows with the tabs watching in this
process (`RelayPacer`), so the frames a process writes per second stay within a budget
(LIVE_FRAMES_PER_SECOND) and a count still reaches every tab within a second.

Only public data travels: the counts of an event's visible ticket types, for published (or
cancelled) events. The database stays the judge of every sale; these numbers are a display.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable

import socketio

from bilten import live, live_fanout
from bilten.db import session_scope
from bilten.ids import parse_id
from bilten.observability import metrics
from bilten.services.errors import NotFound
from bilten.services.events import get_public_event
from bilten.services.orders import availability
from bilten.settings import get_settings

logger = logging.getLogger(__name__)

NAMESPACE = "/live"
INVENTORY_EVENT = "inventory"  # server -> tab: {"event_id", "available": {ticket type id: seats left}}
START_TIMEOUT_SECONDS = 10
RELAY_MIN_GAP_SECONDS = 0.25  # at most four messages a second per event and process
# The gap's ceiling: sales are published at most every 250 ms (services/orders/seats.py), so a count
# waits at most ~0.25 s there + 0.6 s here + the write to every tab: within a second.
RELAY_MAX_GAP_SECONDS = 0.6


def room_name(event_id: str) -> str:
    return live.inventory_channel(event_id)


def read_public_availability(event_id: uuid.UUID) -> dict[str, int] | None:
    """Seats left per visible ticket type, or None when the event is not public."""
    with session_scope() as session:
        try:
            detail = get_public_event(session, event_id=event_id)
        except NotFound:
            return None
        visible = {str(t.id) for t in detail.ticket_types}
        return {type_id: left for type_id, left in availability(session, event_id).items() if type_id in visible}


class RelayPacer:
    """When a relay may send its next count. The gap between two counts of one event is
    tabs / frames_per_second (the tabs watching any event in this process), between `min_gap` and
    `max_gap`: small audiences get four counts a second; 10,000 tabs over three processes get one
    every ~0.6 s, and the process writes at most `frames_per_second` frames a second while the
    audience stays under frames_per_second x max_gap tabs. `clock` is for tests."""

    def __init__(
        self,
        *,
        frames_per_second: float,
        min_gap: float = RELAY_MIN_GAP_SECONDS,
        max_gap: float = RELAY_MAX_GAP_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.frames_per_second = max(frames_per_second, 1.0)
        self.min_gap = min_gap
        self.max_gap = max(max_gap, min_gap)
        self._clock = clock
        self._sent_at: float | None = None

    def gap(self, tabs: int) -> float:
        return min(self.max_gap, max(self.min_gap, tabs / self.frames_per_second))

    def wait(self, tabs: int) -> float:
        """Seconds to wait before the next count may go (0: now, e.g. after a quiet moment)."""
        if self._sent_at is None:
            return 0.0
        return max(0.0, self._sent_at + self.gap(tabs) - self._clock())

    def sent(self) -> None:
        self._sent_at = self._clock()


class _Relay:
    """This process's follower of one event: the latest counts, and the task that emits them."""

    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self.public = False
        self.latest: dict[str, int] = {}
        self.task: asyncio.Task | None = None


class InventoryNamespace(socketio.AsyncNamespace):
    """`watch(event_id)` -> joins the event's room and answers with its counts (or an error code)."""

    def __init__(
        self,
        namespace: str = NAMESPACE,
        *,
        read_counts: Callable[[uuid.UUID], dict[str, int] | None] = read_public_availability,
    ) -> None:
        super().__init__(namespace)
        self._read_counts = read_counts
        self._fanout: live_fanout.Fanout | None = None
        self._relays: dict[str, _Relay] = {}
        self._watchers: dict[str, set[str]] = {}  # event id -> sids watching it in this process
        self._watching: dict[str, set[str]] = {}  # sid -> event ids it watches

    # -- socket.io handlers ------------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict, auth: object = None) -> bool:
        if sid not in self._watching:
            metrics.live_connection_opened()
        self._watching[sid] = set()
        return True

    async def on_disconnect(self, sid: str, reason: object = None) -> None:
        watching = self._watching.pop(sid, None)
        if watching is not None:
            metrics.live_connection_closed()
        if self._fanout is not None:
            self._fanout.forget(sid)
        for event_id in watching or ():
            self._forget(sid, event_id)

    async def on_watch(self, sid: str, event_id: object) -> dict:
        """Follow one event's counts. Answers `{"event_id", "available"}` or `{"error": code}`."""
        parsed = parse_id(event_id)
        if parsed is None:
            return {"error": "invalid_event"}
        key = str(parsed)
        watching = self._watching.setdefault(sid, set())
        if key not in watching and len(watching) >= get_settings().live_events_per_connection:
            return {"error": "too_many_events"}
        for _attempt in range(2):  # a relay may stop while we wait (its last tab left): start anew
            relay = self._relay(key)
            try:
                await asyncio.wait_for(relay.ready.wait(), START_TIMEOUT_SECONDS)
            except TimeoutError:
                return {"error": "unavailable"}
            if self._relays.get(key) is relay or not relay.public:
                break
        if not relay.public:
            return {"error": "not_found"}
        if sid not in self._watching:  # it disconnected meanwhile
            if not self._watchers.get(key):
                self._stop_relay(key)  # nobody else came: no relay without a room
            return {"error": "gone"}
        if key not in watching:
            watching.add(key)
            self._watchers.setdefault(key, set()).add(sid)
            await self.enter_room(sid, room_name(key))
        return {"event_id": key, "available": dict(relay.latest)}

    async def on_unwatch(self, sid: str, event_id: object) -> None:
        key = str(event_id)[:64]
        if key in self._watching.get(sid, set()):
            self._watching[sid].discard(key)
            await self.leave_room(sid, room_name(key))
            self._forget(sid, key)

    # -- relays ------------------------------------------------------------------------------------

    def _relay(self, event_id: str) -> _Relay:
        relay = self._relays.get(event_id)
        if relay is None:
            relay = _Relay()
            self._relays[event_id] = relay
            relay.task = asyncio.get_running_loop().create_task(self._follow(event_id, relay))
        return relay

    def tabs_watching(self) -> int:
        """(tab, event) pairs followed in this process: the frames one count of each event costs."""
        return sum(len(sids) for sids in self._watchers.values())

    def _fanout_to(self) -> live_fanout.Fanout:
        if self._fanout is None:
            self._fanout = live_fanout.Fanout(self.server, self.namespace)
        return self._fanout

    def _forget(self, sid: str, event_id: str) -> None:
        watchers = self._watchers.get(event_id)
        if watchers is None:
            return
        watchers.discard(sid)
        if not watchers:  # the last tab of this process left: stop following the event
            del self._watchers[event_id]
            self._stop_relay(event_id)

    def _stop_relay(self, event_id: str) -> None:
        relay = self._relays.pop(event_id, None)
        if relay is not None and relay.task is not None:
            relay.task.cancel()

    async def _follow(self, event_id: str, relay: _Relay) -> None:
        """Subscribe first, then read the start, so no sale slips in between."""
        try:
            async with live.subscription(live.inventory_channel(event_id)) as queue:
                start = await asyncio.to_thread(self._read_counts, uuid.UUID(event_id))
                if start is None:
                    relay.ready.set()  # not public: every waiting tab gets "not_found"
                    self._relays.pop(event_id, None)
                    return
                relay.latest, relay.public = start, True
                relay.ready.set()
                pacer = RelayPacer(frames_per_second=get_settings().live_frames_per_second)
                while True:
                    message = await queue.get()
                    changed = dict(message.get("available") or {})
                    # Every process publishes its own sales (each at most every 250 ms): the first
                    # change after a quiet moment goes out at once, later ones wait for the gap and
                    # go out together, so a room gets a few messages a second, not one per process.
                    wait = pacer.wait(self.tabs_watching())
                    if wait > 0:
                        await asyncio.sleep(wait)
                    while not queue.empty():
                        changed.update(queue.get_nowait().get("available") or {})
                    changed = {k: int(v) for k, v in changed.items() if k in relay.latest}
                    if not changed:
                        continue
                    relay.latest = {**relay.latest, **changed}
                    pacer.sent()
                    await self._fanout_to().send(
                        list(self._watchers.get(event_id, ())),
                        INVENTORY_EVENT,
                        {"event_id": event_id, "available": relay.latest},
                    )
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a display aid: log it, the next watch starts a new relay
            logger.warning("live inventory relay for %s stopped", event_id, exc_info=True)
            relay.ready.set()
            if self._relays.get(event_id) is relay:
                self._relays.pop(event_id, None)


def register(server: socketio.AsyncServer) -> InventoryNamespace:
    """Serve `/live` on Reflex's socket.io server (the same port and path as its `/_event`)."""
    namespace = InventoryNamespace()
    server.register_namespace(namespace)
    live_fanout.install(server)
    return namespace
