"""The door scanner's server side: signing a phone in, the events it may scan, live counters.

Scanning itself does not go through this state: the page's JS module (`assets/offline_scan.js`)
calls the REST API with the device token, and decides on the device when the network is gone.
The device token lives in the browser's localStorage (the module reads it from there); it is
the phone's long-lived, revocable credential (`bilten.services.devices`), never a password.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import reflex as rx
from sqlmodel import Session

from bilten import live, ratelimit, routes
from bilten.db import session_scope
from bilten.i18n import format_datetime
from bilten.ids import parse_id
from bilten.services import checkins, devices, staff
from bilten.services.errors import InvalidToken
from bilten.state.base import service_call
from bilten.state.ratelimits import refused_by_limit

# localStorage keys, shared with assets/offline_scan.js.
TOKEN_KEY = "bilten_scan_token"
DEVICE_KEY = "bilten_scan_device"
EMAIL_KEY = "bilten_scan_email"
DEFAULT_DEVICE_NAME = "Scanner"


def _counts(session: Session, event_id: uuid.UUID) -> dict[str, Any]:
    counts = checkins.checkin_counts(session, event_id)
    return {
        "checked_in": counts.checked_in,
        "expected": counts.expected,
        "by_gate": [{"gate": g.gate, "n": g.checked_in} for g in counts.by_gate],
    }


def _counts_from_message(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "checked_in": int(message["checked_in"]),
        "expected": int(message["expected"]),
        "by_gate": [{"gate": gate, "n": int(n)} for gate, n in sorted(message["by_gate"].items())],
    }


class ScanState(rx.State):
    """One phone at the door. Only public facts reach the browser: the device's own token, id and
    email, the events it may scan (title, time, venue, gate) and their counters."""

    device_token: str = rx.LocalStorage("", name=TOKEN_KEY)
    device_id: str = rx.LocalStorage("", name=DEVICE_KEY)
    device_email: str = rx.LocalStorage("", name=EMAIL_KEY)

    events: list[dict[str, str]] = []
    # event id -> {"checked_in", "expected", "by_gate": [{"gate", "n"}]}
    counts: dict[str, dict[str, Any]] = {}

    loaded: bool = False
    sign_in_error: str = ""
    device_notice: str = ""

    def _forget_device(self) -> None:
        self.device_token = ""
        self.device_id = ""
        self.device_email = ""
        self.events = []
        self.counts = {}

    @rx.event
    async def load(self):
        """on_load: check the device's token, list its events and their counters, then follow
        the counters live (the loop belongs to this page load: Reflex cancels it when the tab
        goes away or reconnects)."""
        self.sign_in_error = ""
        if not self.device_token:
            self._forget_device()
            self.loaded = True
            return None
        async with service_call(self) as call:
            user, _device = devices.user_for_device_token(call.session, token=self.device_token, now=call.now)
            events = staff.scannable_events(call.session, actor=user, now=call.now)
            self.events = [
                {
                    "id": str(e.id),
                    "title": e.title,
                    "when": format_datetime(e.starts_at, e.timezone, call.locale),
                    "venue": e.venue_name,
                    "gate": e.gate,
                    "timezone": e.timezone,
                }
                for e in events
            ]
            self.counts = {str(e.id): _counts(call.session, e.id) for e in events}
        if isinstance(call.failure, InvalidToken):
            self._forget_device()
            self.device_notice = call.text("scan.device_revoked")
            self.loaded = True
            return None
        if call.failed:
            return call.error_toast()
        self.device_notice = ""
        self.loaded = True
        return ScanState.follow_counts

    @rx.event(background=True)
    async def follow_counts(self):
        """Live "checked in / expected, per gate" for every event of this device."""
        async with self:
            event_ids = list(self.counts)
        if not event_ids:
            return
        async with contextlib.AsyncExitStack() as stack:
            queues = [
                await stack.enter_async_context(live.subscription(live.checkins_channel(event_id)))
                for event_id in event_ids
            ]
            # Subscribed first, then read: no check-in falls between the two.
            # A read for the live loop, like the counters' messages: no user, no service to call.
            with session_scope() as session:
                fresh = {event_id: _counts(session, parse_id(event_id)) for event_id in event_ids}
            async with self:
                self.counts = {**self.counts, **fresh}
            merged: asyncio.Queue = asyncio.Queue()

            async def forward(queue: asyncio.Queue) -> None:
                while True:
                    merged.put_nowait(await queue.get())

            forwarders = [asyncio.create_task(forward(queue)) for queue in queues]
            try:
                while True:
                    message = await merged.get()
                    async with self:
                        if not self.device_token:
                            return
                        self.counts = {**self.counts, str(message["event_id"]): _counts_from_message(message)}
            finally:
                for task in forwarders:
                    task.cancel()

    @rx.event
    async def sign_in(self, form_data: dict[str, str]):
        """Sign this phone in once: it keeps a device token for the whole event."""
        self.sign_in_error = ""
        name = (form_data.get("device_name") or "").strip() or DEFAULT_DEVICE_NAME
        if refused := await refused_by_limit(self, ratelimit.DEVICE_SIGN_IN, account=form_data.get("email", "")):
            return refused
        async with service_call(self) as call:
            signed_in = devices.sign_in_device(
                call.session,
                email=form_data.get("email", ""),
                password=form_data.get("password", ""),
                name=name,
                now=call.now,
            )
        if call.failed:
            self.sign_in_error = call.error
            return None
        self.device_token = signed_in.token
        self.device_id = str(signed_in.device_id)
        self.device_email = signed_in.email
        self.device_notice = ""
        # Load the page again: its on_load lists the events and starts the live counters.
        return rx.redirect(routes.SCAN, replace=True)

    @rx.event
    async def sign_out(self):
        """Sign this phone out: its token is revoked on the server and forgotten here."""
        if self.device_token:
            # Already revoked or expired, the call fails: forgetting the token is all that is left.
            async with service_call(self) as call:
                user, device = devices.user_for_device_token(call.session, token=self.device_token, now=call.now)
                devices.revoke_device(call.session, actor=user, device_id=device.id, now=call.now)
        self._forget_device()
        self.device_notice = ""
        return rx.redirect(routes.SCAN, replace=True)
