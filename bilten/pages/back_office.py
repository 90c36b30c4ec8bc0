"""`/organizer/events/[event_id]`: one event's back office: live dashboard, orders, check-in, staff, exports."""

from __future__ import annotations

import reflex as rx

from bilten import routes
from bilten.components.dashboard import figure, sales_chart
from bilten.components.download_link import download_link
from bilten.components.layout import page_shell
from bilten.components.notice import forbidden_box, not_found_box
from bilten.components.pager import pager
from bilten.state.auth import AuthState
from bilten.state.back_office import (
    ALL_STATUSES,
    EXPORT_FORMATS,
    EXPORT_KINDS,
    ORDER_STATUSES,
    BackOfficeState,
    OfficeCheckinState,
    OfficeExportsState,
    OfficeOrdersState,
    OfficeStaffState,
)
from bilten.state.i18n import LocaleState

STATUS_COLORS = (
    ("published", "green"),
    ("paid", "green"),
    ("valid", "green"),
    ("pending", "amber"),
    ("refunded", "purple"),
    ("cancelled", "red"),
    ("expired", "gray"),
    ("reissued", "gray"),
    ("done", "green"),
    ("running", "blue"),
    ("queued", "amber"),
    ("failed", "red"),
)


# Columns a phone can do without (the table still scrolls sideways for the rest).
WIDE_ONLY = rx.breakpoints(initial="none", sm="table-cell")


def rtl_flip() -> rx.Var[str]:
    """Radix progress bars fill from the left whatever the direction: mirror them in RTL."""
    return rx.cond(LocaleState.dir == "rtl", "scaleX(-1)", "none")


def status_badge(label: rx.Var[str], status: rx.Var[str], **props) -> rx.Component:
    return rx.badge(
        label,
        color_scheme=rx.match(status, *STATUS_COLORS, "gray"),
        variant="soft",
        custom_attrs={"data-status": status},
        **props,
    )


def section_loading(loaded: rx.Var[bool], *children: rx.Component, section: str) -> rx.Component:
    return rx.box(
        rx.cond(
            loaded, rx.vstack(*children, spacing="4", width="100%"), rx.center(rx.spinner(size="3"), padding="2rem")
        ),
        id=f"section-{section}",
        custom_attrs={"data-section-loaded": rx.cond(loaded, "true", "false")},
        width="100%",
        padding_top="1.25rem",
    )


def search_form(
    *,
    on_submit,
    value: rx.Var[str],
    input_id: str,
    placeholder: rx.Var[str],  # noqa: ANN001
    label: rx.Var[str],
    extra: rx.Component | None = None,
) -> rx.Component:
    return rx.form(
        rx.flex(
            rx.input(
                rx.input.slot(rx.icon("search", size=16)),
                name="search",
                default_value=value,
                placeholder=placeholder,
                aria_label=label,
                type="search",
                id=input_id,
                flex="1",
                min_width="12rem",
            ),
            *([extra] if extra is not None else []),
            rx.button(LocaleState.t["common.search"], type="submit"),
            spacing="3",
            width="100%",
            wrap="wrap",
        ),
        on_submit=on_submit,
        reset_on_submit=False,
        role="search",
        width="100%",
    )


# -- header ------------------------------------------------------------------------------------


