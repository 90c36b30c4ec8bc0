"""One event's back office (`/organizer/events/[event_id]`): live dashboard, orders, check-in,
staff and exports.

Owners, managers and viewers of the event's organization (and admins) open it
(`Permission.EVENT_VIEW`); only owners, managers and admins act on it (`EVENT_MANAGE`: cancel and
refund, resend tickets, manual check-in, staff). Viewers get the same figures and lists without
the buttons, and the services refuse the actions anyway.

One state per section, so an action on one section only loads and saves that section's data.
`BackOfficeState` holds the guard's verdict and the dashboard's figures, kept live by a per-tab
background loop chained from on_load (Reflex cancels it when the tab goes away).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid

import reflex as rx

from bilten import clock, export_jobs, live, ratelimit, routes
from bilten.db import session_scope
from bilten.i18n import catalog, format_datetime, format_money, translate, translate_plural
from bilten.models import CheckInResult, EventStatus, ExportStatus, OrderStatus, TicketStatus, User
from bilten.services import checkins, event_orders, exports, reports
from bilten.services import orders as order_service
from bilten.services import staff as staff_service
from bilten.services.access import Permission, is_allowed
from bilten.services.errors import BiltenError, NotFound
from bilten.services.event_orders import AttendeeRow, EventOrderRow, OrderDetail
from bilten.services.exports import ExportView
from bilten.services.reports import EventStats
from bilten.services.staff import StaffRow
from bilten.services.ticket_references import format_reference
from bilten.state.auth import AuthState, acting_user, error_text, guard, private_state
from bilten.state.dashboard import (
    ACCESS_RECHECK_SECONDS,
    chart_points,
    gate_label,
    money_text,
    next_change,
    percent,
    shared_figures,
)
from bilten.state.i18n import LocalizedState, current_locale
from bilten.state.paging import PAGE_SIZE, PagePaging
from bilten.state.ratelimits import refused_by_limit

TABS = ("sales", "orders", "checkin", "staff", "exports")
MANAGER_TABS = frozenset({"staff"})  # viewers do not see who scans at the door
ALL_STATUSES = "all"  # a select item cannot have an empty value
ORDER_STATUSES = [status.value for status in OrderStatus]
EXPORT_KINDS = ("attendees", "orders")
EXPORT_FORMATS = ("csv", "xlsx")
EXPORT_POLL_SECONDS = 2.0  # progress is pushed; this re-read only covers a lost message


def _parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _route_event_id(state: rx.State) -> uuid.UUID:
    """The event named by the URL (services check the user may see or manage it)."""
    event_id = _parse_uuid(state.event_id)
    if event_id is None:
        raise NotFound()
    return event_id


def _money(amount_minor: int, currency: str, locale: str) -> str:
    return format_money(amount_minor, currency, locale)


def _short(value: object) -> str:
    return str(value)[:8].upper()


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
    paid_orders: int = 0
    checked_in: int = 0
    expected: int = 0
    checked_in_percent: int = 0
    checked_in_note: str = ""


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
class DetailLineView:
    name: str
    quantity: int
    unit_price: str
    total: str


@dataclasses.dataclass(frozen=True)
class DetailTicketView:
    id: str
    short_id: str
    reference: str  # K7QM-4XHT-2P
    ticket_type: str
    holder: str
    status: str
    status_label: str
    checked_in: str


@dataclasses.dataclass(frozen=True)
class DetailPaymentView:
    provider: str
    status: str
    amount: str
    refunded: str
    created: str


@dataclasses.dataclass(frozen=True)
class HistoryView:
    when: str
    action: str
    label: str
    actor: str


@dataclasses.dataclass(frozen=True)
class OrderDetailView:
    id: str = ""
    short_id: str = ""
    status: str = ""
    status_label: str = ""
    buyer_name: str = ""
    buyer_email: str = ""
    buyer_phone: str = ""
    created: str = ""
    paid: str = ""
    total: str = ""
    cancellable: bool = False
    refund: bool = False
    resendable: bool = False


@dataclasses.dataclass(frozen=True)
class AttendeeView:
    ticket_id: str
    short_id: str
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


@dataclasses.dataclass(frozen=True)
class ExportRowView:
    id: str
    kind: str
    file_format: str
    created: str
    status: str
    status_label: str
    percent: int
    progress: str
    active: bool
    done: bool
    download_url: str
    error: str


def _history_label(action: str, locale: str) -> str:
    key = f"history.{action}"
    return translate(key, locale) if key in catalog("en") else action


# ---------------------------------------------------------------------------------------------
# The page: guard, event header, live dashboard


@private_state
class BackOfficeState(LocalizedState, rx.State):
    """The route gives this state the `event_id` var; `_event_id` is the one the guard allowed."""

    loaded: bool = False
    not_found: bool = False
    tab: str = "sales"
    timezone: str = "UTC"
    can_manage: bool = False  # owner, manager, admin: the action buttons show
    _event_id: str = ""
    _shown_event_id: str = ""  # the event the section states hold rows of (reset when it changes)
    _stats: EventStats | None = None

    @rx.var
    def event(self) -> OfficeEventView:
        stats = self._stats
        if stats is None:
            return OfficeEventView()
        locale = self._display_locale()
        return OfficeEventView(
            title=stats.title,
            when=format_datetime(stats.starts_at, stats.timezone, locale),
            place=", ".join(part for part in (stats.venue_name, stats.city) if part),
            status=str(stats.status),
            status_label=translate(f"status.{stats.status}", locale),
            timezone_note=translate("event.timezone_note", locale, timezone=stats.timezone),
            public_url=routes.event_url(stats.event_id),
            is_public=stats.status != EventStatus.DRAFT,
        )

    @rx.var
    def ready(self) -> bool:
        """The guard let this user in and the event was read."""
        return self._stats is not None

    @rx.var
    def sales_rows(self) -> list[SalesRowView]:
        stats = self._stats
        if stats is None:
            return []
        locale = self._display_locale()
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
                available=row.remaining,
                capacity=row.capacity,
                revenue=_money(row.revenue_minor, row.currency, locale),
                percent=percent(row.sold, row.capacity),
            )
            for row in stats.ticket_types
        ]

    @rx.var
    def sales_totals(self) -> SalesTotalsView:
        stats = self._stats
        if stats is None:
            return SalesTotalsView()
        locale = self._display_locale()
        return SalesTotalsView(
            sold=stats.sold,
            held=stats.held,
            available=stats.remaining,
            capacity=stats.capacity,
            revenue=money_text(stats.revenue, locale),
            percent=percent(stats.sold, stats.capacity),
            capacity_note=translate("office.of_capacity", locale, capacity=stats.capacity),
            paid_orders=stats.paid_orders,
            checked_in=stats.checked_in,
            expected=stats.expected,
            checked_in_percent=percent(stats.checked_in, stats.expected),
            checked_in_note=translate("dashboard.of_expected", locale, expected=stats.expected),
        )

    @rx.var
    def sales_chart(self) -> list[dict[str, str | int]]:
        stats = self._stats
        return chart_points(stats.sales_over_time, stats.bucket) if stats else []

    @rx.var
    def chart_per_hour(self) -> bool:
        return self._stats is not None and self._stats.bucket == reports.HOUR

    @rx.var
    def gates(self) -> list[GateView]:
        stats = self._stats
        if stats is None:
            return []
        locale = self._display_locale()
        return [GateView(gate=gate_label(g.gate, locale), checked_in=g.checked_in) for g in stats.by_gate]

    @rx.event
    async def load(self):
        """on_load: the event's team (owner, manager, viewer) and admins (Permission.EVENT_VIEW)."""
        await self._remember_locale()
        self.loaded = False
        self.not_found = False
        event_id = _parse_uuid(self.event_id)  # the dynamic route argument
        if self._shown_event_id != str(event_id):
            for section in (OfficeOrdersState, OfficeCheckinState, OfficeStaffState, OfficeExportsState):
                (await self.get_state(section)).reset()  # another event's rows must not show here
            self._shown_event_id = str(event_id)
        self._event_id = ""
        self._stats = None
        self.can_manage = False
        try:
            if event_id is None:
                raise NotFound()
            with session_scope() as session:
                access = await guard(self, session, Permission.EVENT_VIEW, now=clock.now(), event_id=event_id)
                if access.user is None:
                    self.loaded = True
                    return access.redirect
                self._stats = reports.event_stats(session, actor=access.user, event_id=event_id, now=clock.now())
                self.can_manage = is_allowed(session, access.user, Permission.EVENT_MANAGE, event_id=event_id)
        except NotFound:
            self.not_found = True
            self.loaded = True
            return None
        self._event_id = str(event_id)
        self.timezone = self._stats.timezone
        requested = self.router.url.query_parameters.get("tab", "sales")
        allowed = requested in TABS and (self.can_manage or requested not in MANAGER_TABS)
        self.tab = requested if allowed else "sales"
        self.loaded = True
        # The live loop starts only now that the guard let the user in. Chained from this on_load
        # handler it belongs to the page-load chain: Reflex cancels it when the tab navigates away,
        # closes or drops its connection (a background event listed in on_load itself would start
        # at once, before this handler finished).
        loader = _section_loader(self.tab)
        return [*([loader] if loader else []), BackOfficeState.watch_dashboard]

    @rx.event
    def set_tab(self, tab: str):
        if tab not in TABS or not self._event_id or (tab in MANAGER_TABS and not self.can_manage):
            return None
        self.tab = tab
        return _section_loader(tab)

    @rx.event(background=True)
    async def watch_dashboard(self):
        """on_load: re-read the figures after each sale, expiry, cancellation (`inventory_channel`)
        and scan (`checkins_channel`) of this event: at most twice a second, shared by the tabs
        of this process (see `bilten.state.dashboard`). Subscribes first, then reads, so no change
        falls between the two."""
        async with self:
            event_id = self._event_id
            auth_user = await acting_user_id(self)
        if not event_id:
            return
        event_uuid = uuid.UUID(event_id)
        channels = (live.inventory_channel(event_id), live.checkins_channel(event_id))
        async with live.subscription(*channels) as queue:
            fresh_after = time.monotonic()
            checked_access = fresh_after
            while True:
                stats = await shared_figures.get(
                    f"event:{event_id}", lambda: _read_event_stats(event_uuid), fresh_after=fresh_after
                )
                async with self:
                    if self._event_id != event_id:
                        return  # the tab moved on to another event
                    self._stats = stats
                fresh_after = await next_change(queue, last_refresh=time.monotonic())
                if time.monotonic() - checked_access > ACCESS_RECHECK_SECONDS:
                    if not await asyncio.to_thread(_may_view, auth_user, event_uuid):
                        return
                    checked_access = time.monotonic()


