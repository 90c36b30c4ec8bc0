"""`/events/[event_id]`: one event with its ticket types (the cart comes later)."""

from __future__ import annotations

import reflex as rx

from bilten import routes
from bilten.components.layout import page_shell
from bilten.components.notice import not_found_box
from bilten.state.event import EventState
from bilten.state.i18n import LocaleState


def detail_line(icon: str, label: rx.Var[str], *values: rx.Component) -> rx.Component:
    return rx.hstack(
        rx.icon(icon, size=18, aria_hidden="true"),
        rx.vstack(rx.text(label, size="1", color_scheme="gray", weight="medium"), *values, spacing="0"),
        align="start",
        spacing="3",
    )


def ticket_row(ticket) -> rx.Component:  # noqa: ANN001 - an ObjectVar of TicketTypeView
    return rx.card(
        rx.flex(
            rx.vstack(
                rx.text(ticket.name, weight="bold", size="3"),
                rx.cond(ticket.description != "", rx.text(ticket.description, size="2", color_scheme="gray")),
                spacing="1",
            ),
            rx.hstack(
                rx.text(ticket.price, weight="bold", size="3"),
                rx.badge(
                    ticket.availability,
                    color_scheme=rx.cond(ticket.sold_out, "red", "green"),
                    variant="soft",
                    size="2",
                ),
                align="center",
                spacing="3",
            ),
            justify="between",
            align="center",
            spacing="3",
            wrap="wrap",
        ),
        class_name="ticket-type",
        custom_attrs={"data-ticket-type-id": ticket.id},
    )


def event_details() -> rx.Component:
    event = EventState.event
    return rx.vstack(
        rx.link(
            rx.hstack(
                rx.icon(
                    "arrow-left", size=16, transform=rx.cond(LocaleState.dir == "rtl", "scaleX(-1)", "none")
                ),
                rx.text(LocaleState.t["common.back_home"]),
                align="center",
            ),
            href=routes.HOME,
            size="2",
        ),
        rx.heading(event.title, size="8", as_="h1", id="event-title"),
        rx.cond(
            event.cancelled,
            rx.callout.root(
                rx.callout.icon(rx.icon("ban")),
                rx.callout.text(LocaleState.t["event.cancelled"]),
                color_scheme="red",
                role="alert",
            ),
        ),
        rx.grid(
            detail_line("calendar", LocaleState.t["event.when"], rx.text(event.starts, id="event-starts")),
            detail_line("calendar-check", LocaleState.t["event.ends"], rx.text(event.ends)),
            detail_line(
                "map-pin",
                LocaleState.t["event.where"],
                rx.text(event.place),
                rx.cond(event.venue_address != "", rx.text(event.venue_address, size="2", color_scheme="gray")),
            ),
            columns=rx.breakpoints(initial="1", sm="3"),
            spacing="4",
            width="100%",
        ),
        rx.text(event.timezone_note, size="1", color_scheme="gray"),
        rx.cond(
            event.description != "",
            rx.vstack(
                rx.heading(LocaleState.t["event.about"], size="5", as_="h2"),
                rx.text(event.description, white_space="pre-line"),
                spacing="2",
            ),
        ),
        rx.heading(LocaleState.t["event.tickets"], size="5", as_="h2", margin_top="1rem"),
        rx.cond(
            EventState.ticket_types.length() > 0,
            rx.vstack(rx.foreach(EventState.ticket_types, ticket_row), spacing="3", width="100%", id="ticket-types"),
            rx.text(LocaleState.t["event.no_tickets"], color_scheme="gray"),
        ),
        rx.text(LocaleState.t["event.sales_soon"], size="2", color_scheme="gray"),
        spacing="4",
        width="100%",
    )


def event_page() -> rx.Component:
    return page_shell(
        rx.cond(
            EventState.loaded,
            rx.cond(EventState.not_found, not_found_box(), event_details()),
            rx.center(rx.spinner(size="3"), padding="3rem"),
        ),
        page="event",
        loaded=EventState.loaded,
    )
