"""The back office page: the event's header above one tab per section."""

from __future__ import annotations

import reflex as rx

from bilten import routes
from bilten.back_office.checkin import checkin_section
from bilten.back_office.dashboard import sales_section
from bilten.back_office.exports import exports_section
from bilten.back_office.frame.state import BackOfficeState
from bilten.back_office.orders import orders_section
from bilten.back_office.questions import questions_section
from bilten.back_office.staff import staff_section
from bilten.back_office.vouchers import vouchers_section
from bilten.back_office.waiting_list import waiting_list_section
from bilten.components.layout import page_shell
from bilten.components.notice import forbidden_box, not_found_box
from bilten.components.status_badge import status_badge
from bilten.components.tab_panel import reading_flip, tab_trigger
from bilten.state.auth import AuthState
from bilten.state.i18n import LocaleState


def office_header() -> rx.Component:
    event = BackOfficeState.event
    t = LocaleState.t
    return rx.vstack(
        rx.link(
            rx.hstack(
                rx.icon("arrow-left", size=16, transform=reading_flip()), rx.text(t["office.back"]), align="center"
            ),
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
                        rx.button(rx.icon("external-link", size=16), t["office.public_page"], variant="soft"),
                        href=event.public_url,
                    ),
                ),
                rx.link(  # the event editor: /organizer + /events/<id> + /edit (routes.event_editor_url)
                    rx.button(rx.icon("pencil", size=16), t["editor.edit_event"], variant="soft"),
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


def office_tab(tab: str, icon: str) -> rx.Component:
    return tab_trigger(tab, LocaleState.t[f"office.tab_{tab}"], icon)


def office_frame() -> rx.Component:
    return rx.vstack(
        office_header(),
        rx.tabs.root(
            rx.tabs.list(
                office_tab("sales", "chart-column"),
                office_tab("orders", "receipt"),
                office_tab("checkin", "scan-line"),
                rx.cond(BackOfficeState.can_manage, office_tab("staff", "users")),
                rx.cond(BackOfficeState.can_manage, office_tab("questions", "circle-help")),
                office_tab("exports", "file-down"),
                office_tab("vouchers", "ticket-percent"),
                office_tab("waiting_list", "list-ordered"),
                flex_wrap="wrap",
            ),
            rx.tabs.content(sales_section(), value="sales"),
            rx.tabs.content(orders_section(), value="orders"),
            rx.tabs.content(checkin_section(), value="checkin"),
            rx.tabs.content(rx.cond(BackOfficeState.can_manage, staff_section()), value="staff"),
            rx.tabs.content(rx.cond(BackOfficeState.can_manage, questions_section()), value="questions"),
            rx.tabs.content(exports_section(), value="exports"),
            rx.tabs.content(vouchers_section(), value="vouchers"),
            rx.tabs.content(waiting_list_section(), value="waiting_list"),
            value=BackOfficeState.tab,
            on_change=BackOfficeState.set_tab,
            width="100%",
            dir=LocaleState.dir,
        ),
        spacing="5",
        width="100%",
    )


def back_office_page() -> rx.Component:
    """`/organizer/events/[event_id]`: "not allowed", "not found", or the back office."""
    return page_shell(
        rx.cond(
            BackOfficeState.loaded,
            rx.cond(
                AuthState.denied,
                forbidden_box(),
                rx.cond(BackOfficeState.not_found, not_found_box(), rx.cond(BackOfficeState.ready, office_frame())),
            ),
            rx.center(rx.spinner(size="3"), padding="3rem"),
        ),
        page="back-office",
        loaded=BackOfficeState.loaded,
    )
