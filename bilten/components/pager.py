"""Under a long list: where we are ("1–25 of 60") and previous / next buttons."""

from __future__ import annotations

import reflex as rx

from bilten.state.i18n import LocaleState


def pager(state: type[rx.State], name: str) -> rx.Component:
    """`state` mixes in one of `bilten.state.paging`'s pagings."""
    flip = rx.cond(LocaleState.dir == "rtl", "scaleX(-1)", "none")  # arrows point the reading way
    return rx.flex(
        rx.text(state.range_text, size="2", color_scheme="gray", id=f"{name}-range"),
        rx.hstack(
            rx.button(
                rx.icon("chevron-left", size=16, transform=flip),
                LocaleState.t["pager.previous"],
                on_click=state.previous_page,
                disabled=~state.has_previous,
                variant="soft",
                size="2",
                id=f"{name}-previous",
            ),
            rx.button(
                LocaleState.t["pager.next"],
                rx.icon("chevron-right", size=16, transform=flip),
                on_click=state.next_page,
                disabled=~state.has_next,
                variant="soft",
                size="2",
                id=f"{name}-next",
            ),
            spacing="2",
        ),
        justify="between",
        align="center",
        wrap="wrap",
        gap="3",
        width="100%",
        id=name,
    )