def office_header() -> rx.Component:
    event = BackOfficeState.event
    back_arrow = rx.icon("arrow-left", size=16, transform=rx.cond(LocaleState.dir == "rtl", "scaleX(-1)", "none"))
    return rx.vstack(
        rx.link(
            rx.hstack(back_arrow, rx.text(LocaleState.t["office.back"]), align="center"),
            href=routes.ORGANIZER,
            size="2",
            id="office-back",
        ),
        rx.flex(
            rx.vstack(
                rx.hstack(
                    rx.heading(event.title, size="7", as_="h1", id="office-title"),
                    status_badge(event.status_label, event.status),
                    align="center",
                    spacing="3",
                    wrap="wrap",
                ),
                rx.hstack(
                    rx.icon("calendar", size=16, aria_hidden="true"),
                    rx.text(event.when, size="2"),
                    align="center",
                    spacing="2",
                ),
                rx.cond(
                    event.place != "",
                    rx.hstack(
                        rx.icon("map-pin", size=16, aria_hidden="true"),
                        rx.text(event.place, size="2"),
                        align="center",
                        spacing="2",
                    ),
                ),
                rx.text(event.timezone_note, size="1", color_scheme="gray"),
                spacing="1",
            ),
            rx.flex(
                rx.cond(
                    event.is_public,
                    rx.link(
                        rx.button(
                            rx.icon("external-link", size=16), LocaleState.t["office.public_page"], variant="soft"
                        ),
                        href=event.public_url,
                    ),
                ),
                rx.link(  # the event editor: /organizer + /events/<id> + /edit (routes.event_editor_url)
                    rx.button(rx.icon("pencil", size=16), LocaleState.t["editor.edit_event"], variant="soft"),
                    href="/organizer" + event.public_url + "/edit",
                    id="edit-event",
                ),
                spacing="3",
                wrap="wrap",
            ),
            justify="between",
            align="start",
            spacing="4",
            wrap="wrap",
            width="100%",
        ),
        spacing="3",
        width="100%",
    )


# -- sales: the live dashboard -----------------------------------------------------------------


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
                transform=rtl_flip(),
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
    totals = BackOfficeState.sales_totals
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
                    rx.foreach(BackOfficeState.gates, gate_badge),
                    spacing="2",
                    wrap="wrap",
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
                transform=rtl_flip(),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def sales_section() -> rx.Component:
    totals = BackOfficeState.sales_totals
    return section_loading(
        BackOfficeState.loaded,
        rx.grid(
            figure(LocaleState.t["office.sold"], totals.sold, "total-sold", totals.capacity_note),
            figure(
                LocaleState.t["office.revenue"], totals.revenue, "total-revenue", LocaleState.t["office.revenue_hint"]
            ),
            figure(LocaleState.t["office.available"], totals.available, "total-available"),
            figure(LocaleState.t["office.held"], totals.held, "total-held", LocaleState.t["office.held_hint"]),
            figure(
                LocaleState.t["dashboard.checked_in"], totals.checked_in, "total-checked-in", totals.checked_in_note
            ),
            columns=rx.breakpoints(initial="2", md="5"),
            spacing="3",
            width="100%",
        ),
        sales_chart(
            BackOfficeState.sales_chart,
            title=rx.cond(
                BackOfficeState.chart_per_hour,
                LocaleState.t["dashboard.sales_per_hour"],
                LocaleState.t["dashboard.sales_per_day"],
            ),
            series_name=LocaleState.t["dashboard.tickets_sold"],
            empty_text=LocaleState.t["dashboard.no_sales_yet"],
            rtl=LocaleState.dir == "rtl",
            chart_id="sales-chart",
        ),
        rx.cond(
            BackOfficeState.sales_rows.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell(LocaleState.t["office.col_type"]),
                        rx.table.column_header_cell(LocaleState.t["office.sold"]),
                        rx.table.column_header_cell(LocaleState.t["office.held"]),
                        rx.table.column_header_cell(LocaleState.t["office.available"]),
                        rx.table.column_header_cell(LocaleState.t["office.capacity"]),
                        rx.table.column_header_cell(LocaleState.t["office.col_sold_share"]),
                        rx.table.column_header_cell(LocaleState.t["office.revenue"]),
                    )
                ),
                rx.table.body(rx.foreach(BackOfficeState.sales_rows, sales_row)),
                width="100%",
                variant="surface",
                id="sales-table",
            ),
            rx.text(LocaleState.t["event.no_tickets"], color_scheme="gray"),
        ),
        checkin_counters("dashboard-"),
        rx.hstack(
            rx.icon("radio", size=14, aria_hidden="true"),
            rx.text(LocaleState.t["office.live_hint"], size="1"),
            color_scheme="gray",
            align="center",
            spacing="2",
        ),
        section="sales",
    )


