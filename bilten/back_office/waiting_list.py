"""The Waiting list tab: who waits for which sold-out ticket type, their offers, the CSV download,
removing someone, and the event's waiting-list settings (on/off, how long an offer stays valid)."""

from __future__ import annotations

import dataclasses

import reflex as rx

from bilten.back_office.frame.state import BackOfficeState, office_section, route_event_id
from bilten.components.download_link import download_link
from bilten.components.pager import pager
from bilten.components.tab_panel import tab_panel
from bilten.components.table import WIDE_ONLY, Column, data_table
from bilten.i18n import format_datetime, translate
from bilten.ids import parse_id
from bilten.services import waiting_list
from bilten.services.waiting_list import WaitingEntryRow
from bilten.state.auth import private_state
from bilten.state.base import service_call
from bilten.state.i18n import LocaleState
from bilten.state.paging import PAGE_SIZE, OffsetPaging


@dataclasses.dataclass(frozen=True)
class WaitingRowView:
    id: str
    position: str
    email: str
    name: str
    ticket_type: str
    state: str
    state_label: str
    joined: str
    offer_until: str
    removable: bool


@office_section("waiting_list")
@private_state
class OfficeWaitingListState(OffsetPaging, rx.State):
    loaded: bool = False
    enabled: bool = True
    offer_hours: int = 24
    csv_url: str = ""
    rows: list[WaitingRowView] = []
    _rows: list[WaitingEntryRow] = []  # this page's

    async def _show(self, rows: list[WaitingEntryRow]) -> None:
        self._rows = rows
        locale = await self._remember_locale()
        timezone = (await self.get_state(BackOfficeState)).timezone
        self.rows = [
            WaitingRowView(
                id=str(r.id),
                position=str(r.position) if r.position else "—",
                email=r.email,
                name=r.name,
                ticket_type=r.ticket_type,
                state=r.state.value,
                state_label=translate(f"waiting_list.state.{r.state.value}", locale),
                joined=format_datetime(r.created_at, timezone, locale),
                offer_until=format_datetime(r.offer_expires_at, timezone, locale) if r.offer_expires_at else "",
                removable=r.state.value in ("waiting", "offered"),
            )
            for r in rows
        ]

    @rx.event
    async def load(self):
        self.loaded = False
        async with service_call(self) as call:
            event_id = route_event_id(self)
            config = waiting_list.read_config(call.session, actor=call.user, event_id=event_id)
            page = waiting_list.page_of_entries(
                call.session, actor=call.user, event_id=event_id, offset=self.offset, limit=PAGE_SIZE
            )
        self.loaded = True
        if call.failed:
            self.total = 0
            await self._show([])
            return call.error_toast()
        if not page.rows and self.offset > 0:  # the last page emptied: show the one before
            self.offset = max(self.offset - PAGE_SIZE, 0)
            return OfficeWaitingListState.load
        self.enabled, self.offer_hours = config.enabled, config.offer_hours
        self.csv_url = f"/api/v1/events/{event_id}/waiting-list.csv"
        self.total = page.total
        await self._show(page.rows)
        return None

    @rx.event
    async def save_settings(self, form_data: dict[str, str]):
        hours_text = (form_data.get("offer_hours") or "").strip()
        async with service_call(self) as call:
            config = waiting_list.update_config(
                call.session,
                actor=call.user,
                event_id=route_event_id(self),
                enabled=form_data.get("enabled") == "on",
                offer_hours=int(hours_text) if hours_text.isdigit() and len(hours_text) < 6 else 0,
                now=call.now,
            )
        if call.failed:
            return call.error_toast()
        self.enabled, self.offer_hours = config.enabled, config.offer_hours
        return rx.toast.success(call.text("waiting_list.saved"))

    @rx.event
    async def remove(self, entry_id: str):
        entry_uuid = parse_id(entry_id)
        if entry_uuid is None:
            return None
        async with service_call(self) as call:
            waiting_list.remove_entry(
                call.session, actor=call.user, event_id=route_event_id(self), entry_id=entry_uuid, now=call.now
            )
        if call.failed:
            return call.error_toast()
        return [rx.toast.success(call.text("waiting_list.removed")), OfficeWaitingListState.load]


