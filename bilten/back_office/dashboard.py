"""The Sales tab: the event's live figures (sold, held, revenue, check-ins by gate, sales over
time), and the check-in counters the Check-in tab shows too.

`BackOfficeState.load` hands over the figures it read behind the guard (`show`) and chains
`watch`, a per-tab background loop that re-reads them after each sale, expiry, cancellation and
scan of the event (Reflex cancels it when the tab goes away; see `bilten.state.dashboard` for
how the tabs of a process share the re-reads).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid

import reflex as rx

from bilten import clock, live
from bilten.back_office.frame.state import DASHBOARD_TAB, BackOfficeState, acting_user_id, office_section
from bilten.components.dashboard import figure, sales_chart
from bilten.components.tab_panel import reading_flip, tab_panel
from bilten.components.table import Column, data_table
from bilten.db import session_scope
from bilten.i18n import format_money, translate
from bilten.ids import parse_id
from bilten.models import User
from bilten.services import reports
from bilten.services.access import Permission, is_allowed
from bilten.services.reports import EventStats
from bilten.state.auth import private_state
from bilten.state.dashboard import (
    ACCESS_RECHECK_SECONDS,
    chart_points,
    gate_label,
    money_text,
    next_change,
    percent,
    shared_figures,
)
from bilten.state.i18n import LocaleState, LocalizedState

# -- views: display text only -------------------------------------------------------------------


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
class GateView:
    gate: str
    checked_in: int


# -- state --------------------------------------------------------------------------------------


@office_section(DASHBOARD_TAB)
@private_state
class OfficeDashboardState(LocalizedState, rx.State):
    _event_id: str = ""  # the event whose figures these are (the loop stops when it changes)
    _stats: EventStats | None = None

    def show(self, event_id: str, stats: EventStats, locale: str) -> None:
        """The figures `BackOfficeState.load` read behind the guard, in the reader's locale."""
        self._event_id = event_id
        self._stats = stats
        self._locale = locale

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
                    else format_money(row.price_minor, row.currency, locale)
                ),
                sold=row.sold,
                held=row.held,
                available=row.remaining,
                capacity=row.capacity,
                revenue=format_money(row.revenue_minor, row.currency, locale),
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

    @rx.event(background=True)
    async def watch(self):
        """Chained from BackOfficeState.load: re-read the figures after each sale, expiry,
        cancellation (`inventory_channel`) and scan (`checkins_channel`) of this event, at most
        twice a second. Subscribes first, then reads, so no change falls between the two."""
        async with self:
            event_id = self._event_id
            auth_user = await acting_user_id(self)
        event_uuid = parse_id(event_id)
        if event_uuid is None:
            return
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


def _read_event_stats(event_id: uuid.UUID) -> EventStats:
    with session_scope() as session:
        return reports.compute_event_stats(session, event_id, now=clock.now())


def _may_view(user_id: str, event_id: uuid.UUID) -> bool:
    """Still on the team (a loop outlives a role change only by ACCESS_RECHECK_SECONDS)."""
    with session_scope() as session:
        user_uuid = parse_id(user_id)
        user = session.get(User, user_uuid) if user_uuid else None
        return is_allowed(session, user, Permission.EVENT_VIEW, event_id=event_id)


# -- components ---------------------------------------------------------------------------------


def sales_row(row) -> rx.Component:  # noqa: ANN001 - an ObjectVar of SalesRowView
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.text(row.name, weight="medium"), rx.text(row.price, size="1", color_scheme="gray"), spacing="0"
            )
        ),
        rx.table.cell(row.sold, class_name="sold"),
        rx.table.cell(row.held, class_name="held"),
        rx.table.cell(row.available, class_name="remaining"),
        rx.table.cell(row.capacity),
        rx.table.cell(
            rx.progress(
                value=row.percent,
                max=100,
                size="1",
                min_width="4rem",
                aria_label=LocaleState.t["office.col_sold_share"],
                transform=reading_flip(),
            )
        ),
        rx.table.cell(row.revenue, white_space="nowrap"),
        custom_attrs={"data-ticket-type-id": row.id},
    )


def gate_badge(gate) -> rx.Component:  # noqa: ANN001 - an ObjectVar of GateView
    return rx.badge(
        gate.gate + ": " + gate.checked_in.to_string(), variant="surface", size="2", class_name="gate-count"
    )


def checkin_counters(prefix: str = "") -> rx.Component:
    """Checked in of expected, by gate: on the Sales tab (`prefix="dashboard-"`) and the Check-in tab."""
    totals = OfficeDashboardState.sales_totals
    counter = totals.checked_in.to_string() + " / " + totals.expected.to_string()
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.vstack(
                    rx.text(LocaleState.t["office.checked_in_label"], size="2", color_scheme="gray", weight="medium"),
                    rx.text(
                        counter,
                        size="7",
                        weight="bold",
                        id=f"{prefix}checkin-counter",
                        custom_attrs={"data-checked-in": totals.checked_in},
                        dir="ltr",
                    ),
                    spacing="1",
                ),
                rx.hstack(
                    rx.foreach(OfficeDashboardState.gates, gate_badge),
                    spacing="2",
                    wrap="wrap",
                    role="group",
                    aria_label=LocaleState.t["office.by_gate"],
                    id=f"{prefix}gate-counts",
                ),
                justify="between",
                align="end",
                spacing="3",
                wrap="wrap",
                width="100%",
            ),
            rx.progress(
                value=totals.checked_in_percent,
                max=100,
                aria_label=LocaleState.t["office.checked_in_label"],
                transform=reading_flip(),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def sales_section() -> rx.Component:
    totals = OfficeDashboardState.sales_totals
    t = LocaleState.t
    return tab_panel(
        BackOfficeState.loaded,
        rx.grid(
            figure(t["office.sold"], totals.sold, "total-sold", totals.capacity_note),
            figure(t["office.revenue"], totals.revenue, "total-revenue", t["office.revenue_hint"]),
            figure(t["office.available"], totals.available, "total-available"),
            figure(t["office.held"], totals.held, "total-held", t["office.held_hint"]),
            figure(t["dashboard.checked_in"], totals.checked_in, "total-checked-in", totals.checked_in_note),
            columns=rx.breakpoints(initial="2", md="5"),
            spacing="3",
            width="100%",
        ),
        sales_chart(
            OfficeDashboardState.sales_chart,
            title=rx.cond(
                OfficeDashboardState.chart_per_hour, t["dashboard.sales_per_hour"], t["dashboard.sales_per_day"]
            ),
            series_name=t["dashboard.tickets_sold"],
            empty_text=t["dashboard.no_sales_yet"],
            rtl=LocaleState.dir == "rtl",
            chart_id="sales-chart",
        ),
        data_table(
            [
                Column(t["office.col_type"]),
                Column(t["office.sold"]),
                Column(t["office.held"]),
                Column(t["office.available"]),
                Column(t["office.capacity"]),
                Column(t["office.col_sold_share"]),
                Column(t["office.revenue"]),
            ],
            OfficeDashboardState.sales_rows,
            sales_row,
            table_id="sales-table",
            empty_text=t["event.no_tickets"],
        ),
        checkin_counters("dashboard-"),
        rx.hstack(
            rx.icon("radio", size=14, aria_hidden="true"),
            rx.text(t["office.live_hint"], size="1"),
            color_scheme="gray",
            align="center",
            spacing="2",
        ),
        name="sales",
    )
