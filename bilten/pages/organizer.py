"""`/organizer`: the events of the user's organizations with status, date and sales."""

from __future__ import annotations

import reflex as rx

from bilten import routes
from bilten.components.dashboard import figure, sales_chart
from bilten.components.layout import page_header, page_shell
from bilten.components.notice import forbidden_box
from bilten.pages.team import organizations_panel
from bilten.state.auth import AuthState
from bilten.state.i18n import LocaleState
from bilten.state.organizer import OrganizerState


def event_row(row) -> rx.Component:  # noqa: ANN001 - an ObjectVar of OrganizerEventView
    return rx.table.row(
        rx.table.row_header_cell(
            rx.hstack(
                rx.link(row.title, href=row.office_url, class_name="office-link"),
                rx.cond(
                    row.public,
                    rx.link(
                        rx.icon("external-link", size=14),
                        href=row.url,
                        aria_label=LocaleState.t["office.public_page"],
                        title=LocaleState.t["office.public_page"],
                    ),
                ),
                align="center",
                spacing="2",
            ),
        ),
        rx.table.cell(row.organization),
        rx.table.cell(
            rx.badge(
                row.status_label,
                color_scheme=rx.match(row.status, ("published", "green"), ("cancelled", "red"), "gray"),
                variant="soft",
            ),
            custom_attrs={"data-status": row.status},
        ),
        rx.table.cell(row.when),
        rx.table.cell(row.sold, white_space="nowrap"),
        custom_attrs={"data-event-id": row.id},
    )


def events_table() -> rx.Component:
    return rx.cond(
        OrganizerState.has_events,
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell(LocaleState.t["organizer.col_event"]),
                    rx.table.column_header_cell(LocaleState.t["organizer.col_organization"]),
                    rx.table.column_header_cell(LocaleState.t["organizer.col_status"]),
                    rx.table.column_header_cell(LocaleState.t["organizer.col_date"]),
                    rx.table.column_header_cell(LocaleState.t["organizer.col_sold"]),
                )
            ),
            rx.table.body(rx.foreach(OrganizerState.events, event_row)),
            width="100%",
            variant="surface",
            id="organizer-events",
        ),
        rx.text(LocaleState.t["organizer.no_events"], color_scheme="gray"),
    )


def dashboard_event_row(row) -> rx.Component:  # noqa: ANN001 - an ObjectVar of DashboardEventView
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.link(row.title, href=row.office_url, weight="medium"),
                rx.text(row.when, size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        rx.table.cell(
            rx.badge(
                row.status_label,
                color_scheme=rx.match(row.status, ("published", "green"), ("cancelled", "red"), "gray"),
                variant="soft",
            )
        ),
        rx.table.cell(row.sold, class_name="sold"),
        rx.table.cell(row.remaining, class_name="remaining"),
        rx.table.cell(row.held),
        rx.table.cell(row.revenue, white_space="nowrap", class_name="revenue"),
        rx.table.cell(row.checked_in, class_name="checked-in"),
        custom_attrs={"data-event-id": row.id},
    )


def organization_picker() -> rx.Component:
    return rx.cond(
        OrganizerState.organizations.length() > 1,
        rx.select.root(
            rx.select.trigger(aria_label=LocaleState.t["dashboard.organization"], id="dashboard-organization"),
            rx.select.content(
                rx.foreach(OrganizerState.organizations, lambda org: rx.select.item(org.name, value=org.id))
            ),
            value=OrganizerState.selected_org,
            on_change=OrganizerState.select_organization,
        ),
    )


def organization_dashboard() -> rx.Component:
    """Live figures over all events of one organization."""
    totals = OrganizerState.org_totals
    t = LocaleState.t
    return rx.cond(
        OrganizerState.has_dashboard,
        rx.vstack(
            rx.flex(
                rx.heading(t["dashboard.title"] + " · " + totals.name, size="5", as_="h2", id="dashboard-title"),
                organization_picker(),
                justify="between",
                align="center",
                wrap="wrap",
                spacing="3",
                width="100%",
            ),
            rx.grid(
                figure(t["office.sold"], totals.sold, "org-sold", totals.capacity_note),
                figure(t["office.revenue"], totals.revenue, "org-revenue", t["office.revenue_hint"]),
                figure(t["office.available"], totals.remaining, "org-remaining"),
                figure(t["office.held"], totals.held, "org-held", t["office.held_hint"]),
                figure(t["dashboard.checked_in"], totals.checked_in, "org-checked-in"),
                columns=rx.breakpoints(initial="2", md="5"),
                spacing="3",
                width="100%",
            ),
            sales_chart(
                OrganizerState.org_chart,
                title=rx.cond(
                    OrganizerState.org_chart_per_hour,
                    t["dashboard.sales_per_hour_utc"],
                    t["dashboard.sales_per_day_utc"],
                ),
                series_name=t["dashboard.tickets_sold"],
                empty_text=t["dashboard.no_sales_yet"],
                rtl=LocaleState.dir == "rtl",
                chart_id="org-sales-chart",
            ),
            rx.cond(
                OrganizerState.org_events.length() > 0,
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            rx.table.column_header_cell(t["organizer.col_event"]),
                            rx.table.column_header_cell(t["organizer.col_status"]),
                            rx.table.column_header_cell(t["office.sold"]),
                            rx.table.column_header_cell(t["office.available"]),
                            rx.table.column_header_cell(t["office.held"]),
                            rx.table.column_header_cell(t["office.revenue"]),
                            rx.table.column_header_cell(t["dashboard.checked_in"]),
                        )
                    ),
                    rx.table.body(rx.foreach(OrganizerState.org_events, dashboard_event_row)),
                    width="100%",
                    variant="surface",
                    id="dashboard-events",
                ),
            ),
            rx.hstack(
                rx.icon("radio", size=14, aria_hidden="true"),
                rx.text(t["office.live_hint"], size="1"),
                color_scheme="gray",
                align="center",
                spacing="2",
            ),
            spacing="4",
            width="100%",
            id="organization-dashboard",
        ),
    )


def organizer_page() -> rx.Component:
    return page_shell(
        page_header(LocaleState.t["organizer.title"], LocaleState.t["organizer.subtitle"]),
        rx.vstack(
            rx.link(
                rx.button(rx.icon("plus", size=16), LocaleState.t["editor.new_title"]),
                href=routes.ORGANIZER_EVENT_NEW,
                id="new-event",
            ),
            organizations_panel(),  # the user's organizations, their team pages, "new organization" (pages/team.py)
            spacing="4",
            width="100%",
        ),
        rx.cond(
            OrganizerState.loaded,
            rx.cond(
                AuthState.denied,
                forbidden_box(),
                rx.cond(
                    AuthState.can_organize,
                    rx.vstack(organization_dashboard(), events_table(), spacing="6", width="100%"),
                ),
            ),
            rx.center(rx.spinner(size="3"), padding="3rem"),
        ),
        page="organizer",
        loaded=OrganizerState.loaded,
    )
