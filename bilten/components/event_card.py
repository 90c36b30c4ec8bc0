"""One event in a listing."""

from __future__ import annotations

import reflex as rx

from bilten.state.i18n import LocaleState


def event_card(card) -> rx.Component:  # noqa: ANN001 - an ObjectVar of bilten.state.home.EventCard
    return rx.card(
        rx.vstack(
            rx.cond(
                card.image_url != "",
                rx.image(
                    src=card.image_url,
                    alt="",  # decorative: the title below says what the event is
                    width="100%",
                    height="9rem",
                    object_fit="cover",
                    border_radius="var(--radius-3)",
                    loading="lazy",
                ),
            ),
            rx.heading(rx.link(card.title, href=card.url, underline="hover"), size="4", as_="h2"),
            rx.hstack(
                rx.icon("calendar", size=16, aria_hidden="true"),
                rx.text(card.when, size="2"),
                align="center",
                spacing="2",
            ),
            rx.hstack(
                rx.icon("map-pin", size=16, aria_hidden="true"),
                rx.text(card.place, size="2"),
                align="center",
                spacing="2",
            ),
            rx.spacer(),
            rx.flex(
                rx.cond(
                    card.price != "",
                    rx.badge(card.price, size="2", variant="soft", color_scheme="green"),
                    rx.box(),
                ),
                rx.link(rx.button(LocaleState.t["event.view"], size="2", variant="outline"), href=card.url),
                justify="between",
                align="center",
                width="100%",
            ),
            spacing="3",
            height="100%",
        ),
        class_name="event-card",
        custom_attrs={"data-event-id": card.id},
        size="3",
    )
