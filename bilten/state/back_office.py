"""One event's back office (`/organizer/events/[event_id]`): sales, orders, check-in and staff.

Four states, one per section, so an action on one section only loads and saves that section's
data. `BackOfficeState` holds the guard's verdict and the sales figures; the other sections load
when their tab opens. Two per-tab background loops (chained from on_load, cancelled by Reflex
when the tab goes away) keep the sales figures and the check-in counters live.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from datetime import UTC, datetime

import reflex as rx

from bilten import live, routes
from bilten.db import session_scope
from bilten.i18n import format_datetime, format_money, translate
from bilten.models import CheckInResult, EventStatus, OrderStatus, TicketStatus
from bilten.services import checkins
from bilten.services import orders as order_service
from bilten.services import staff as staff_service
from bilten.services.access import Permission
from bilten.services.checkins import AttendeeRow
from bilten.services.errors import BiltenError, NotFound
from bilten.services.event_orders import (
    EventOrderRow,
    SalesSummary,
    event_sales_summary,
    export_attendees_csv,
    list_event_orders,
)
from bilten.services.staff import StaffRow
from bilten.state.auth import acting_user, error_text, guard, private_state
from bilten.state.i18n import LocaleState, current_locale

TABS = ("sales", "orders", "checkin", "staff")
ALL_STATUSES = "all"  # a select item cannot have an empty value
ORDER_STATUSES = [status.value for status in OrderStatus]
SALES_REFRESH_SECONDS = 1.0  # re-read the figures at most once a second, however busy the sale
MANUAL_GATE = "manual"  # the gate `checkins.check_in_manually` records


def _now() -> datetime:
    return datetime.now(UTC)


def _parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _route_event_id(state: rx.State) -> uuid.UUID:
    """The event named by the URL (services check the user may manage it)."""
    event_id = _parse_uuid(state.event_id)
    if event_id is None:
        raise NotFound()
    return event_id


def _drain(queue: asyncio.Queue) -> None:
    """Drop the messages that piled up: the next read covers them all."""
    while not queue.empty():
        queue.get_nowait()


def _percent(part: int, whole: int) -> int:
    return min(100, round(100 * part / whole)) if whole else 0


# ---------------------------------------------------------------------------------------------
# Public shapes: display text only


@dataclasses.dataclass(frozen=True)
class OfficeEventView:
    title: str = ""
    when: str = ""
    place: str = ""
    status: str = ""
    status_label: str = ""
    timezone_note: str = ""
    public_url: str = ""
    is_public: bool = False


@dataclasses.dataclass(frozen=True)
class SalesRowView:
    id: str
    name: str
    price: str
    sold: int
    held: int
    available: int
    capacity: int
    revenue: str
    percent: int


@dataclasses.dataclass(frozen=True)
class SalesTotalsView:
    sold: int = 0
    held: int = 0
    available: int = 0
    capacity: int = 0
    revenue: str = ""
    percent: int = 0
    capacity_note: str = ""


@dataclasses.dataclass(frozen=True)
class OrderView:
    id: str
    short_id: str
    created: str
    buyer_email: str
    buyer_name: str
    status: str
    status_label: str
    total: str
    tickets: int
    cancellable: bool
    refund: bool


@dataclasses.dataclass(frozen=True)
class AttendeeView:
    ticket_id: str
    holder: str
    buyer_email: str
    ticket_type: str
    status: str
    status_label: str
    valid: bool
    checked_in: bool
    checked_in_at: str
    gate: str
    checkin_id: str
    conflicts: int
    conflicts_label: str


@dataclasses.dataclass(frozen=True)
class GateView:
    gate: str
    checked_in: int


@dataclasses.dataclass(frozen=True)
class StaffView:
    user_id: str
    email: str
    full_name: str
    gate: str


def _gate_label(gate: str, locale: str) -> str:
    if gate == MANUAL_GATE:
        return translate("office.gate_manual", locale)
    return gate or translate("office.gate_none", locale)


def _money(amount_minor: int, currency: str, locale: str) -> str:
    return format_money(amount_minor, currency, locale)


# ---------------------------------------------------------------------------------------------
# The page: guard, event header, sales, export


@private_state
class BackOfficeState(rx.State):
    """The route gives this state the `event_id` var; `_event_id` is the one the guard allowed."""

    loaded: bool = False
    not_found: bool = False
    tab: str = "sales"
    timezone: str = "UTC"
    _event_id: str = ""
    _shown_event_id: str = ""  # the event the section states hold rows of (reset when it changes)
    _summary: SalesSummary | None = None

    @rx.var
    async def event(self) -> OfficeEventView:
        summary = self._summary
        if summary is None:
            return OfficeEventView()
        locale = (await self.get_state(LocaleState)).lang
        return OfficeEventView(
            title=summary.title,
            when=format_datetime(summary.starts_at, summary.timezone, locale),
            place=", ".join(part for part in (summary.venue_name, summary.city) if part),
            status=str(summary.status),
            status_label=translate(f"status.{summary.status}", locale),
            timezone_note=translate("event.timezone_note", locale, timezone=summary.timezone),
            public_url=routes.event_url(summary.event_id),
            is_public=summary.status != EventStatus.DRAFT,
        )

    @rx.var
    def ready(self) -> bool:
        """The guard let this user in and the event was read."""
        return self._summary is not None

    @rx.var
    async def sales_rows(self) -> list[SalesRowView]:
        summary = self._summary
        if summary is None:
            return []
        locale = (await self.get_state(LocaleState)).lang
        return [
            SalesRowView(
                id=str(row.ticket_type_id),
                name=row.name,
                price=(
                    translate("event.free", locale)
                    if row.price_minor == 0
                    else _money(row.price_minor, row.currency, locale)
                ),
                sold=row.sold,
                held=row.held,
                available=row.available,
                capacity=row.capacity,
                revenue=_money(row.revenue_minor, row.currency, locale),
                percent=_percent(row.sold, row.capacity),
            )
            for row in summary.ticket_types
        ]

    @rx.var
    async def sales_totals(self) -> SalesTotalsView:
        summary = self._summary
        if summary is None:
            return SalesTotalsView()
        locale = (await self.get_state(LocaleState)).lang
        revenue = " + ".join(_money(amount, currency, locale) for currency, amount in summary.revenue.items())
        return SalesTotalsView(
            sold=summary.sold,
            held=summary.held,
            available=summary.available,
            capacity=summary.capacity,
            revenue=revenue or "—",
            percent=_percent(summary.sold, summary.capacity),
            capacity_note=translate("office.of_capacity", locale, capacity=summary.capacity),
        )

    @rx.event
    async def load(self):
        """on_load: organizers of this event's organization and admins (Permission.EVENT_MANAGE)."""
        self.loaded = False
        self.not_found = False
        event_id = _parse_uuid(self.event_id)  # the dynamic route argument
        if self._shown_event_id != str(event_id):
            for section in (OfficeOrdersState, OfficeCheckinState, OfficeStaffState):
                (await self.get_state(section)).reset()  # another event's rows must not show here
            self._shown_event_id = str(event_id)
        self._event_id = ""
        self._summary = None
        try:
            if event_id is None:
                raise NotFound()
            with session_scope() as session:
                access = await guard(self, session, Permission.EVENT_MANAGE, now=_now(), event_id=event_id)
                if access.user is None:
                    self.loaded = True
                    return access.redirect
                self._summary = event_sales_summary(session, actor=access.user, event_id=event_id)
        except NotFound:
            self.not_found = True
            self.loaded = True
            return None
        self._event_id = str(event_id)
        self.timezone = self._summary.timezone
        requested = self.router.url.query_parameters.get("tab", "sales")
        self.tab = requested if requested in TABS else "sales"
        self.loaded = True
        # The live loops start only now that the guard let the user in. Chained from this on_load
        # handler they belong to the page-load chain: Reflex cancels them when the tab navigates
        # away, closes or drops its connection (a background event listed in on_load itself would
        # start at once, before this handler finished).
        loader = _section_loader(self.tab)
        return [*([loader] if loader else []), BackOfficeState.watch_sales, OfficeCheckinState.watch_checkins]

    @rx.event
    def set_tab(self, tab: str):
        if tab not in TABS or not self._event_id:
            return None
        self.tab = tab
        return _section_loader(tab)

    @rx.event
    async def export_attendees(self):
        """The attendee list as a CSV file, straight to the browser (it has no API token)."""
        locale = await current_locale(self)
        event_id = _parse_uuid(self._event_id)
        if event_id is None:
            return rx.toast.error(translate("error.forbidden", locale))
        try:
            with session_scope() as session:
                actor = await acting_user(self, session, _now())
                data = export_attendees_csv(session, actor=actor, event_id=event_id)
        except BiltenError as exc:
            return rx.toast.error(error_text(exc, locale))
        filename = f"attendees-{_now():%Y-%m-%d}-{str(event_id)[:8]}.csv"
        # A byte order mark: spreadsheet programs then read the file as UTF-8 (Arabic names).
        return rx.download(data="\ufeff" + data, filename=filename, mime_type="text/csv;charset=utf-8")

    @rx.event(background=True)
    async def watch_sales(self):
        """on_load: re-read the figures when seats change (`live.inventory_channel`), at most once
        a second. Subscribes first, then reads, so no change falls between the two."""
        async with self:
            event_id = self._event_id
        if not event_id:
            return
        async with live.subscription(live.inventory_channel(event_id)) as queue:
            if not await self._refresh_sales(event_id):
                return
            last = time.monotonic()
            while True:
                await queue.get()
                pause = last + SALES_REFRESH_SECONDS - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
                _drain(queue)
                if not await self._refresh_sales(event_id):
                    return
                last = time.monotonic()

    async def _refresh_sales(self, event_id: str) -> bool:
        """Re-read the summary for this tab's user; False when the tab no longer shows that event
        or the user lost access (the loop then ends)."""
        async with self:
            if self._event_id != event_id:
                return False
            try:
                with session_scope() as session:
                    actor = await acting_user(self, session, _now())
                    self._summary = event_sales_summary(session, actor=actor, event_id=uuid.UUID(event_id))
            except BiltenError:
                return False
        return True


