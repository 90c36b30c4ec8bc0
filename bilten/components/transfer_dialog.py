"""The "Transfer" button under a ticket and its dialog (order page, My tickets, the holder's page).

`state` is the page's state class; it mixes in state/transfer.py's TicketTransferState, which gives
it `transfer_open_id`, `transfer_error` and the events `open_transfer(ticket_id)`,
`transfer_dialog_changed(open)` and `transfer(form_data)`."""

from __future__ import annotations

import reflex as rx

from bilten.components.notice import error_text
from bilten.state.i18n import LocaleState


def transfer_dialog(ticket, state) -> rx.Component:  # noqa: ANN001 - a TicketDisplay ObjectVar, a state class
    """ "Transfer" under a valid ticket: a dialog asking the new holder's email and name, saying what
    follows, with its own confirm button (services/ticket_transfer.py)."""
    t = LocaleState.t
    return rx.dialog.root(
        rx.button(
            rx.icon("send", size=14),
            t["transfer.button"],
            variant="ghost",
            size="1",
            class_name="transfer",
            on_click=state.open_transfer(ticket.id),
        ),
        rx.dialog.content(
            rx.dialog.title(t["transfer.title"]),
            rx.dialog.description(t["transfer.explain"], size="2"),
            rx.form(
                rx.el.input(type="hidden", name="ticket_id", value=ticket.id),
                rx.vstack(
                    rx.el.label(t["transfer.email"], html_for="transfer-email"),
                    rx.input(
                        id="transfer-email",
                        name="email",
                        type="email",
                        required=True,
                        max_length=254,
                        auto_complete="off",
                        width="100%",
                    ),
                    rx.el.label(t["transfer.name"], html_for="transfer-name"),
                    rx.input(id="transfer-name", name="name", required=True, max_length=200, width="100%"),
                    error_text(state.transfer_error, id="transfer-error"),
                    rx.flex(
                        rx.dialog.close(
                            rx.button(t["transfer.cancel"], type="button", variant="soft", color_scheme="gray")
                        ),
                        rx.button(t["transfer.confirm"], type="submit", id="transfer-confirm"),
                        spacing="3",
                        justify="end",
                        width="100%",
                    ),
                    spacing="2",
                    width="100%",
                    margin_top="1em",
                ),
                on_submit=state.transfer,
                reset_on_submit=False,
            ),
            id="transfer-dialog",
        ),
        open=state.transfer_open_id == ticket.id,
        on_open_change=state.transfer_dialog_changed,
    )