# -- orders ------------------------------------------------------------------------------------


def cancel_button(order, **props) -> rx.Component:  # noqa: ANN001 - an OrderView or OrderDetailView var
    return rx.cond(
        BackOfficeState.can_manage & order.cancellable,
        rx.button(
            rx.cond(order.refund, LocaleState.t["office.cancel_refund"], LocaleState.t["office.cancel"]),
            on_click=OfficeOrdersState.ask_cancel(order.id),
            color_scheme="red",
            variant="soft",
            size="1",
            white_space="nowrap",
            **props,
        ),
    )


def order_row(row) -> rx.Component:  # noqa: ANN001 - an ObjectVar of OrderView
    return rx.table.row(
        rx.table.cell(rx.code(row.short_id, variant="ghost"), white_space="nowrap", display=WIDE_ONLY),
        rx.table.cell(row.created),
        rx.table.row_header_cell(
            rx.vstack(
                rx.text(row.buyer_name, weight="medium"),
                rx.text(row.buyer_email, size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        rx.table.cell(row.tickets, display=WIDE_ONLY),
        rx.table.cell(row.total, white_space="nowrap"),
        rx.table.cell(status_badge(row.status_label, row.status), class_name="order-status"),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    LocaleState.t["office.details"],
                    on_click=OfficeOrdersState.open_detail(row.id),
                    variant="soft",
                    color_scheme="gray",
                    size="1",
                    white_space="nowrap",
                    class_name="order-details",
                ),
                cancel_button(row, class_name="cancel-order"),
                spacing="2",
            ),
        ),
        custom_attrs={"data-order-id": row.id},
    )


def status_filter() -> rx.Component:
    return rx.select.root(
        rx.select.trigger(aria_label=LocaleState.t["office.status_filter"], id="order-status-filter"),
        rx.select.content(
            rx.select.item(LocaleState.t["office.all_statuses"], value=ALL_STATUSES),
            *[
                rx.select.item(LocaleState.t[f"office.order_status.{status}"], value=status)
                for status in ORDER_STATUSES
            ],
        ),
        value=OfficeOrdersState.status_filter,
        on_change=OfficeOrdersState.set_status_filter,
    )


def cancel_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(
                rx.cond(
                    OfficeOrdersState.confirm_refund,
                    LocaleState.t["office.confirm_refund_title"],
                    LocaleState.t["office.confirm_cancel_title"],
                )
            ),
            rx.alert_dialog.description(OfficeOrdersState.confirm_text, size="2"),
            rx.flex(
                rx.alert_dialog.cancel(
                    rx.button(LocaleState.t["office.keep_order"], variant="soft", color_scheme="gray", id="keep-order")
                ),
                rx.alert_dialog.action(
                    rx.button(
                        rx.cond(
                            OfficeOrdersState.confirm_refund,
                            LocaleState.t["office.cancel_refund"],
                            LocaleState.t["office.cancel"],
                        ),
                        on_click=OfficeOrdersState.confirm_cancel,
                        color_scheme="red",
                        id="confirm-cancel",
                    )
                ),
                spacing="3",
                justify="end",
                margin_top="1rem",
            ),
            id="cancel-dialog",
            dir=LocaleState.dir,
        ),
        open=OfficeOrdersState.confirm_open,
        on_open_change=OfficeOrdersState.set_confirm_open,
    )


def detail_fact(label: rx.Var[str], value: rx.Var[str], fact_id: str) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(label), rx.data_list.value(rx.text(value, id=fact_id)), align="center")


