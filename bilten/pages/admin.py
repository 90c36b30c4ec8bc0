"""`/admin`: platform administration (admins only): users, organizations, all events, failed
notifications and the recent admin changes, one tab each."""

from __future__ import annotations

import reflex as rx

from bilten import routes
from bilten.components.layout import page_header, page_shell
from bilten.components.notice import forbidden_box
from bilten.components.pager import pager
from bilten.components.search_box import filter_select, search_box
from bilten.components.status_badge import status_badge
from bilten.components.tab_panel import tab_panel, tab_trigger
from bilten.components.table import WIDE_ONLY, Column, data_table
from bilten.state.admin import (
    ALL,
    EVENT_STATUSES,
    ROLES,
    AdminChangesState,
    AdminEventsState,
    AdminOrganizationsState,
    AdminState,
    AdminUsersState,
)
from bilten.state.auth import AuthState
from bilten.state.i18n import LocaleState

# -- users --------------------------------------------------------------------------------------


def role_select(row) -> rx.Component:  # noqa: ANN001 - an ObjectVar of UserView
    return rx.select.root(
        rx.select.trigger(aria_label=LocaleState.t["admin.col_role"]),
        rx.select.content(*[rx.select.item(LocaleState.t[f"role.{role}"], value=role) for role in ROLES]),
        value=row.role,
        on_change=lambda role: AdminUsersState.change_role(row.id, role),
        size="2",
    )


def active_badge(row) -> rx.Component:  # noqa: ANN001
    return status_badge(
        rx.cond(row.active, LocaleState.t["admin.active"], LocaleState.t["admin.disabled"]),
        rx.cond(row.active, "active", "disabled"),
        class_name="user-status",
    )


def toggle_button(row) -> rx.Component:  # noqa: ANN001
    return rx.cond(
        row.is_self,
        rx.text(LocaleState.t["admin.you"], size="1", color_scheme="gray"),
        rx.button(
            rx.cond(row.active, LocaleState.t["admin.disable"], LocaleState.t["admin.enable"]),
            on_click=AdminUsersState.ask_toggle(row.id),
            color_scheme=rx.cond(row.active, "red", "green"),
            variant="soft",
            size="1",
            white_space="nowrap",
            class_name="toggle-user",
        ),
    )


def reset_two_factor_button(row) -> rx.Component:  # noqa: ANN001
    return rx.cond(
        row.is_self,
        rx.fragment(),
        rx.button(
            rx.icon("smartphone", size=14),
            LocaleState.t["admin.reset_two_factor"],
            on_click=AdminUsersState.ask_reset_two_factor(row.id),
            color_scheme="orange",
            variant="soft",
            size="1",
            white_space="nowrap",
            class_name="reset-two-factor",
        ),
    )


def user_row(row) -> rx.Component:  # noqa: ANN001
    return rx.table.row(
        rx.table.row_header_cell(rx.text(row.email), class_name="user-email"),
        rx.table.cell(row.full_name, display=WIDE_ONLY),
        rx.table.cell(role_select(row)),
        rx.table.cell(active_badge(row)),
        rx.table.cell(row.joined, white_space="nowrap", display=WIDE_ONLY),
        rx.table.cell(rx.hstack(toggle_button(row), reset_two_factor_button(row), spacing="2")),
        custom_attrs={"data-user-id": row.id, "data-active": rx.cond(row.active, "true", "false")},
    )


def toggle_dialog() -> rx.Component:
    state = AdminUsersState
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(
                rx.cond(
                    state.confirm_disable,
                    LocaleState.t["admin.confirm_disable_title"],
                    LocaleState.t["admin.confirm_enable_title"],
                )
            ),
            rx.alert_dialog.description(state.confirm_text, size="2"),
            rx.flex(
                rx.alert_dialog.cancel(
                    rx.button(LocaleState.t["common.keep"], variant="soft", color_scheme="gray", id="keep-user")
                ),
                rx.alert_dialog.action(
                    rx.button(
                        rx.cond(state.confirm_disable, LocaleState.t["admin.disable"], LocaleState.t["admin.enable"]),
                        on_click=state.confirm_toggle,
                        color_scheme=rx.cond(state.confirm_disable, "red", "green"),
                        id="confirm-toggle",
                    )
                ),
                spacing="3",
                justify="end",
                margin_top="1rem",
            ),
            id="toggle-dialog",
            dir=LocaleState.dir,
        ),
        open=state.confirm_open,
        on_open_change=state.set_confirm_open,
    )


