"""The waiting list's pages: the join form on a sold-out event page (`join_form`), and the person's
own page `/waiting-list/[waiting_token]`: their place in line, their offer and its buy button."""

from __future__ import annotations

import reflex as rx

from bilten import routes
from bilten.components.forms import field
from bilten.components.layout import page_shell
from bilten.components.notice import error_text
from bilten.components.questions import question_field
from bilten.state.i18n import LocaleState
from bilten.state.waiting_list import WaitingListJoinState, WaitingListStatusState


def join_form() -> rx.Component:
    """Shown on the event page while some ticket type is sold out and its waiting list is open."""
    t = LocaleState.t
    state = WaitingListJoinState
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading(t["waiting_list.join_title"], size="5", as_="h2"),
                rx.text(t["waiting_list.join_hint"], size="2", color_scheme="gray"),
                rx.cond(
                    state.choices.length() > 1,
                    rx.vstack(
                        rx.el.label(
                            rx.text(t["waiting_list.ticket_type"], size="2", weight="medium"),
                            html_for="waiting-type",
                        ),
                        rx.el.select(
                            rx.foreach(state.choices, lambda c: rx.el.option(c.name, value=c.id)),
                            name="ticket_type_id",
                            id="waiting-type",
                        ),
                        spacing="1",
                        width="100%",
                    ),
                ),
                rx.grid(
                    field(
                        t["waiting_list.email"],
                        "email",
                        type_="email",
                        required=True,
                        max_length=254,
                        auto_complete="email",
                        dir="ltr",
                        id="waiting-email",
                    ),
                    field(t["waiting_list.name"], "name", max_length=200, auto_complete="name", id="waiting-name"),
                    columns=rx.breakpoints(initial="1", sm="2"),
                    spacing="3",
                    width="100%",
                ),
                error_text(state.join_error, id="waiting-error", width="100%"),
                rx.button(
                    rx.icon("list-plus", size=18),
                    t["waiting_list.join_button"],
                    type="submit",
                    size="3",
                    loading=state.joining,
                    id="waiting-join",
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=state.join,
            reset_on_submit=False,
            id="waiting-form",
        ),
        size="3",
        width="100%",
    )


def _buy_form() -> rx.Component:
    t = LocaleState.t
    state = WaitingListStatusState
    return rx.form(
        rx.vstack(
            rx.grid(
                field(
                    t["waiting_list.phone"],
                    "phone",
                    type_="tel",
                    required=True,
                    max_length=30,
                    auto_complete="tel",
                    dir="ltr",
                    id="offer-phone",
                ),
                field(t["waiting_list.name"], "name", max_length=200, auto_complete="name", id="offer-name"),
                columns=rx.breakpoints(initial="1", sm="2"),
                spacing="3",
                width="100%",
            ),
            rx.cond(
                state.question_fields.length() > 0,
                rx.vstack(
                    rx.heading(t["checkout.questions.title"], size="4", as_="h3"),
                    rx.foreach(state.question_fields, question_field),
                    spacing="3",
                    width="100%",
                    id="offer-questions",
                ),
            ),
            error_text(state.buy_error, id="offer-error", width="100%"),
            rx.button(
                rx.icon("ticket", size=18),
                t["waiting_list.buy_button"],
                " · ",
                state.price,
                type="submit",
                size="3",
                loading=state.buying,
                id="offer-buy",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=state.buy,
        reset_on_submit=False,
        id="offer-form",
        width="100%",
    )


def _status() -> rx.Component:
    t = LocaleState.t
    state = WaitingListStatusState
    return rx.vstack(
        rx.heading(t["waiting_list.page_title"], size="7", as_="h1"),
        rx.link(state.event_title, href=state.event_link, size="4", weight="bold", id="waiting-event"),
        rx.callout.root(
            rx.callout.icon(rx.icon(rx.cond(state.state_name == "offered", "ticket-check", "hourglass"))),
            rx.callout.text(state.status_text, id="waiting-status"),
            color_scheme=rx.cond(state.state_name == "offered", "green", "gray"),
            custom_attrs={"data-state": state.state_name},
            width="100%",
        ),
        rx.cond(state.state_name == "offered", _buy_form()),
        spacing="4",
        width="100%",
        max_width="40rem",
    )


def _invalid_link() -> rx.Component:
    return rx.vstack(
        rx.callout.root(
            rx.callout.icon(rx.icon("circle-help")),
            rx.callout.text(LocaleState.t["waiting_list.invalid_link"]),
            color_scheme="red",
            role="alert",
            id="waiting-invalid",
        ),
        rx.link(LocaleState.t["common.back_home"], href=routes.HOME),
        spacing="3",
    )


def waiting_list_page() -> rx.Component:
    state = WaitingListStatusState
    return page_shell(
        rx.cond(
            state.loaded,
            rx.cond(state.not_found, _invalid_link(), _status()),
            rx.center(rx.spinner(size="3"), padding="3rem"),
        ),
        page="waiting-list",
        loaded=state.loaded,
    )