def small_table(headers: list[rx.Var[str]], rows: rx.Var[list], render, table_id: str) -> rx.Component:  # noqa: ANN001
    return rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
        rx.table.body(rx.foreach(rows, render)),
        size="1",
        width="100%",
        variant="surface",
        id=table_id,
    )


def detail_dialog() -> rx.Component:
    detail = OfficeOrdersState.detail
    t = LocaleState.t
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(
                rx.hstack(
                    rx.text(t["office.order_details"]),
                    rx.code(detail.short_id, variant="ghost"),
                    status_badge(detail.status_label, detail.status, class_name="detail-status"),
                    align="center",
                    spacing="3",
                    wrap="wrap",
                )
            ),
            rx.dialog.description(detail.buyer_email, size="2", color_scheme="gray"),
            rx.vstack(
                rx.data_list.root(
                    detail_fact(t["office.col_buyer"], detail.buyer_name, "detail-buyer"),
                    detail_fact(t["office.phone"], detail.buyer_phone, "detail-phone"),
                    detail_fact(t["office.col_created"], detail.created, "detail-created"),
                    detail_fact(t["office.paid_at"], detail.paid, "detail-paid"),
                    detail_fact(t["office.col_total"], detail.total, "detail-total"),
                    size="2",
                ),
                rx.heading(t["office.col_tickets"], size="3", as_="h3"),
                small_table(
                    [
                        t["ticket.reference"],
                        t["office.col_type"],
                        t["office.col_holder"],
                        t["office.col_status"],
                        t["office.col_checked_in"],
                    ],
                    OfficeOrdersState.detail_tickets,
                    lambda ticket: rx.table.row(
                        rx.table.cell(rx.code(ticket.reference, variant="ghost", class_name="detail-reference")),
                        rx.table.cell(ticket.ticket_type),
                        rx.table.cell(ticket.holder),
                        rx.table.cell(status_badge(ticket.status_label, ticket.status)),
                        rx.table.cell(ticket.checked_in),
                    ),
                    "detail-tickets",
                ),
                rx.cond(
                    OfficeOrdersState.detail_payments.length() > 0,
                    rx.vstack(
                        rx.heading(t["office.payments"], size="3", as_="h3"),
                        small_table(
                            [
                                t["office.payment_provider"],
                                t["office.col_status"],
                                t["office.amount"],
                                t["office.refunded"],
                            ],
                            OfficeOrdersState.detail_payments,
                            lambda p: rx.table.row(
                                rx.table.cell(p.provider),
                                rx.table.cell(p.status),
                                rx.table.cell(p.amount),
                                rx.table.cell(p.refunded),
                            ),
                            "detail-payments",
                        ),
                        width="100%",
                    ),
                ),
                rx.heading(t["office.history"], size="3", as_="h3"),
                small_table(
                    [t["office.when"], t["office.what"], t["office.who"]],
                    OfficeOrdersState.detail_history,
                    lambda entry: rx.table.row(
                        rx.table.cell(entry.when, white_space="nowrap"),
                        rx.table.cell(entry.label),
                        rx.table.cell(entry.actor),
                        custom_attrs={"data-action": entry.action},
                    ),
                    "detail-history",
                ),
                spacing="3",
                width="100%",
                margin_top="1rem",
            ),
            rx.flex(
                rx.cond(
                    BackOfficeState.can_manage & detail.resendable,
                    rx.button(
                        rx.icon("send", size=16),
                        t["office.resend_tickets"],
                        on_click=OfficeOrdersState.resend(detail.id),
                        variant="soft",
                        id="resend-tickets",
                    ),
                ),
                cancel_button(detail, id="detail-cancel"),
                rx.dialog.close(rx.button(t["office.close"], variant="soft", color_scheme="gray", id="detail-close")),
                spacing="3",
                justify="end",
                wrap="wrap",
                margin_top="1rem",
            ),
            id="order-detail",
            dir=LocaleState.dir,
            max_width="48rem",
        ),
        open=OfficeOrdersState.detail_open,
        on_open_change=OfficeOrdersState.set_detail_open,
    )