async def acting_user_id(state: rx.State) -> str:
    """The signed-in user's id, for a background loop that re-checks access without the cookie."""
    return (await state.get_state(AuthState))._user_id


def _read_event_stats(event_id: uuid.UUID) -> EventStats:
    with session_scope() as session:
        return reports.compute_event_stats(session, event_id, now=clock.now())


def _may_view(user_id: str, event_id: uuid.UUID) -> bool:
    """Still on the team (a loop outlives a role change only by ACCESS_RECHECK_SECONDS)."""
    with session_scope() as session:
        user = session.get(User, uuid.UUID(user_id)) if user_id else None
        return is_allowed(session, user, Permission.EVENT_VIEW, event_id=event_id)


def _section_loader(tab: str):  # noqa: ANN202 - an event handler or None
    return {
        "orders": OfficeOrdersState.load,
        "checkin": OfficeCheckinState.load,
        "staff": OfficeStaffState.load,
        "exports": OfficeExportsState.load,
    }.get(tab)


# ---------------------------------------------------------------------------------------------
# Orders: search, pages, details with history, resend, cancel (and refund) behind a confirmation


@private_state
class OfficeOrdersState(PagePaging, rx.State):
    loaded: bool = False
    search: str = ""
    status_filter: str = ALL_STATUSES
    _rows: list[EventOrderRow] = []
    # The event's time zone, copied by `load`: a computed var reading BackOfficeState would load
    # this tab with every event of the back office (its live figures too).
    _timezone: str = "UTC"

    # The order open in the details dialog.
    detail_open: bool = False
    _detail: OrderDetail | None = None

    # The confirmation dialog: which order, and what cancelling it does.
    confirm_open: bool = False
    confirm_refund: bool = False
    confirm_text: str = ""
    _confirm_order_id: str = ""

    @rx.var
    def orders(self) -> list[OrderView]:
        locale = self._display_locale()
        return [self._order_view(row, self._timezone, locale) for row in self._rows]

    @staticmethod
    def _order_view(row: EventOrderRow, timezone: str, locale: str) -> OrderView:
        return OrderView(
            id=str(row.id),
            short_id=_short(row.id),
            created=format_datetime(row.created_at, timezone, locale),
            buyer_email=row.buyer_email,
            buyer_name=row.buyer_name,
            status=str(row.status),
            status_label=translate(f"office.order_status.{row.status}", locale),
            total=_money(row.total_minor, row.currency, locale),
            tickets=row.ticket_count,
            cancellable=row.cancellable,
            refund=row.refund_on_cancel,
        )

    @rx.var
    def has_orders(self) -> bool:
        return bool(self._rows)

    @rx.var
    def detail(self) -> OrderDetailView:
        detail = self._detail
        if detail is None:
            return OrderDetailView()
        locale = self._display_locale()
        row = detail.order
        return OrderDetailView(
            id=str(row.id),
            short_id=_short(row.id),
            status=str(row.status),
            status_label=translate(f"office.order_status.{row.status}", locale),
            buyer_name=row.buyer_name,
            buyer_email=row.buyer_email,
            buyer_phone=detail.buyer_phone,
            created=format_datetime(row.created_at, self._timezone, locale),
            paid=format_datetime(detail.paid_at, self._timezone, locale) if detail.paid_at else "—",
            total=_money(row.total_minor, row.currency, locale),
            cancellable=row.cancellable,
            refund=row.refund_on_cancel,
            resendable=row.status == OrderStatus.PAID,
        )

    @rx.var
    def detail_lines(self) -> list[DetailLineView]:
        detail = self._detail
        if detail is None:
            return []
        locale = self._display_locale()
        currency = detail.order.currency
        return [
            DetailLineView(
                name=line.ticket_type,
                quantity=line.quantity,
                unit_price=_money(line.unit_price_minor, currency, locale),
                total=_money(line.line_total_minor, currency, locale),
            )
            for line in detail.lines
        ]

    @rx.var
    def detail_tickets(self) -> list[DetailTicketView]:
        detail = self._detail
        if detail is None:
            return []
        locale = self._display_locale()
        return [
            DetailTicketView(
                id=str(t.id),
                short_id=_short(t.id),
                reference=format_reference(t.reference),
                ticket_type=t.ticket_type,
                holder=t.holder_name or "—",
                status=str(t.status),
                status_label=translate(f"office.ticket_status.{t.status}", locale),
                checked_in=format_datetime(t.checked_in_at, self._timezone, locale) if t.checked_in_at else "—",
            )
            for t in detail.tickets
        ]

    @rx.var
    def detail_payments(self) -> list[DetailPaymentView]:
        detail = self._detail
        if detail is None:
            return []
        locale = self._display_locale()
        return [
            DetailPaymentView(
                provider=p.provider,
                status=p.status,
                amount=_money(p.amount_minor, p.currency, locale),
                refunded=_money(p.refunded_minor, p.currency, locale) if p.refunded_minor else "—",
                created=format_datetime(p.created_at, self._timezone, locale),
            )
            for p in detail.payments
        ]

    @rx.var
    def detail_history(self) -> list[HistoryView]:
        detail = self._detail
        if detail is None:
            return []
        locale = self._display_locale()
        return [
            HistoryView(
                when=format_datetime(entry.at, self._timezone, locale),
                action=entry.action,
                label=_history_label(entry.action, locale),
                actor=entry.actor_email or translate("history.system", locale),
            )
            for entry in detail.history
        ]

    @rx.event
    async def load(self):
        """When the Orders tab opens, and after each search, filter or page change."""
        self.loaded = False
        locale = await self._remember_locale()
        self._timezone = (await self.get_state(BackOfficeState)).timezone
        status = None if self.status_filter == ALL_STATUSES else self.status_filter
        try:
            with session_scope() as session:
                actor = await acting_user(self, session, clock.now())
                found = event_orders.list_event_orders(
                    session,
                    actor=actor,
                    event_id=_route_event_id(self),
                    search=self.search,
                    status=status,
                    page=self.page,
                    page_size=PAGE_SIZE,
                )
        except BiltenError as exc:
            self._rows = []
            self.loaded = True
            return rx.toast.error(error_text(exc, locale))
        self._rows, self.total, self.pages = found.rows, found.total, found.pages
        if self.page > found.pages:  # the list shrank under us: show its last page
            self.page = found.pages
            return OfficeOrdersState.load
        self.loaded = True
        return None

    @rx.event
    def run_search(self, form_data: dict[str, str]):
        self.search = (form_data.get("search") or "")[:200]
        self.page = 1
        return OfficeOrdersState.load

    @rx.event
    def set_status_filter(self, status: str):
        self.status_filter = status if status in ORDER_STATUSES else ALL_STATUSES
        self.page = 1
        return OfficeOrdersState.load

    @rx.event
    async def open_detail(self, order_id: str):
        locale = await self._remember_locale()
        order_uuid = _parse_uuid(order_id)
        if order_uuid is None:
            return None
        try:
            with session_scope() as session:
                actor = await acting_user(self, session, clock.now())
                self._detail = event_orders.order_detail(session, actor=actor, order_id=order_uuid)
        except BiltenError as exc:
            return rx.toast.error(error_text(exc, locale))
        if str(self._detail.event_id) != str(_route_event_id(self)):
            self._detail = None  # an order of another event: not on this page
            return None
        self.detail_open = True
        return None

    @rx.event
    def set_detail_open(self, is_open: bool):
        self.detail_open = is_open
        if not is_open:
            self._detail = None

    @rx.event
    async def resend(self, order_id: str):
        """Send the buyer their tickets again (owners, managers, admins)."""
        locale = await self._remember_locale()
        order_uuid = _parse_uuid(order_id)
        if order_uuid is None:
            return None
        if refused := await refused_by_limit(self, ratelimit.RESEND, account=order_uuid):
            return refused
        try:
            with session_scope() as session:
                actor = await acting_user(self, session, clock.now())
                order = event_orders.resend_order_tickets(session, actor=actor, order_id=order_uuid, now=clock.now())
                if self._detail is not None and self._detail.order.id == order_uuid:
                    self._detail = event_orders.order_detail(session, actor=actor, order_id=order_uuid)
        except BiltenError as exc:
            return rx.toast.error(error_text(exc, locale))
        return rx.toast.success(translate("office.tickets_resent", locale, email=order.buyer_email))

    @rx.event
    async def ask_cancel(self, order_id: str):
        """Open the confirmation for one order of the list or of the details dialog."""
        rows = list(self._rows) + ([self._detail.order] if self._detail is not None else [])
        row = next((r for r in rows if str(r.id) == order_id and r.cancellable), None)
        if row is None:
            return
        locale = await self._remember_locale()
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
        locale = await self._remember_locale()
        order_id = _parse_uuid(self._confirm_order_id)
        self.confirm_open = False
        self._confirm_order_id = ""
        if order_id is None:
            return None
        try:
            with session_scope() as session:
                actor = await acting_user(self, session, clock.now())
                order = order_service.cancel_order(session, order_id=order_id, now=clock.now(), actor=actor)
                if self._detail is not None and self._detail.order.id == order_id:
                    self._detail = event_orders.order_detail(session, actor=actor, order_id=order_id)
        except BiltenError as exc:
            return rx.toast.error(error_text(exc, locale))
        status = OrderStatus(order.status)
        self._rows = [dataclasses.replace(r, status=status) if r.id == order.id else r for r in self._rows]
        if status == OrderStatus.REFUNDED:
            amount = _money(order.total_minor, order.currency, locale)
            return rx.toast.success(translate("office.order_refunded", locale, email=order.buyer_email, amount=amount))
        return rx.toast.success(translate("office.order_cancelled", locale, email=order.buyer_email))


