"""`/`: the published upcoming events, with a text search, a city filter and a date range."""

from __future__ import annotations

import reflex as rx

from bilten.components.event_card import event_card
from bilten.components.layout import page_header, page_shell
from bilten.state.home import ALL_CITIES, HomeState
from bilten.state.i18n import LocaleState


def date_input(label: rx.Var[str], value: rx.Var[str], on_change, name: str, input_id: str) -> rx.Component:  # noqa: ANN001
    """A date bound of the search, named inside the field (a date picker has no placeholder)."""
    return rx.input(
        rx.input.slot(rx.text(label, size="2", color_scheme="gray")),
        type="date",
        name=name,
        value=value,
        on_change=on_change,
        aria_label=label,
        id=input_id,
        size="3",
        min_width="11rem",
    )


def search_bar() -> rx.Component:
    return rx.form(
        rx.flex(
            rx.input(
                rx.input.slot(rx.icon("search", size=16)),
                name="text",
                value=HomeState.text,
                on_change=HomeState.set_text,
                placeholder=LocaleState.t["home.search_placeholder"],
                aria_label=LocaleState.t["home.search_label"],
                type="search",
                id="search-text",
                size="3",
                flex="1",
                min_width="14rem",
            ),
            rx.select.root(
                rx.select.trigger(
                    placeholder=LocaleState.t["home.city_label"],
                    aria_label=LocaleState.t["home.city_label"],
                    id="search-city",
                ),
                rx.select.content(
                    rx.select.item(LocaleState.t["home.all_cities"], value=ALL_CITIES),
                    rx.foreach(HomeState.cities, lambda city: rx.select.item(city, value=city)),
                ),
                value=HomeState.city,
                on_change=HomeState.set_city,
                size="3",
            ),
            date_input(
                LocaleState.t["home.date_from"],
                HomeState.starts_from,
                HomeState.set_starts_from,
                "starts_from",
                "search-from",
            ),
            date_input(
                LocaleState.t["home.date_until"],
                HomeState.starts_until,
                HomeState.set_starts_until,
                "starts_until",
                "search-until",
            ),
            rx.button(LocaleState.t["common.search"], type="submit", size="3", id="search-submit"),
            rx.button(
                LocaleState.t["common.clear"],
                type="button",
                variant="soft",
                color_scheme="gray",
                size="3",
                on_click=HomeState.clear,
            ),
            spacing="3",
            wrap="wrap",
            width="100%",
        ),
        on_submit=HomeState.search,
        reset_on_submit=False,
        role="search",
        margin_bottom="1.5rem",
    )


def home_page() -> rx.Component:
    return page_shell(
        page_header(LocaleState.t["home.title"], LocaleState.t["home.subtitle"]),
        search_bar(),
        rx.cond(
            HomeState.has_events,
            rx.grid(
                rx.foreach(HomeState.events, event_card),
                columns=rx.breakpoints(initial="1", sm="2", md="3"),
                spacing="4",
                width="100%",
                id="event-list",
            ),
            rx.cond(
                HomeState.loaded,
                rx.callout.root(
                    rx.callout.icon(rx.icon("calendar-x")),
                    rx.callout.text(LocaleState.t["home.no_events"]),
                    id="no-events",
                ),
                rx.center(rx.spinner(size="3"), padding="3rem"),
            ),
        ),
        page="home",
        loaded=HomeState.loaded,
    )