# -- components ---------------------------------------------------------------------------------


def waiting_row(row) -> rx.Component:  # noqa: ANN001 - an ObjectVar of WaitingRowView
    return rx.table.row(
        rx.table.cell(row.position),
        rx.table.row_header_cell(
            rx.vstack(
                rx.text(row.email, class_name="waiting-email"),
                rx.cond(row.name != "", rx.text(row.name, size="1", color_scheme="gray")),
                spacing="0",
            )
        ),
        rx.table.cell(row.ticket_type, display=WIDE_ONLY),
        rx.table.cell(
            rx.vstack(
                rx.badge(row.state_label, variant="soft", class_name="waiting-state"),
                rx.cond(row.offer_until != "", rx.text(row.offer_until, size="1", color_scheme="gray")),
                spacing="1",
            )
        ),
        rx.table.cell(row.joined, display=WIDE_ONLY),
        rx.table.cell(
            rx.cond(
                BackOfficeState.can_manage & row.removable,
                rx.button(
                    rx.icon("user-minus", size=14),
                    LocaleState.t["waiting_list.remove"],
                    on_click=OfficeWaitingListState.remove(row.id),
                    color_scheme="red",
                    variant="soft",
                    size="1",
                    class_name="remove-waiting",
                ),
            )
        ),
        custom_attrs={"data-entry-id": row.id, "data-state": row.state},
    )


def settings_form() -> rx.Component:
    t = LocaleState.t
    state = OfficeWaitingListState
    return rx.form(
        rx.flex(
            rx.el.label(
                rx.hstack(
                    rx.checkbox(
                        name="enabled",
                        default_checked=state.enabled,
                        id="waiting-enabled",
                        aria_label=t["waiting_list.enabled"],  # Radix draws a button: name it
                    ),
                    rx.text(t["waiting_list.enabled"], size="2"),
                    align="center",
                    spacing="2",
                ),
            ),
            rx.vstack(
                rx.el.label(
                    rx.text(t["waiting_list.offer_hours"], size="2", weight="medium"), html_for="waiting-hours"
                ),
                rx.input(
                    name="offer_hours",
                    type="number",
                    min=1,
                    max=waiting_list.MAX_OFFER_HOURS,
                    default_value=state.offer_hours.to_string(),
                    id="waiting-hours",
                    width="8rem",
                ),
                spacing="1",
            ),
            rx.button(t["waiting_list.save"], type="submit", id="waiting-save"),
            spacing="4",
            align="end",
            wrap="wrap",
        ),
        on_submit=state.save_settings,
        reset_on_submit=False,
        id="waiting-settings",
        width="100%",
    )


def waiting_list_section() -> rx.Component:
    t = LocaleState.t
    state = OfficeWaitingListState
    return tab_panel(
        state.loaded,
        rx.cond(BackOfficeState.can_manage, settings_form()),
        rx.hstack(
            download_link(
                rx.icon("download", size=14, aria_hidden="true"),
                t["waiting_list.export_csv"],
                href=state.csv_url,
                id="waiting-csv",
            ),
            justify="end",
            width="100%",
        ),
        data_table(
            [
                Column(t["waiting_list.col.position"]),
                Column(t["waiting_list.col.person"]),
                Column(t["waiting_list.ticket_type"], wide_only=True),
                Column(t["waiting_list.col.state"]),
                Column(t["waiting_list.col.joined"], wide_only=True),
                Column.actions(),
            ],
            state.rows,
            waiting_row,
            table_id="waiting-table",
            empty_text=t["waiting_list.empty"],
            empty_id="no-waiting",
            below=(pager(state, "waiting-pager"),),
        ),
        name="waiting_list",
    )