# ---------------------------------------------------------------------------------------------
# Check-in: the attendee list, manual check-in and undo (counters come with the dashboard)


@private_state
class OfficeCheckinState(PagePaging, rx.State):
    loaded: bool = False
    search: str = ""
    _page_text_key: str = "office.page_of_tickets"
    _rows: list[AttendeeRow] = []
    # The event's time zone, copied by `load`: a computed var reading BackOfficeState would load
    # this tab with every event of the back office (its live figures too).
    _timezone: str = "UTC"

    @rx.var
    def attendees(self) -> list[AttendeeView]:
        locale = self._display_locale()
        return [
            AttendeeView(
                ticket_id=str(row.ticket_id),
                short_id=_short(row.ticket_id),
                holder=row.holder_name or row.buyer_email,
                buyer_email=row.buyer_email,
                ticket_type=row.ticket_type,
                status=str(row.ticket_status),
                status_label=translate(f"office.ticket_status.{row.ticket_status}", locale),
                valid=row.ticket_status == TicketStatus.VALID,
                checked_in=row.checkin_id is not None,
                checked_in_at=format_datetime(row.checked_in_at, self._timezone, locale) if row.checked_in_at else "",
                gate=gate_label(row.gate, locale) if row.checkin_id else "",
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
        """Tickets two doors let in while offline (shown in red), on this page."""
        return sum(1 for row in self._rows if row.conflicts)

    @rx.var
    def conflicts_text(self) -> str:
        locale = self._display_locale()
        return translate("office.conflict_tickets", locale, count=sum(1 for row in self._rows if row.conflicts))

    @rx.event
    async def load(self):
        """When the Check-in tab opens, and after each search or page change."""
        self.loaded = False
        locale = await self._remember_locale()
        self._timezone = (await self.get_state(BackOfficeState)).timezone
        try:
            with session_scope() as session:
                actor = await acting_user(self, session, clock.now())
                found = event_orders.list_event_attendees(
                    session,
                    actor=actor,
                    event_id=_route_event_id(self),
                    search=self.search[:200],
                    page=self.page,
                    page_size=PAGE_SIZE,
                )
        except BiltenError as exc:
            self._rows = []
            self.loaded = True
            return rx.toast.error(error_text(exc, locale))
        self._rows, self.total, self.pages = found.rows, found.total, found.pages
        if self.page > found.pages:
            self.page = found.pages
            return OfficeCheckinState.load
        self.loaded = True
        return None

    @rx.event
    def run_search(self, form_data: dict[str, str]):
        self.search = (form_data.get("search") or "")[:200]
        self.page = 1
        return OfficeCheckinState.load

    @rx.event
    async def check_in(self, ticket_id: str):
        """Let a ticket in by hand (the service applies the door's rules, checks EVENT_MANAGE, audits)."""
        locale = await self._remember_locale()
        ticket_uuid = _parse_uuid(ticket_id)
        row = next((r for r in self._rows if r.ticket_id == ticket_uuid), None)
        if row is None:
            return None
        try:
            with session_scope() as session:
                actor = await acting_user(self, session, clock.now())
                verdict = checkins.check_in_manually(session, actor=actor, ticket_id=ticket_uuid, now=clock.now())
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
                    translate("office.already_in", locale, name=name, when=when, gate=gate_label(first.gate, locale))
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
        locale = await self._remember_locale()
        checkin_uuid = _parse_uuid(checkin_id)
        row = next((r for r in self._rows if checkin_uuid and r.checkin_id == checkin_uuid), None)
        if row is None:
            return None
        try:
            with session_scope() as session:
                actor = await acting_user(self, session, clock.now())
                checkins.undo_checkin(session, actor=actor, checkin_id=checkin_uuid, now=clock.now())
        except BiltenError as exc:
            return [OfficeCheckinState.load, rx.toast.error(error_text(exc, locale))]
        self._rows = [
            dataclasses.replace(r, checked_in_at=None, gate="", checkin_id=None) if r.checkin_id == checkin_uuid else r
            for r in self._rows
        ]
        return rx.toast.success(translate("office.checkin_undone", locale, name=row.holder_name or row.buyer_email))


# ---------------------------------------------------------------------------------------------
# Staff: who scans at this event's doors (owners, managers, admins)


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
                actor = await acting_user(self, session, clock.now())
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
                actor = await acting_user(self, session, clock.now())
                added = staff_service.assign_staff(
                    session,
                    actor=actor,
                    event_id=_route_event_id(self),
                    email=(form_data.get("email") or "")[:254],
                    gate=(form_data.get("gate") or "")[:60],
                    now=clock.now(),
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
                actor = await acting_user(self, session, clock.now())
                staff_service.remove_staff(
                    session, actor=actor, event_id=_route_event_id(self), user_id=user_uuid, now=clock.now()
                )
        except BiltenError as exc:
            return rx.toast.error(error_text(exc, locale))
        self._rows = [r for r in self._rows if r.user_id != user_uuid]
        return rx.toast.success(translate("office.staff_removed", locale, email=row.email))


# ---------------------------------------------------------------------------------------------
# Exports: attendees or orders as CSV or XLSX, made in the background with a progress bar


@private_state
class OfficeExportsState(LocalizedState, rx.State):
    loaded: bool = False
    kind: str = "attendees"
    file_format: str = "csv"
    _rows: list[ExportView] = []
    # The event's time zone, copied by `load`: a computed var reading BackOfficeState would load
    # this tab with every event of the back office (its live figures too).
    _timezone: str = "UTC"
    _watching: bool = False

    @rx.var
    def exports(self) -> list[ExportRowView]:
        locale = self._display_locale()
        return [
            ExportRowView(
                id=str(job.id),
                kind=translate(f"exports.kind_{job.kind}", locale),
                file_format=job.file_format.value.upper(),
                created=format_datetime(job.created_at, self._timezone, locale),
                status=job.status.value,
                status_label=translate(f"exports.status_{job.status}", locale),
                percent=job.percent,
                progress=translate_plural("exports.rows_done", job.rows_total, locale, done=job.rows_done),
                active=job.active,
                done=job.status == ExportStatus.DONE,
                download_url=f"/api/v1/exports/{job.id}/download" if job.status == ExportStatus.DONE else "",
                error=translate(job.error, locale) if job.error else "",
            )
            for job in self._rows
        ]

    @rx.var
    def has_exports(self) -> bool:
        return bool(self._rows)

    @rx.event
    async def load(self):
        self.loaded = False
        locale = await self._remember_locale()
        self._timezone = (await self.get_state(BackOfficeState)).timezone
        try:
            with session_scope() as session:
                actor = await acting_user(self, session, clock.now())
                self._rows = exports.list_exports(session, actor=actor, event_id=_route_event_id(self))
        except BiltenError as exc:
            self._rows = []
            self.loaded = True
            return rx.toast.error(error_text(exc, locale))
        self.loaded = True
        return OfficeExportsState.watch if any(job.active for job in self._rows) else None

    @rx.event
    def set_kind(self, kind: str):
        self.kind = kind if kind in EXPORT_KINDS else "attendees"

    @rx.event
    def set_file_format(self, file_format: str):
        self.file_format = file_format if file_format in EXPORT_FORMATS else "csv"

    @rx.event
    async def start(self):
        """Queue the export and follow its progress; the file downloads from the list once done."""
        locale = await self._remember_locale()
        try:
            with session_scope() as session:
                actor = await acting_user(self, session, clock.now())
                job = exports.request_export(
                    session,
                    actor=actor,
                    event_id=_route_event_id(self),
                    kind=self.kind,
                    file_format=self.file_format,
                    now=clock.now(),
                )
        except BiltenError as exc:
            return rx.toast.error(error_text(exc, locale))
        if job.status == ExportStatus.QUEUED:
            export_jobs.submit(job.id)
        self._rows = [job, *[row for row in self._rows if row.id != job.id]][: exports.RECENT_EXPORTS]
        return [OfficeExportsState.watch, rx.toast.info(translate("exports.started", locale))]

    @rx.event(background=True)
    async def watch(self):
        """Follow the running exports of this event until they all finished (progress is pushed on
        `live.exports_channel`; a re-read every few seconds covers a lost message)."""
        async with self:
            if self._watching:
                return
            self._watching = True
            event_id = self.event_id
            user_id = await acting_user_id(self)
        try:
            event_uuid = _parse_uuid(event_id)
            if event_uuid is None:
                return
            deadline = time.monotonic() + exports.STALE_AFTER.total_seconds()
            async with live.subscription(live.exports_channel(event_uuid)) as queue:
                while time.monotonic() < deadline:
                    rows = await asyncio.to_thread(_read_exports, user_id, event_uuid)
                    async with self:
                        if self.event_id != event_id:
                            return
                        self._rows = rows
                    if not any(job.active for job in rows):
                        return
                    try:
                        await asyncio.wait_for(queue.get(), timeout=EXPORT_POLL_SECONDS)
                        await asyncio.sleep(0.2)  # let a burst of progress messages land in one re-read
                        while not queue.empty():
                            queue.get_nowait()
                    except TimeoutError:
                        pass
        finally:
            async with self:
                self._watching = False


def _read_exports(user_id: str, event_id: uuid.UUID) -> list[ExportView]:
    with session_scope() as session:
        user = session.get(User, uuid.UUID(user_id)) if user_id else None
        try:
            return exports.list_exports(session, actor=user, event_id=event_id)
        except BiltenError:
            return []
