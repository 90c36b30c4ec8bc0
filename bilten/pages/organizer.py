"""`/organizer`: the events of the user's organizations with status, date and sales."""

from __future__ import annotations

import reflex as rx

from bilten.components.layout import page_header, page_shell
from bilten.components.notice import forbidden_box
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


def organizer_page() -> rx.Component:
    return page_shell(
        page_header(LocaleState.t["organizer.title"], LocaleState.t["organizer.subtitle"]),
        rx.cond(
            OrganizerState.loaded,
            rx.cond(AuthState.denied, forbidden_box(), rx.cond(AuthState.can_organize, events_table())),
            rx.center(rx.spinner(size="3"), padding="3rem"),
        ),
        page="organizer",
        loaded=OrganizerState.loaded,
    )
