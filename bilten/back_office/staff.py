"""The Staff tab: who scans at this event's doors, and at which gate (owners, managers, admins)."""

from __future__ import annotations

import dataclasses

import reflex as rx

from bilten.back_office.frame.state import office_section, route_event_id
from bilten.components.tab_panel import tab_panel
from bilten.components.table import Column, data_table
from bilten.ids import parse_id
from bilten.services import staff as staff_service
from bilten.services.staff import StaffRow
from bilten.state.auth import private_state
from bilten.state.base import service_call
from bilten.state.i18n import LocaleState


@dataclasses.dataclass(frozen=True)
class StaffView:
    user_id: str
    email: str
    full_name: str
    gate: str


@office_section("staff")
@private_state
class OfficeStaffState(rx.State):
    loaded: bool = False
    _rows: list[StaffRow] = []

    @rx.var
    def staff(self) -> list[StaffView]:
        return [
            StaffView(user_id=str(r.user_id), email=r.email, full_name=r.full_name, gate=r.gate) for r in self._rows
        ]

    @rx.event
    async def load(self):
        self.loaded = False
        async with service_call(self) as call:
            rows = staff_service.list_staff(call.session, actor=call.user, event_id=route_event_id(self))
        self.loaded = True
        if call.failed:
            self._rows = []
            return call.error_toast()
        self._rows = rows
        return None

    @rx.event
    async def add(self, form_data: dict[str, str]):
        async with service_call(self) as call:
            added = staff_service.assign_staff(
                call.session,
                actor=call.user,
                event_id=route_event_id(self),
                email=(form_data.get("email") or "")[:254],
                gate=(form_data.get("gate") or "")[:60],
                now=call.now,
            )
        if call.failed:
            return call.error_toast()
        others = [r for r in self._rows if r.user_id != added.user_id]
        self._rows = sorted([*others, added], key=lambda r: r.email)
        return [
            rx.toast.success(call.text("office.staff_added", email=added.email)),
            rx.call_script("document.getElementById('staff-form')?.reset()"),
        ]

    @rx.event
    async def remove(self, user_id: str):
        user_uuid = parse_id(user_id)
        row = next((r for r in self._rows if user_uuid and r.user_id == user_uuid), None)
        if row is None:
            return None
        async with service_call(self) as call:
            staff_service.remove_staff(
                call.session, actor=call.user, event_id=route_event_id(self), user_id=user_uuid, now=call.now
            )
        if call.failed:
            return call.error_toast()
        self._rows = [r for r in self._rows if r.user_id != user_uuid]
        return rx.toast.success(call.text("office.staff_removed", email=row.email))


# -- components ---------------------------------------------------------------------------------


def staff_row(row) -> rx.Component:  # noqa: ANN001 - an ObjectVar of StaffView
    return rx.table.row(
        rx.table.row_header_cell(rx.cond(row.full_name != "", row.full_name, "—")),
        rx.table.cell(row.email, class_name="staff-email"),
        rx.table.cell(rx.cond(row.gate != "", row.gate, LocaleState.t["office.any_gate"])),
        rx.table.cell(
            rx.button(
                rx.icon("user-minus", size=14),
                LocaleState.t["office.remove"],
                on_click=OfficeStaffState.remove(row.user_id),
                color_scheme="red",
                variant="soft",
                size="1",
                white_space="nowrap",
                class_name="remove-staff",
            ),
        ),
        custom_attrs={"data-user-id": row.user_id},
    )


def labelled_field(label: rx.Var[str], field: rx.Component, field_id: str, **props) -> rx.Component:
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium"), html_for=field_id), field, spacing="1", **props
    )


def staff_form() -> rx.Component:
    t = LocaleState.t
    return rx.form(
        rx.flex(
            labelled_field(
                t["office.staff_email"],
                rx.input(
                    name="email", type="email", required=True, id="field-staff-email", width="100%", auto_complete="off"
                ),
                "field-staff-email",
                flex="2",
                min_width="14rem",
            ),
            labelled_field(
                t["office.staff_gate"],
                rx.input(
                    name="gate",
                    max_length=60,
                    id="field-staff-gate",
                    width="100%",
                    placeholder=t["office.staff_gate_placeholder"],
                ),
                "field-staff-gate",
                flex="1",
                min_width="10rem",
            ),
            rx.button(rx.icon("user-plus", size=16), t["office.staff_add"], type="submit", id="staff-add"),
            spacing="3",
            align="end",
            wrap="wrap",
            width="100%",
        ),
        on_submit=OfficeStaffState.add,
        reset_on_submit=False,
        id="staff-form",
        width="100%",
    )


def staff_section() -> rx.Component:
    t = LocaleState.t
    return tab_panel(
        OfficeStaffState.loaded,
        rx.text(t["office.staff_hint"], size="2", color_scheme="gray"),
        staff_form(),
        data_table(
            [Column(t["admin.col_name"]), Column(t["admin.col_email"]), Column(t["office.col_gate"]), Column.actions()],
            OfficeStaffState.staff,
            staff_row,
            table_id="staff-table",
            empty_text=t["office.no_staff"],
            empty_id="no-staff",
        ),
        name="staff",
    )