def reset_two_factor_dialog() -> rx.Component:
    state = AdminUsersState
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(LocaleState.t["admin.confirm_reset_two_factor_title"]),
            rx.alert_dialog.description(state.reset_text, size="2"),
            rx.flex(
                rx.alert_dialog.cancel(
                    rx.button(LocaleState.t["common.keep"], variant="soft", color_scheme="gray", id="keep-two-factor")
                ),
                rx.alert_dialog.action(
                    rx.button(
                        LocaleState.t["admin.reset_two_factor"],
                        on_click=state.confirm_reset_two_factor,
                        color_scheme="orange",
                        id="confirm-reset-two-factor",
                    )
                ),
                spacing="3",
                justify="end",
                margin_top="1rem",
            ),
            id="reset-two-factor-dialog",
            dir=LocaleState.dir,
        ),
        open=state.reset_open,
        on_open_change=state.set_reset_open,
    )


def users_section() -> rx.Component:
    state = AdminUsersState
    role_filter = filter_select(
        items=[(ALL, LocaleState.t["admin.all_roles"])] + [(role, LocaleState.t[f"role.{role}"]) for role in ROLES],
        value=state.role_filter,
        on_change=state.set_role_filter,
        label=LocaleState.t["admin.role_filter"],
        select_id="user-role-filter",
    )
    active_filter = filter_select(
        items=[
            (ALL, LocaleState.t["admin.all_accounts"]),
            ("active", LocaleState.t["admin.active"]),
            ("disabled", LocaleState.t["admin.disabled"]),
        ],
        value=state.active_filter,
        on_change=state.set_active_filter,
        label=LocaleState.t["admin.active_filter"],
        select_id="user-active-filter",
    )
    return tab_panel(
        state.loaded,
        search_box(
            on_submit=state.run_search,
            value=state.search,
            input_id="user-search",
            placeholder=LocaleState.t["admin.search_placeholder"],
            label=LocaleState.t["admin.search_label"],
            extras=(role_filter, active_filter),
        ),
        data_table(
            [
                Column(LocaleState.t["admin.col_email"]),
                Column(LocaleState.t["admin.col_name"], wide_only=True),
                Column(LocaleState.t["admin.col_role"]),
                Column(LocaleState.t["admin.col_status"]),
                Column(LocaleState.t["admin.col_joined"], wide_only=True),
                Column.actions(),
            ],
            state.users,
            user_row,
            table_id="users-table",
            empty_text=LocaleState.t["admin.no_users"],
            empty_id="no-users",
            below=(rx.text(LocaleState.t["admin.times_utc"], size="1", color_scheme="gray"), pager(state, "users")),
        ),
        toggle_dialog(),
        reset_two_factor_dialog(),
        name="users",
    )


# -- organizations ------------------------------------------------------------------------------


def organization_row(row) -> rx.Component:  # noqa: ANN001 - an ObjectVar of OrganizationView
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.text(row.name, weight="medium"),
                rx.code(row.slug, variant="ghost", size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        rx.table.cell(row.owners, max_width="18rem", overflow_wrap="anywhere"),
        rx.table.cell(row.members, class_name="organization-members"),
        rx.table.cell(row.events, class_name="organization-events"),
        rx.table.cell(row.created, white_space="nowrap", display=WIDE_ONLY),
        custom_attrs={"data-organization-id": row.id},
    )


def organizations_section() -> rx.Component:
    state = AdminOrganizationsState
    return tab_panel(
        state.loaded,
        search_box(
            on_submit=state.run_search,
            value=state.search,
            input_id="organization-search",
            placeholder=LocaleState.t["admin.organization_search_placeholder"],
            label=LocaleState.t["admin.organization_search_label"],
        ),
        data_table(
            [
                Column(LocaleState.t["admin.col_organization"]),
                Column(LocaleState.t["admin.col_owners"]),
                Column(LocaleState.t["admin.col_members"]),
                Column(LocaleState.t["admin.col_events"]),
                Column(LocaleState.t["admin.col_created"], wide_only=True),
            ],
            state.organizations,
            organization_row,
            table_id="organizations-table",
            empty_text=LocaleState.t["admin.no_organizations"],
            empty_id="no-organizations",
            below=(
                rx.text(LocaleState.t["admin.times_utc"], size="1", color_scheme="gray"),
                pager(state, "organizations"),
            ),
        ),
        name="organizations",
    )


# -- events -------------------------------------------------------------------------------------


def event_row(row) -> rx.Component:  # noqa: ANN001 - an ObjectVar of EventView
    return rx.table.row(
        rx.table.row_header_cell(rx.link(row.title, href=row.office_url, class_name="event-office-link")),
        rx.table.cell(row.organization_name),
        rx.table.cell(status_badge(row.status_label, row.status)),
        rx.table.cell(row.starts, white_space="nowrap", display=WIDE_ONLY),
        rx.table.cell(rx.text(row.sold, dir="ltr"), class_name="event-sold"),
        custom_attrs={"data-event-id": row.id},
    )