def orders_section() -> rx.Component:
    return section_loading(
        OfficeOrdersState.loaded,
        search_form(
            on_submit=OfficeOrdersState.run_search,
            value=OfficeOrdersState.search,
            input_id="order-search",
            placeholder=LocaleState.t["office.order_search_placeholder"],
            label=LocaleState.t["office.order_search_label"],
            extra=status_filter(),
        ),
        rx.cond(
            OfficeOrdersState.has_orders,
            rx.vstack(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell(LocaleState.t["office.col_order"], display=WIDE_ONLY),
                            rx.table.column_header_cell(LocaleState.t["office.col_created"]),
                            rx.table.column_header_cell(LocaleState.t["office.col_buyer"]),
                            rx.table.column_header_cell(LocaleState.t["office.col_tickets"], display=WIDE_ONLY),
                            rx.table.column_header_cell(LocaleState.t["office.col_total"]),
                            rx.table.column_header_cell(LocaleState.t["office.col_status"]),
                            rx.table.column_header_cell(
                                rx.el.span(LocaleState.t["office.col_actions"], class_name="rt-sr-only")
                            ),
                        )
                    ),
                    rx.table.body(rx.foreach(OfficeOrdersState.orders, order_row)),
                    width="100%",
                    variant="surface",
                    id="orders-table",
                ),
                pager(OfficeOrdersState, "orders-pager"),
                spacing="3",
                width="100%",
            ),
            rx.text(LocaleState.t["office.no_orders"], color_scheme="gray", id="no-orders"),
        ),
        cancel_dialog(),
        detail_dialog(),
        section="orders",
    )


# -- check-in ----------------------------------------------------------------------------------


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
        rx.table.cell(
            rx.cond(
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
            ),
        ),
        background_color=rx.cond(row.conflicts > 0, "var(--red-a3)", "transparent"),
        custom_attrs={
            "data-ticket-id": row.ticket_id,
            "data-checked-in": rx.cond(row.checked_in, "true", "false"),
            "data-conflict": rx.cond(row.conflicts > 0, "true", "false"),
        },
    )


def checkin_section() -> rx.Component:
    return section_loading(
        OfficeCheckinState.loaded,
        checkin_counters(),
        rx.cond(
            OfficeCheckinState.conflict_tickets > 0,
            rx.callout.root(
                rx.callout.icon(rx.icon("triangle-alert")),
                rx.callout.text(OfficeCheckinState.conflicts_text),
                color_scheme="red",
                role="alert",
                id="conflicts-callout",
            ),
        ),
        search_form(
            on_submit=OfficeCheckinState.run_search,
            value=OfficeCheckinState.search,
            input_id="attendee-search",
            placeholder=LocaleState.t["office.attendee_search_placeholder"],
            label=LocaleState.t["office.attendee_search_label"],
            extra=rx.button(
                rx.icon("refresh-cw", size=16),
                on_click=OfficeCheckinState.load,
                type="button",
                variant="soft",
                aria_label=LocaleState.t["office.refresh"],
                title=LocaleState.t["office.refresh"],
                id="attendees-refresh",
            ),
        ),
        rx.cond(
            OfficeCheckinState.has_attendees,
            rx.vstack(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell(LocaleState.t["office.col_holder"]),
                            rx.table.column_header_cell(LocaleState.t["office.col_buyer"], display=WIDE_ONLY),
                            rx.table.column_header_cell(LocaleState.t["office.col_type"], display=WIDE_ONLY),
                            rx.table.column_header_cell(LocaleState.t["office.col_status"]),
                            rx.table.column_header_cell(LocaleState.t["office.col_checked_in"]),
                            rx.table.column_header_cell(
                                rx.el.span(LocaleState.t["office.col_actions"], class_name="rt-sr-only")
                            ),
                        )
                    ),
                    rx.table.body(rx.foreach(OfficeCheckinState.attendees, attendee_row)),
                    width="100%",
                    variant="surface",
                    id="attendees-table",
                ),
                pager(OfficeCheckinState, "attendees-pager"),
                spacing="3",
                width="100%",
            ),
            rx.text(LocaleState.t["office.no_attendees"], color_scheme="gray", id="no-attendees"),
        ),
        section="checkin",
    )


