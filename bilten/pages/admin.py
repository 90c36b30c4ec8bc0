"""`/admin`: platform administration (admins only): users with a search and a role select."""

from __future__ import annotations

import reflex as rx

from bilten import routes
from bilten.components.layout import page_header, page_shell
from bilten.components.notice import forbidden_box
from bilten.state.admin import ROLES, AdminState
from bilten.state.auth import AuthState
from bilten.state.i18n import LocaleState


def role_select(row) -> rx.Component:  # noqa: ANN001 - an ObjectVar of UserRow
    return rx.select.root(
        rx.select.trigger(aria_label=LocaleState.t["admin.col_role"]),
        rx.select.content(*[rx.select.item(LocaleState.t[f"role.{role}"], value=role) for role in ROLES]),
        value=row.role,
        on_change=lambda role: AdminState.change_role(row.id, role),
        size="2",
    )


def user_row(row) -> rx.Component:  # noqa: ANN001
    return rx.table.row(
        rx.table.cell(rx.text(row.email), class_name="user-email"),
        rx.table.cell(row.full_name),
        rx.table.cell(role_select(row)),
        custom_attrs={"data-user-id": row.id},
    )


def users_table() -> rx.Component:
    return rx.vstack(
        rx.form(
            rx.flex(
                rx.input(
                    rx.input.slot(rx.icon("search", size=16)),
                    name="search",
                    default_value=AdminState.search,
                    placeholder=LocaleState.t["admin.search_placeholder"],
                    aria_label=LocaleState.t["admin.search_label"],
                    type="search",
                    id="user-search",
                    flex="1",
                ),
                rx.button(LocaleState.t["common.search"], type="submit"),
                spacing="3",
                width="100%",
            ),
            on_submit=AdminState.run_search,
            reset_on_submit=False,
            role="search",
            width="100%",
        ),
        rx.cond(
            AdminState.users.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell(LocaleState.t["admin.col_email"]),
                        rx.table.column_header_cell(LocaleState.t["admin.col_name"]),
                        rx.table.column_header_cell(LocaleState.t["admin.col_role"]),
                    )
                ),
                rx.table.body(rx.foreach(AdminState.users, user_row)),
                width="100%",
                variant="surface",
                id="users-table",
            ),
            rx.text(LocaleState.t["admin.no_users"], color_scheme="gray"),
        ),
        spacing="4",
        width="100%",
    )


def admin_page() -> rx.Component:
    return page_shell(
        rx.flex(
            page_header(LocaleState.t["admin.title"], LocaleState.t["admin.subtitle"]),
            rx.cond(
                AuthState.can_admin,
                rx.link(
                    rx.button(rx.icon("mail-warning", size=16), LocaleState.t["notifications.title"], variant="soft"),
                    href=routes.ADMIN_NOTIFICATIONS,
                    id="admin-notifications-link",
                ),
            ),
            justify="between",
            align="start",
            wrap="wrap",
            spacing="3",
        ),
        rx.cond(
            AdminState.loaded,
            rx.cond(AuthState.denied, forbidden_box(), rx.cond(AuthState.can_admin, users_table())),
            rx.center(rx.spinner(size="3"), padding="3rem"),
        ),
        page="admin",
        loaded=AdminState.loaded,
    )