def events_section() -> rx.Component:
    state = AdminEventsState
    status_filter = filter_select(
        items=[(ALL, LocaleState.t["admin.all_statuses"])]
        + [(status, LocaleState.t[f"status.{status}"]) for status in EVENT_STATUSES],
        value=state.status_filter,
        on_change=state.set_status_filter,
        label=LocaleState.t["admin.status_filter"],
        select_id="event-status-filter",
    )
    return tab_panel(
        state.loaded,
        search_box(
            on_submit=state.run_search,
            value=state.search,
            input_id="event-search",
            placeholder=LocaleState.t["admin.event_search_placeholder"],
            label=LocaleState.t["admin.event_search_label"],
            extras=(status_filter,),
        ),
        data_table(
            [
                Column(LocaleState.t["admin.col_event"]),
                Column(LocaleState.t["admin.col_organization"]),
                Column(LocaleState.t["office.col_status"]),
                Column(LocaleState.t["admin.col_starts"], wide_only=True),
                Column(LocaleState.t["admin.col_sold"]),
            ],
            state.events,
            event_row,
            table_id="events-table",
            empty_text=LocaleState.t["admin.no_events"],
            empty_id="no-events",
            below=(
                rx.text(LocaleState.t["admin.events_times_note"], size="1", color_scheme="gray"),
                pager(state, "events"),
            ),
        ),
        name="events",
    )


# -- notifications and recent changes -----------------------------------------------------------


def notifications_section() -> rx.Component:
    failed = AdminState.overview.failed_notifications
    return rx.box(
        rx.callout.root(
            rx.callout.icon(rx.cond(failed > 0, rx.icon("mail-warning"), rx.icon("circle-check"))),
            rx.callout.text(AdminState.failed_text, id="failed-count", custom_attrs={"data-count": failed}),
            color_scheme=rx.cond(failed > 0, "amber", "green"),
            width="100%",
        ),
        rx.link(
            rx.button(rx.icon("mail-warning", size=16), LocaleState.t["admin.open_notifications"], variant="soft"),
            href=routes.ADMIN_NOTIFICATIONS,
            id="notifications-tab-link",
        ),
        id="section-notifications",
        display="flex",
        flex_direction="column",
        gap="1rem",
        align_items="start",
        padding_top="1.25rem",
    )


def change_row(row) -> rx.Component:  # noqa: ANN001 - an ObjectVar of ChangeView
    return rx.table.row(
        rx.table.cell(row.when, white_space="nowrap"),
        rx.table.cell(row.text),
        custom_attrs={"data-action": row.action},
    )


def changes_section() -> rx.Component:
    state = AdminChangesState
    return tab_panel(
        state.loaded,
        data_table(
            [Column(LocaleState.t["admin.col_when"]), Column(LocaleState.t["admin.col_change"])],
            state.changes,
            change_row,
            table_id="changes-table",
            empty_text=LocaleState.t["admin.no_changes"],
            empty_id="no-changes",
            below=(rx.text(LocaleState.t["admin.times_utc"], size="1", color_scheme="gray"),),
        ),
        name="changes",
    )


# -- page ---------------------------------------------------------------------------------------


def admin_tab(tab: str, icon: str, count: rx.Var[int] | None = None) -> rx.Component:
    return tab_trigger(tab, LocaleState.t[f"admin.tab_{tab}"], icon, count)


def admin_area() -> rx.Component:
    overview = AdminState.overview
    return rx.tabs.root(
        rx.tabs.list(
            admin_tab("users", "users", overview.users),
            admin_tab("organizations", "building-2", overview.organizations),
            admin_tab("events", "calendar", overview.events),
            admin_tab("notifications", "mail-warning", overview.failed_notifications),
            admin_tab("changes", "history"),
            flex_wrap="wrap",
        ),
        rx.tabs.content(users_section(), value="users"),
        rx.tabs.content(organizations_section(), value="organizations"),
        rx.tabs.content(events_section(), value="events"),
        rx.tabs.content(notifications_section(), value="notifications"),
        rx.tabs.content(changes_section(), value="changes"),
        value=AdminState.tab,
        on_change=AdminState.set_tab,
        width="100%",
        dir=LocaleState.dir,
    )


def admin_page() -> rx.Component:
    return page_shell(
        rx.flex(
            page_header(LocaleState.t["admin.title"], LocaleState.t["admin.subtitle"]),
            rx.cond(
                AdminState.allowed,
                rx.link(
                    rx.button(
                        rx.icon("mail-warning", size=16),
                        LocaleState.t["notifications.title"],
                        rx.badge(
                            AdminState.overview.failed_notifications,
                            color_scheme=rx.cond(AdminState.overview.failed_notifications > 0, "red", "gray"),
                            variant="solid",
                            radius="full",
                            size="1",
                        ),
                        variant="soft",
                    ),
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
            rx.cond(AuthState.denied, forbidden_box(), rx.cond(AdminState.allowed, admin_area())),
            rx.center(rx.spinner(size="3"), padding="3rem"),
        ),
        page="admin",
        loaded=AdminState.loaded,
    )