# -- staff -------------------------------------------------------------------------------------


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


def staff_form() -> rx.Component:
    return rx.form(
        rx.flex(
            rx.vstack(
                rx.el.label(
                    rx.text(LocaleState.t["office.staff_email"], size="2", weight="medium"),
                    html_for="field-staff-email",
                ),
                rx.input(
                    name="email", type="email", required=True, id="field-staff-email", width="100%", auto_complete="off"
                ),
                spacing="1",
                flex="2",
                min_width="14rem",
            ),
            rx.vstack(
                rx.el.label(
                    rx.text(LocaleState.t["office.staff_gate"], size="2", weight="medium"), html_for="field-staff-gate"
                ),
                rx.input(
                    name="gate",
                    max_length=60,
                    id="field-staff-gate",
                    width="100%",
                    placeholder=LocaleState.t["office.staff_gate_placeholder"],
                ),
                spacing="1",
                flex="1",
                min_width="10rem",
            ),
            rx.button(rx.icon("user-plus", size=16), LocaleState.t["office.staff_add"], type="submit", id="staff-add"),
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
    return section_loading(
        OfficeStaffState.loaded,
        rx.text(LocaleState.t["office.staff_hint"], size="2", color_scheme="gray"),
        staff_form(),
        rx.cond(
            OfficeStaffState.has_staff,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell(LocaleState.t["admin.col_name"]),
                        rx.table.column_header_cell(LocaleState.t["admin.col_email"]),
                        rx.table.column_header_cell(LocaleState.t["office.col_gate"]),
                        rx.table.column_header_cell(
                            rx.el.span(LocaleState.t["office.col_actions"], class_name="rt-sr-only")
                        ),
                    )
                ),
                rx.table.body(rx.foreach(OfficeStaffState.staff, staff_row)),
                width="100%",
                variant="surface",
                id="staff-table",
            ),
            rx.text(LocaleState.t["office.no_staff"], color_scheme="gray", id="no-staff"),
        ),
        section="staff",
    )


# -- exports -----------------------------------------------------------------------------------


def export_row(row) -> rx.Component:  # noqa: ANN001 - an ObjectVar of ExportRowView
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.text(row.kind + " · " + row.file_format, weight="medium"),
                rx.text(row.created, size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        rx.table.cell(status_badge(row.status_label, row.status, class_name="export-status")),
        rx.table.cell(
            rx.vstack(
                rx.progress(
                    value=row.percent,
                    max=100,
                    size="2",
                    min_width="8rem",
                    aria_label=LocaleState.t["exports.progress"],
                    transform=rtl_flip(),
                    class_name="export-progress",
                    custom_attrs={"data-percent": row.percent},
                ),
                rx.text(rx.cond(row.error != "", row.error, row.progress), size="1", color_scheme="gray"),
                spacing="1",
                width="100%",
            ),
            width="40%",
        ),
        rx.table.cell(
            rx.cond(
                row.done,
                rx.button(
                    download_link(
                        rx.icon("download", size=14, aria_hidden="true"),
                        LocaleState.t["exports.download"],
                        href=row.download_url,
                        class_name="export-download",
                    ),
                    as_child=True,
                    size="1",
                ),
            ),
        ),
        custom_attrs={"data-export-id": row.id, "data-status": row.status},
    )


