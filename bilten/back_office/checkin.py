"""The Check-in tab: the attendee list, manual check-in and undo (the counters come with the
dashboard's live figures)."""

from __future__ import annotations

import dataclasses

import reflex as rx

from bilten.back_office.dashboard import checkin_counters
from bilten.back_office.frame.state import BackOfficeState, office_section, route_event_id, short_id
from bilten.components.pager import pager
from bilten.components.search_box import search_box
from bilten.components.status_badge import status_badge
from bilten.components.tab_panel import tab_panel
from bilten.components.table import WIDE_ONLY, Column, data_table
from bilten.i18n import format_datetime, translate
from bilten.ids import parse_id
from bilten.models import CheckInResult, TicketStatus
from bilten.services import checkins, event_orders
from bilten.services.event_orders import AttendeeRow
from bilten.state.auth import private_state
from bilten.state.base import service_call
from bilten.state.dashboard import gate_label
from bilten.state.i18n import LocaleState
from bilten.state.paging import MAX_SEARCH, PAGE_SIZE, PagePaging

# -- views --------------------------------------------------------------------------------------


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


# -- state --------------------------------------------------------------------------------------


@office_section("checkin")
@private_state
class OfficeCheckinState(PagePaging, rx.State):
    loaded: bool = False
    search: str = ""
    _page_text_key: str = "office.page_of_tickets"
    _rows: list[AttendeeRow] = []
    # The event's time zone, copied by `load`: a computed var reading BackOfficeState would load
    # this tab with every event of the back office.
    _timezone: str = "UTC"

    @rx.var
    def attendees(self) -> list[AttendeeView]:
        locale = self._display_locale()
        return [
            AttendeeView(
                ticket_id=str(row.ticket_id),
                short_id=short_id(row.ticket_id),
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
        self._timezone = (await self.get_state(BackOfficeState)).timezone
        async with service_call(self) as call:
            found = event_orders.list_event_attendees(
                call.session,
                actor=call.user,
                event_id=route_event_id(self),
                search=self.search[:MAX_SEARCH],
                page=self.page,
                page_size=PAGE_SIZE,
            )
        if call.failed:
            self._rows = []
            self.loaded = True
            return call.error_toast()
        self._rows, self.total, self.pages = found.rows, found.total, found.pages
        if self.page > found.pages:
            self.page = found.pages
            return OfficeCheckinState.load
        self.loaded = True
        return None

    @rx.event
    def run_search(self, form_data: dict[str, str]):
        self.search = (form_data.get("search") or "")[:MAX_SEARCH]
        self.page = 1
        return OfficeCheckinState.load

    @rx.event
    async def check_in(self, ticket_id: str):
        """Let a ticket in by hand (the service applies the door's rules, checks EVENT_MANAGE, audits)."""
        ticket_uuid = parse_id(ticket_id)
        row = next((r for r in self._rows if ticket_uuid and r.ticket_id == ticket_uuid), None)
        if row is None:
            return None
        async with service_call(self) as call:
            verdict = checkins.check_in_manually(call.session, actor=call.user, ticket_id=ticket_uuid, now=call.now)
        if call.failed:
            return call.error_toast()
        name = row.holder_name or row.buyer_email
        first = verdict.first_scan
        if verdict.result == CheckInResult.VALID and first is not None:
            self._rows = [
                r.model_copy(
                    update={"checked_in_at": first.scanned_at, "gate": first.gate, "checkin_id": verdict.checkin_id}
                )
                if r.ticket_id == ticket_uuid
                else r
                for r in self._rows
            ]
            return rx.toast.success(call.text("office.checked_in", name=name))
        if verdict.result == CheckInResult.ALREADY_USED and first is not None:
            when = format_datetime(first.scanned_at, self._timezone, call.locale)
            gate = gate_label(first.gate, call.locale)
            return [
                OfficeCheckinState.load,  # a door let it in since the list was read: show that
                rx.toast.warning(call.text("office.already_in", name=name, when=when, gate=gate)),
            ]
        status = call.text(f"office.ticket_status.{row.ticket_status}")
        return rx.toast.error(call.text("office.not_admitted", name=name, status=status))

    @rx.event
    async def undo(self, checkin_id: str):
        checkin_uuid = parse_id(checkin_id)
        row = next((r for r in self._rows if checkin_uuid and r.checkin_id == checkin_uuid), None)
        if row is None:
            return None
        async with service_call(self) as call:
            checkins.undo_checkin(call.session, actor=call.user, checkin_id=checkin_uuid, now=call.now)
        if call.failed:
            return [OfficeCheckinState.load, call.error_toast()]
        self._rows = [
            r.model_copy(update={"checked_in_at": None, "gate": "", "checkin_id": None})
            if r.checkin_id == checkin_uuid
            else r
            for r in self._rows
        ]
        return rx.toast.success(call.text("office.checkin_undone", name=row.holder_name or row.buyer_email))


# -- components ---------------------------------------------------------------------------------


def checkin_actions(row) -> rx.Component:  # noqa: ANN001 - an ObjectVar of AttendeeView
    return rx.cond(
        BackOfficeState.can_manage,
        rx.cond(
            row.checked_in,
            rx.button(
                rx.icon("undo-2", size=14),
                LocaleState.t["office.undo"],
                on_click=OfficeCheckinState.undo(row.checkin_id),
                variant="soft",
                color_scheme="gray",
                size="1",
                white_space="nowrap",
                class_name="undo-checkin",
            ),
            rx.cond(
                row.valid,
                rx.button(
                    rx.icon("log-in", size=14),
                    LocaleState.t["office.check_in"],
                    on_click=OfficeCheckinState.check_in(row.ticket_id),
                    size="1",
                    white_space="nowrap",
                    class_name="check-in",
                ),
            ),
        ),
    )


def attendee_row(row) -> rx.Component:  # noqa: ANN001 - an ObjectVar of AttendeeView
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.text(row.holder, weight="medium"),
                rx.text(
                    row.ticket_type, size="1", color_scheme="gray", display=rx.breakpoints(initial="block", sm="none")
                ),
                rx.cond(
                    row.conflicts > 0,
                    rx.badge(
                        rx.icon("triangle-alert", size=12),
                        row.conflicts_label,
                        color_scheme="red",
                        variant="solid",
                        class_name="conflicts",
                    ),
                ),
                spacing="1",
            )
        ),
        rx.table.cell(row.buyer_email, display=WIDE_ONLY),
        rx.table.cell(row.ticket_type, display=WIDE_ONLY),
        rx.table.cell(status_badge(row.status_label, row.status)),
        rx.table.cell(
            rx.cond(
                row.checked_in,
                rx.vstack(
                    rx.text(row.checked_in_at, size="2"), rx.text(row.gate, size="1", color_scheme="gray"), spacing="0"
                ),
                rx.text("—", color_scheme="gray"),
            ),
            class_name="checked-in-at",
        ),
        rx.table.cell(checkin_actions(row)),
        background_color=rx.cond(row.conflicts > 0, "var(--red-a3)", "transparent"),
        custom_attrs={
            "data-ticket-id": row.ticket_id,
            "data-checked-in": rx.cond(row.checked_in, "true", "false"),
            "data-conflict": rx.cond(row.conflicts > 0, "true", "false"),
        },
    )


