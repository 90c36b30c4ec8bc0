"""One ticket: its QR code while it gets in, a clear "void" once it no longer does."""

from __future__ import annotations

import reflex as rx

from bilten.state.i18n import LocaleState


def ticket_card(ticket, *extra: rx.Component, qr_size: str = "200px") -> rx.Component:  # noqa: ANN001
    """`ticket` is an ObjectVar of bilten.state.order.TicketDisplay; `extra` goes below (forms, buttons)."""
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.text(ticket.heading, size="1", color_scheme="gray"),
                rx.badge(
                    ticket.status_label,
                    color_scheme=rx.cond(ticket.valid, "green", "red"),
                    variant="soft",
                    class_name="ticket-status",
                ),
                justify="between",
                align="center",
                width="100%",
            ),
            rx.text(ticket.ticket_type, weight="bold", size="4", class_name="ticket-type-name"),
            rx.cond(
                ticket.valid,
                rx.image(
                    src=ticket.qr,
                    alt=LocaleState.t["order.qr_alt"] + " · " + ticket.heading,
                    width=qr_size,
                    height=qr_size,
                    class_name="ticket-qr",
                    style={"image_rendering": "pixelated"},
                ),
                rx.center(
                    rx.text(LocaleState.t["ticket.void"], weight="bold", size="6", color_scheme="red"),
                    width=qr_size,
                    height=qr_size,
                    border="2px dashed var(--red-7)",
                    border_radius="var(--radius-3)",
                    class_name="ticket-void",
                ),
            ),
            rx.cond(
                ticket.valid,
                rx.hstack(
                    rx.text(LocaleState.t["ticket.reference"], size="2", color_scheme="gray"),
                    # Letters and digits read left to right in every language; spaced out for reading aloud.
                    rx.el.bdi(
                        ticket.reference,
                        dir="ltr",
                        class_name="ticket-reference",
                        style={
                            "font_family": "var(--code-font-family)",
                            "font_weight": "bold",
                            "letter_spacing": "0.08em",
                        },
                    ),
                    spacing="2",
                    align="baseline",
                ),
            ),
            rx.hstack(
                rx.text(LocaleState.t["order.holder"], size="2", color_scheme="gray"),
                rx.text(
                    rx.cond(ticket.holder_name != "", ticket.holder_name, "—"),
                    size="2",
                    weight="medium",
                    class_name="ticket-holder",
                ),
                spacing="2",
            ),
            *extra,
            align="center",
            spacing="2",
            width="100%",
        ),
        class_name="ticket",
        custom_attrs={"data-ticket-id": ticket.id, "data-valid": rx.cond(ticket.valid, "true", "false")},
        size="2",
    )