def choice(label: rx.Var[str], values: tuple[str, ...], value, on_change, select_id: str, key: str) -> rx.Component:  # noqa: ANN001
    return rx.vstack(
        rx.text(label, size="2", weight="medium"),
        rx.select.root(
            rx.select.trigger(aria_label=label, id=select_id),
            rx.select.content(*[rx.select.item(LocaleState.t[f"{key}{v}"], value=v) for v in values]),
            value=value,
            on_change=on_change,
        ),
        spacing="1",
    )


def exports_section() -> rx.Component:
    return section_loading(
        OfficeExportsState.loaded,
        rx.text(LocaleState.t["exports.hint"], size="2", color_scheme="gray"),
        rx.flex(
            choice(
                LocaleState.t["exports.what"],
                EXPORT_KINDS,
                OfficeExportsState.kind,
                OfficeExportsState.set_kind,
                "export-kind",
                "exports.kind_",
            ),
            choice(
                LocaleState.t["exports.format"],
                EXPORT_FORMATS,
                OfficeExportsState.file_format,
                OfficeExportsState.set_file_format,
                "export-format",
                "exports.format_",
            ),
            rx.button(
                rx.icon("file-down", size=16),
                LocaleState.t["exports.start"],
                on_click=OfficeExportsState.start,
                id="export-start",
            ),
            spacing="3",
            align="end",
            wrap="wrap",
        ),
        rx.cond(
            OfficeExportsState.has_exports,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell(LocaleState.t["exports.col_export"]),
                        rx.table.column_header_cell(LocaleState.t["office.col_status"]),
                        rx.table.column_header_cell(LocaleState.t["exports.progress"]),
                        rx.table.column_header_cell(
                            rx.el.span(LocaleState.t["office.col_actions"], class_name="rt-sr-only")
                        ),
                    )
                ),
                rx.table.body(rx.foreach(OfficeExportsState.exports, export_row)),
                width="100%",
                variant="surface",
                id="exports-table",
            ),
            rx.text(LocaleState.t["exports.none"], color_scheme="gray", id="no-exports"),
        ),
        section="exports",
    )


# -- page --------------------------------------------------------------------------------------


def tab_trigger(tab: str, icon: str) -> rx.Component:
    return rx.tabs.trigger(
        rx.hstack(
            rx.icon(icon, size=16, aria_hidden="true", display=rx.breakpoints(initial="none", sm="block")),
            rx.text(LocaleState.t[f"office.tab_{tab}"]),
            align="center",
            spacing="2",
        ),
        value=tab,
        id=f"tab-{tab}",
    )


def office() -> rx.Component:
    return rx.vstack(
        office_header(),
        rx.tabs.root(
            rx.tabs.list(
                tab_trigger("sales", "chart-column"),
                tab_trigger("orders", "receipt"),
                tab_trigger("checkin", "scan-line"),
                rx.cond(BackOfficeState.can_manage, tab_trigger("staff", "users")),
                tab_trigger("exports", "file-down"),
                overflow_x="auto",
                overflow_y="hidden",
            ),
            rx.tabs.content(sales_section(), value="sales"),
            rx.tabs.content(orders_section(), value="orders"),
            rx.tabs.content(checkin_section(), value="checkin"),
            rx.tabs.content(rx.cond(BackOfficeState.can_manage, staff_section()), value="staff"),
            rx.tabs.content(exports_section(), value="exports"),
            value=BackOfficeState.tab,
            on_change=BackOfficeState.set_tab,
            width="100%",
            dir=LocaleState.dir,
        ),
        spacing="5",
        width="100%",
    )


def back_office_page() -> rx.Component:
    return page_shell(
        rx.cond(
            BackOfficeState.loaded,
            rx.cond(
                AuthState.denied,
                forbidden_box(),
                rx.cond(BackOfficeState.not_found, not_found_box(), rx.cond(BackOfficeState.ready, office())),
            ),
            rx.center(rx.spinner(size="3"), padding="3rem"),
        ),
        page="back-office",
        loaded=BackOfficeState.loaded,
    )