def checkin_section() -> rx.Component:
    state = OfficeCheckinState
    t = LocaleState.t
    refresh = rx.button(
        rx.icon("refresh-cw", size=16),
        on_click=state.load,
        type="button",
        variant="soft",
        aria_label=t["office.refresh"],
        title=t["office.refresh"],
        id="attendees-refresh",
    )
    return tab_panel(
        state.loaded,
        checkin_counters(),
        rx.cond(
            state.conflict_tickets > 0,
            rx.callout.root(
                rx.callout.icon(rx.icon("triangle-alert")),
                rx.callout.text(state.conflicts_text),
                color_scheme="red",
                role="alert",
                id="conflicts-callout",
            ),
        ),
        search_box(
            on_submit=state.run_search,
            value=state.search,
            input_id="attendee-search",
            placeholder=t["office.attendee_search_placeholder"],
            label=t["office.attendee_search_label"],
            extras=(refresh,),
        ),
        data_table(
            [
                Column(t["office.col_holder"]),
                Column(t["office.col_buyer"], wide_only=True),
                Column(t["office.col_type"], wide_only=True),
                Column(t["office.col_status"]),
                Column(t["office.col_checked_in"]),
                Column.actions(),
            ],
            state.attendees,
            attendee_row,
            table_id="attendees-table",
            empty_text=t["office.no_attendees"],
            empty_id="no-attendees",
            below=(pager(state, "attendees-pager"),),
        ),
        name="checkin",
    )