def _section_loader(tab: str):  # noqa: ANN202 - an event handler or None
    return {
        "orders": OfficeOrdersState.load,
        "checkin": OfficeCheckinState.load,
        "staff": OfficeStaffState.load,
    }.get(tab)


# ---------------------------------------------------------------------------------------------
# Orders: search, filter, cancel (and refund) behind a confirmation


@private_state
class OfficeOrdersState(rx.State):
    loaded: bool = False
    search: str = ""
    status_filter: str = ALL_STATUSES
    _rows: list[EventOrderRow] = []

    # The confirmation dialog: which order, and what cancelling it does.
    confirm_open: bool = False
    confirm_refund: bool = False
    confirm_text: str = ""
    _confirm_order_id: str = ""

    @rx.var
    async def orders(self) -> list[OrderView]:
        office = await self.get_state(BackOfficeState)
        locale = (await self.get_state(LocaleState)).lang
        return [
            OrderView(
                id=str(row.id),
                short_id=str(row.id)[:8].upper(),
                created=format_datetime(row.created_at, office.timezone, locale),
                buyer_email=row.buyer_email,
                buyer_name=row.buyer_name,
                status=str(row.status),
                status_label=translate(f"office.order_status.{row.status}", locale),
                total=_money(row.total_minor, row.currency, locale),
                tickets=row.ticket_count,
                cancellable=row.cancellable,
                refund=row.refund_on_cancel,
            )
            for row in self._rows
        ]

    @rx.var
    def has_orders(self) -> bool:
        return bool(self._rows)

    @rx.event
    async def load(self):
        """When the Orders tab opens, and after each search or filter change."""
        self.loaded = False
        locale = await current_locale(self)
        status = None if self.status_filter == ALL_STATUSES else self.status_filter
        try:
            with session_scope() as session:
                actor = await acting_user(self, session, _now())
                self._rows = list_event_orders(
                    session, actor=actor, event_id=_route_event_id(self), search=self.search, status=status
                )
        except BiltenError as exc:
            self._rows = []
            self.loaded = True
            return rx.toast.error(error_text(exc, locale))
        self.loaded = True
        return None

    @rx.event
    def run_search(self, form_data: dict[str, str]):
        self.search = (form_data.get("search") or "")[:200]
        return OfficeOrdersState.load

    @rx.event
    def set_status_filter(self, status: str):
        self.status_filter = status if status in ORDER_STATUSES else ALL_STATUSES
        return OfficeOrdersState.load

    @rx.event
    async def ask_cancel(self, order_id: str):
        """Open the confirmation for one order of the list."""
        row = next((r for r in self._rows if str(r.id) == order_id and r.cancellable), None)
        if row is None:
            return
        locale = await current_locale(self)
        self._confirm_order_id = order_id
        self.confirm_refund = row.refund_on_cancel
        key = "office.confirm_refund_text" if row.refund_on_cancel else "office.confirm_cancel_text"
        self.confirm_text = translate(
            key, locale, email=row.buyer_email, amount=_money(row.total_minor, row.currency, locale)
        )
        self.confirm_open = True

    @rx.event
    def set_confirm_open(self, is_open: bool):
        self.confirm_open = is_open
        if not is_open:
            self._confirm_order_id = ""

    @rx.event
    async def confirm_cancel(self):
        locale = await current_locale(self)
        order_id = _parse_uuid(self._confirm_order_id)
        self.confirm_open = False
        self._confirm_order_id = ""
        if order_id is None:
            return None
        try:
            with session_scope() as session:
                actor = await acting_user(self, session, _now())
                order = order_service.cancel_order(session, order_id=order_id, now=_now(), actor=actor)
        except BiltenError as exc:
            return rx.toast.error(error_text(exc, locale))
        status = OrderStatus(order.status)
        self._rows = [dataclasses.replace(r, status=status) if r.id == order.id else r for r in self._rows]
        if status == OrderStatus.REFUNDED:
            amount = _money(order.total_minor, order.currency, locale)
            return rx.toast.success(translate("office.order_refunded", locale, email=order.buyer_email, amount=amount))
        return rx.toast.success(translate("office.order_cancelled", locale, email=order.buyer_email))


