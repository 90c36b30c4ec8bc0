"""The search line above a list: a search field, optional filters beside it, a Search button."""

from __future__ import annotations

import reflex as rx

from bilten.state.i18n import LocaleState
from bilten.state.paging import MAX_SEARCH


def search_box(
    *,
    on_submit,  # noqa: ANN001 - an event handler taking the form data ({"search": ...})
    value: rx.Var[str],
    input_id: str,
    placeholder: rx.Var[str],
    label: rx.Var[str],
    extras: tuple[rx.Component, ...] = (),
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
                max_length=MAX_SEARCH,
            ),
            *extras,
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


def filter_select(
    *,
    items: list[tuple[str, rx.Var[str]]],
    value: rx.Var[str],
    on_change,  # noqa: ANN001 - an event handler taking the chosen value
    label: rx.Var[str],
    select_id: str,
) -> rx.Component:
    """A filter beside the search field: `items` are (value, text) pairs."""
    return rx.select.root(
        rx.select.trigger(aria_label=label, id=select_id),
        rx.select.content(*[rx.select.item(text, value=item_value) for item_value, text in items]),
        value=value,
        on_change=on_change,
    )
