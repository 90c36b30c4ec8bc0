"""The organizer area: the dashboard of one organization (live figures over all its events) and
the events of the organizations the user works for."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid

import reflex as rx

from bilten import clock, live, routes
from bilten.db import session_scope
from bilten.i18n import format_datetime, translate
from bilten.ids import parse_id
from bilten.models import User
from bilten.services import reports
from bilten.services.access import Permission, is_allowed
from bilten.services.organizers import OrganizerEventRow, list_organizer_events
from bilten.services.reports import OrganizationChoice, OrganizationStats
from bilten.state.auth import AuthState, private_state
from bilten.state.base import service_call
from bilten.state.dashboard import ACCESS_RECHECK_SECONDS, chart_points, money_text, next_change, shared_figures
from bilten.state.i18n import LocalizedState

ORG_PARAM = "org"  # /organizer?org=<id> picks the organization whose dashboard shows


@dataclasses.dataclass(frozen=True)
class OrganizerEventView:
    id: str
    url: str
    office_url: str
    title: str
    organization: str
    status: str
    status_label: str
    when: str
    sold: str
    public: bool


@dataclasses.dataclass(frozen=True)
class OrganizationOptionView:
    id: str
    name: str


@dataclasses.dataclass(frozen=True)
class OrganizationTotalsView:
    name: str = ""
    sold: int = 0
    held: int = 0
    remaining: int = 0
    capacity: int = 0
    revenue: str = ""
    checked_in: int = 0
    events: int = 0
    capacity_note: str = ""


@dataclasses.dataclass(frozen=True)
class DashboardEventView:
    id: str
    office_url: str
    title: str
    status: str
    status_label: str
    when: str
    sold: int
    held: int
    remaining: int
    revenue: str
    checked_in: int


@private_state
class OrganizerState(LocalizedState, rx.State):
    loaded: bool = False
    selected_org: str = ""
    _rows: list[OrganizerEventRow] = []
    _organizations: list[OrganizationChoice] = []
    _org_stats: OrganizationStats | None = None

    @rx.var
    def events(self) -> list[OrganizerEventView]:
        locale = self._display_locale()
        return [
            OrganizerEventView(
                id=str(row.id),
                url=routes.event_url(row.id),
                office_url=routes.organizer_event_url(row.id),
                title=row.title,
                organization=row.organization_name,
                status=str(row.status),
                status_label=translate(f"status.{row.status}", locale),
                when=format_datetime(row.starts_at, row.timezone, locale),
                sold=translate("organizer.sold_of", locale, sold=row.reserved, capacity=row.capacity),
                public=str(row.status) != "draft",
            )
            for row in self._rows
        ]

    @rx.var
    def has_events(self) -> bool:
        return bool(self._rows)

    @rx.var
    def organizations(self) -> list[OrganizationOptionView]:
        return [OrganizationOptionView(id=str(org.id), name=org.name) for org in self._organizations]

    @rx.var
    def has_dashboard(self) -> bool:
        return self._org_stats is not None

    @rx.var
    def org_totals(self) -> OrganizationTotalsView:
        stats = self._org_stats
        if stats is None:
            return OrganizationTotalsView()
        locale = self._display_locale()
        return OrganizationTotalsView(
            name=stats.name,
            sold=stats.sold,
            held=stats.held,
            remaining=stats.remaining,
            capacity=stats.capacity,
            revenue=money_text(stats.revenue, locale),
            checked_in=stats.checked_in,
            events=len(stats.events),
            capacity_note=translate("office.of_capacity", locale, capacity=stats.capacity),
        )

    @rx.var
    def org_chart(self) -> list[dict[str, str | int]]:
        stats = self._org_stats
        return chart_points(stats.sales_over_time, stats.bucket) if stats else []

    @rx.var
    def org_chart_per_hour(self) -> bool:
        return self._org_stats is not None and self._org_stats.bucket == reports.HOUR

    @rx.var
    def org_events(self) -> list[DashboardEventView]:
        stats = self._org_stats
        if stats is None:
            return []
        locale = self._display_locale()
        return [
            DashboardEventView(
                id=str(row.event_id),
                office_url=routes.organizer_event_url(row.event_id),
                title=row.title,
                status=str(row.status),
                status_label=translate(f"status.{row.status}", locale),
                when=format_datetime(row.starts_at, row.timezone, locale),
                sold=row.sold,
                held=row.held,
                remaining=row.remaining,
                revenue=money_text(row.revenue, locale),
                checked_in=row.checked_in,
            )
            for row in stats.events
        ]

    @rx.event
    async def load(self):
        """on_load: organizers (and admins) only."""
        self.loaded = False
        chosen = None
        async with service_call(self) as call:
            access = await call.guard(Permission.ORGANIZER_AREA)
            if access.user is None:
                self._rows = []
                self.loaded = True
                return access.redirect
            self._rows = list_organizer_events(call.session, actor=access.user)
            self._organizations = reports.dashboard_organizations(call.session, actor=access.user)
            wanted = self.router.url.query_parameters.get(ORG_PARAM, "")
            chosen = next((o for o in self._organizations if str(o.id) == wanted), None)
            chosen = chosen or (self._organizations[0] if self._organizations else None)
            self.selected_org = str(chosen.id) if chosen else ""
            self._org_stats = (
                reports.organization_stats(call.session, actor=access.user, organization_id=chosen.id, now=call.now)
                if chosen
                else None
            )
        if call.failed:
            return call.error_toast()
        self.loaded = True
        # Chained from on_load: Reflex cancels the live loop when the tab leaves the page.
        return OrganizerState.watch_dashboard if chosen else None

    @rx.event
    def select_organization(self, org_id: str):
        """Show another organization's dashboard (a new page load: its own live loop)."""
        if any(str(o.id) == org_id for o in self._organizations):
            return rx.redirect(f"{routes.ORGANIZER}?{ORG_PARAM}={org_id}")
        return None

    @rx.event(background=True)
    async def watch_dashboard(self):
        """Re-read the organization's figures after any sale or scan at any of its events (one
        subscription to all their channels), at most twice a second, shared across tabs."""
        async with self:
            org_id = self.selected_org
            stats = self._org_stats
            user_id = (await self.get_state(AuthState))._user_id
        org_uuid = parse_id(org_id)
        if org_uuid is None or stats is None:
            return
        channels = [
            channel
            for row in stats.events
            for channel in (live.inventory_channel(row.event_id), live.checkins_channel(row.event_id))
        ]
        if not channels:
            return
        async with live.subscription(*channels) as queue:
            fresh_after = time.monotonic()
            checked_access = fresh_after
            while True:
                figures = await shared_figures.get(
                    f"organization:{org_id}", lambda: _read_organization_stats(org_uuid), fresh_after=fresh_after
                )
                async with self:
                    if self.selected_org != org_id:
                        return
                    self._org_stats = figures
                fresh_after = await next_change(queue, last_refresh=time.monotonic())
                if time.monotonic() - checked_access > ACCESS_RECHECK_SECONDS:
                    if not await asyncio.to_thread(_may_view, user_id, org_uuid):
                        return
                    checked_access = time.monotonic()


def _read_organization_stats(org_id: uuid.UUID) -> OrganizationStats:
    with session_scope() as session:
        return reports.compute_organization_stats(session, org_id, now=clock.now())


def _may_view(user_id: str, org_id: uuid.UUID) -> bool:
    with session_scope() as session:
        user_uuid = parse_id(user_id)
        user = session.get(User, user_uuid) if user_uuid else None
        return is_allowed(session, user, Permission.ORGANIZATION_VIEW, organization_id=org_id)
