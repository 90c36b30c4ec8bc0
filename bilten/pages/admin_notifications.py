"""`/admin/notifications`: failed notifications with their last error and a "Retry" button (admins only)."""

from __future__ import annotations

import reflex as rx

from bilten import routes
from bilten.components.layout import page_header, page_shell
from bilten.components.notice import forbidden_box
from bilten.state.admin_notifications import AdminNotificationsState
from bilten.state.auth import AuthState
from bilten.state.i18n import LocaleState

WIDE_ONLY = rx.breakpoints(initial="none", sm="table-cell")  # columns a phone can do without


def notification_row(row) -> rx.Component:  # noqa: ANN001 - an ObjectVar of FailedNotificationView
    return rx.table.row(
        rx.table.row_header_cell(rx.text(row.recipient), class_name="notification-recipient"),
        rx.table.cell(
            rx.vstack(
                rx.text(row.subject), rx.code(row.topic, variant="ghost", size="1", color_scheme="gray"), spacing="0"
            ),
            min_width="10rem",
        ),
        rx.table.cell(row.attempts, display=WIDE_ONLY),
        rx.table.cell(row.failed_at, white_space="nowrap", display=WIDE_ONLY),
        rx.table.cell(
            rx.text(
                row.last_error,
                size="1",
                color_scheme="red",
                title=row.last_error,
                max_width="22rem",
                overflow="hidden",
                text_overflow="ellipsis",
                white_space="nowrap",
                dir="ltr",
            ),
        ),
        rx.table.cell(
            rx.button(
                rx.icon("rotate-cw", size=14),
                LocaleState.t["notifications.retry"],
                on_click=AdminNotificationsState.retry(row.id),
                size="1",
                white_space="nowrap",
                class_name="retry-notification",
            ),
        ),
        custom_attrs={"data-notification-id": row.id},
    )


def notifications_table() -> rx.Component:
    return rx.vstack(
        rx.link(
            rx.hstack(
                rx.icon("arrow-left", size=16, transform=rx.cond(LocaleState.dir == "rtl", "scaleX(-1)", "none")),
                rx.text(LocaleState.t["notifications.back"]),
                align="center",
            ),
            href=routes.ADMIN,
            size="2",
            id="notifications-back",
        ),
        rx.cond(
            AdminNotificationsState.has_notifications,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell(LocaleState.t["notifications.col_recipient"]),
                        rx.table.column_header_cell(LocaleState.t["notifications.col_subject"]),
                        rx.table.column_header_cell(LocaleState.t["notifications.col_attempts"], display=WIDE_ONLY),
                        rx.table.column_header_cell(LocaleState.t["notifications.col_failed_at"], display=WIDE_ONLY),
                        rx.table.column_header_cell(LocaleState.t["notifications.col_error"]),
                        rx.table.column_header_cell(
                            rx.el.span(LocaleState.t["office.col_actions"], class_name="rt-sr-only")
                        ),
                    )
                ),
                rx.table.body(rx.foreach(AdminNotificationsState.notifications, notification_row)),
                width="100%",
                variant="surface",
                id="notifications-table",
            ),
            rx.callout.root(
                rx.callout.icon(rx.icon("circle-check")),
                rx.callout.text(LocaleState.t["notifications.none"]),
                color_scheme="green",
                id="no-notifications",
                width="100%",
            ),
        ),
        spacing="4",
        width="100%",
    )


def admin_notifications_page() -> rx.Component:
    return page_shell(
        page_header(LocaleState.t["notifications.title"], LocaleState.t["notifications.subtitle"]),
        rx.cond(
            AdminNotificationsState.loaded,
            rx.cond(AuthState.denied, forbidden_box(), rx.cond(AuthState.can_admin, notifications_table())),
            rx.center(rx.spinner(size="3"), padding="3rem"),
        ),
        page="admin-notifications",
        loaded=AdminNotificationsState.loaded,
    )
