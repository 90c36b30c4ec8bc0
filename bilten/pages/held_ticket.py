"""`/held-tickets/[transfer_id]`: a ticket received by transfer, for its new holder's link."""

from __future__ import annotations

import reflex as rx

from bilten.components.layout import page_shell
from bilten.components.notice import not_found_box
from bilten.components.ticket_card import ticket_card
from bilten.components.transfer_dialog import transfer_dialog
from bilten.state.held_ticket import HeldTicketState
from bilten.state.i18n import LocaleState


def held_body() -> rx.Component:
    summary = HeldTicketState.summary
    ticket = HeldTicketState.ticket
    return rx.vstack(
        rx.heading(LocaleState.t["held.title"], size="6", as_="h1"),
        rx.heading(summary.event_title, size="5", as_="h2", id="held-event"),
        rx.text(summary.when),
        rx.text(summary.place),
        rx.cond(
            ticket.valid,
            rx.fragment(),
            rx.callout.root(
                rx.callout.text(LocaleState.t["held.no_longer_valid"]),
                color_scheme="red",
                id="held-not-valid",
            ),
        ),
        rx.box(
            ticket_card(ticket, rx.cond(summary.transferable, transfer_dialog(ticket, HeldTicketState))),
            max_width="24rem",
            width="100%",
            id="held-ticket",
        ),
        spacing="3",
        width="100%",
    )


def held_ticket_page() -> rx.Component:
    return page_shell(
        rx.cond(
            HeldTicketState.loaded,
            rx.cond(HeldTicketState.not_found, not_found_box(), held_body()),
            rx.center(rx.spinner(size="3"), padding="3rem"),
        ),
        page="held_ticket",
        loaded=HeldTicketState.loaded,
    )