# ---------------------------------------------------------------------------------------------
# Check-in: the attendee list, manual check-in and undo, live counters


@private_state
class OfficeCheckinState(rx.State):
    loaded: bool = False
    search: str = ""
    checked_in: int = 0
    expected: int = 0
    _gates: dict[str, int] = {}
    _rows: list[AttendeeRow] = []

    @rx.var
    async def attendees(self) -> list[AttendeeView]:
        office = await self.get_state(BackOfficeState)
        locale = (await self.get_state(LocaleState)).lang
        return [
            AttendeeView(
                ticket_id=str(row.ticket_id),
                holder=row.holder_name or row.buyer_email,
                buyer_email=row.buyer_email,
                ticket_type=row.ticket_type,
                status=str(row.ticket_status),
                status_label=translate(f"office.ticket_status.{row.ticket_status}", locale),
                valid=row.ticket_status == TicketStatus.VALID,
                checked_in=row.checkin_id is not None,
                checked_in_at=format_datetime(row.checked_in_at, office.timezone, locale) if row.checked_in_at else "",
                gate=_gate_label(row.gate, locale) if row.checkin_id else "",
                checkin_id=str(row.checkin_id or ""),
                conflicts=row.conflicts,
                conflicts_label=translate("office.conflicts", locale, count=row.conflicts),
            )
            for row in self._rows
        ]

    @rx.var
    def has_attendees(self) -> bool:
        return bool(self._rows)

    @rx.var
    def conflict_tickets(self) -> int:
        """Tickets two doors let in while offline (shown in red)."""
        return sum(1 for row in self._rows if row.conflicts)

    @rx.var
    async def conflicts_text(self) -> str:
        locale = (await self.get_state(LocaleState)).lang
        return translate("office.conflict_tickets", locale, count=sum(1 for row in self._rows if row.conflicts))

    @rx.var
    def checked_in_percent(self) -> int:
        return _percent(self.checked_in, self.expected)

    @rx.var
    async def gates(self) -> list[GateView]:
        locale = (await self.get_state(LocaleState)).lang
        return [GateView(gate=_gate_label(gate, locale), checked_in=n) for gate, n in sorted(self._gates.items())]

    @rx.event
    async def load(self):
        """When the Check-in tab opens, and after each search."""
        self.loaded = False
        locale = await current_locale(self)
        try:
            with session_scope() as session:
                actor = await acting_user(self, session, _now())
                self._rows = checkins.list_attendees(
                    session, actor=actor, event_id=_route_event_id(self), search=self.search[:200]
                )
        except BiltenError as exc:
            self._rows = []
            self.loaded = True
            return rx.toast.error(error_text(exc, locale))
        self.loaded = True
        return None

    @rx.event
    def run_search(self, form_data: dict[str, str]):
        self.search = (form_data.get("search") or "")[:200]
        return OfficeCheckinState.load

    @rx.event
    async def check_in(self, ticket_id: str):
        """Let a ticket in by hand (the service applies the door's rules and audits it)."""
        locale = await current_locale(self)
        ticket_uuid = _parse_uuid(ticket_id)
        row = next((r for r in self._rows if r.ticket_id == ticket_uuid), None)
        if row is None:
            return None
        try:
            with session_scope() as session:
                actor = await acting_user(self, session, _now())
                verdict = checkins.check_in_manually(session, actor=actor, ticket_id=ticket_uuid, now=_now())
        except BiltenError as exc:
            return rx.toast.error(error_text(exc, locale))
        name = row.holder_name or row.buyer_email
        first = verdict.first_scan
        if verdict.result == CheckInResult.VALID and first is not None:
            self._rows = [
                dataclasses.replace(r, checked_in_at=first.scanned_at, gate=first.gate, checkin_id=verdict.checkin_id)
                if r.ticket_id == ticket_uuid
                else r
                for r in self._rows
            ]
            return rx.toast.success(translate("office.checked_in", locale, name=name))
        if verdict.result == CheckInResult.ALREADY_USED and first is not None:
            office = await self.get_state(BackOfficeState)
            when = format_datetime(first.scanned_at, office.timezone, locale)
            return [
                OfficeCheckinState.load,  # a door let it in since the list was read: show that
                rx.toast.warning(
                    translate("office.already_in", locale, name=name, when=when, gate=_gate_label(first.gate, locale))
                ),
            ]
        return rx.toast.error(
            translate(
                "office.not_admitted",
                locale,
                name=name,
                status=translate(f"office.ticket_status.{row.ticket_status}", locale),
            )
        )

    @rx.event
    async def undo(self, checkin_id: str):
        locale = await current_locale(self)
        checkin_uuid = _parse_uuid(checkin_id)
        row = next((r for r in self._rows if checkin_uuid and r.checkin_id == checkin_uuid), None)
        if row is None:
            return None
        try:
            with session_scope() as session:
                actor = await acting_user(self, session, _now())
                checkins.undo_checkin(session, actor=actor, checkin_id=checkin_uuid, now=_now())
        except BiltenError as exc:
            return [OfficeCheckinState.load, rx.toast.error(error_text(exc, locale))]
        self._rows = [
            dataclasses.replace(r, checked_in_at=None, gate="", checkin_id=None) if r.checkin_id == checkin_uuid else r
            for r in self._rows
        ]
        return rx.toast.success(translate("office.checkin_undone", locale, name=row.holder_name or row.buyer_email))

    @rx.event(background=True)
    async def watch_checkins(self):
        """on_load: the counters follow every scan, manual check-in and undo at this event
        (`live.checkins_channel` carries the new counts: no database read per scan)."""
        async with self:
            office = await self.get_state(BackOfficeState)
            event_id = office._event_id
        if not event_id:
            return
        async with live.subscription(live.checkins_channel(event_id)) as queue:
            async with self:
                # Read after subscribing: a scan in between is in this count or in the queue.
                with session_scope() as session:
                    counts = checkins.checkin_counts(session, uuid.UUID(event_id))
                self.checked_in, self.expected = counts.checked_in, counts.expected
                self._gates = {g.gate: g.checked_in for g in counts.by_gate}
            while True:
                message = await queue.get()
                while not queue.empty():  # only the latest counts matter
                    message = queue.get_nowait()
                async with self:
                    office = await self.get_state(BackOfficeState)
                    if office._event_id != event_id:
                        return
                    self.checked_in = int(message.get("checked_in", 0))
                    self.expected = int(message.get("expected", 0))
                    self._gates = {str(k): int(v) for k, v in (message.get("by_gate") or {}).items()}


# ---------------------------------------------------------------------------------------------
# Staff: who scans at this event's doors


@private_state
class OfficeStaffState(rx.State):
    loaded: bool = False
    _rows: list[StaffRow] = []

    @rx.var
    def staff(self) -> list[StaffView]:
        return [
            StaffView(user_id=str(r.user_id), email=r.email, full_name=r.full_name, gate=r.gate) for r in self._rows
        ]

    @rx.var
    def has_staff(self) -> bool:
        return bool(self._rows)

    @rx.event
    async def load(self):
        self.loaded = False
        locale = await current_locale(self)
        try:
            with session_scope() as session:
                actor = await acting_user(self, session, _now())
                self._rows = staff_service.list_staff(session, actor=actor, event_id=_route_event_id(self))
        except BiltenError as exc:
            self._rows = []
            self.loaded = True
            return rx.toast.error(error_text(exc, locale))
        self.loaded = True
        return None

    @rx.event
    async def add(self, form_data: dict[str, str]):
        locale = await current_locale(self)
        try:
            with session_scope() as session:
                actor = await acting_user(self, session, _now())
                added = staff_service.assign_staff(
                    session,
                    actor=actor,
                    event_id=_route_event_id(self),
                    email=(form_data.get("email") or "")[:254],
                    gate=(form_data.get("gate") or "")[:60],
                    now=_now(),
                )
        except BiltenError as exc:
            return rx.toast.error(error_text(exc, locale))
        others = [r for r in self._rows if r.user_id != added.user_id]
        self._rows = sorted([*others, added], key=lambda r: r.email)
        return [
            rx.toast.success(translate("office.staff_added", locale, email=added.email)),
            rx.call_script("document.getElementById('staff-form')?.reset()"),
        ]

    @rx.event
    async def remove(self, user_id: str):
        locale = await current_locale(self)
        user_uuid = _parse_uuid(user_id)
        row = next((r for r in self._rows if r.user_id == user_uuid), None)
        if row is None:
            return None
        try:
            with session_scope() as session:
                actor = await acting_user(self, session, _now())
                staff_service.remove_staff(
                    session, actor=actor, event_id=_route_event_id(self), user_id=user_uuid, now=_now()
                )
        except BiltenError as exc:
            return rx.toast.error(error_text(exc, locale))
        self._rows = [r for r in self._rows if r.user_id != user_uuid]
        return rx.toast.success(translate("office.staff_removed", locale, email=row.email))
