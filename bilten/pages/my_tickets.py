"""`/my-tickets`: the signed-in buyer's orders, each with its tickets' QR codes and a link to its page."""

from __future__ import annotations

import reflex as rx

from bilten import routes
from bilten.components.layout import page_header, page_shell
from bilten.components.ticket_card import ticket_card
from bilten.components.transfer_dialog import transfer_dialog
from bilten.state.auth import AuthState
from bilten.state.i18n import LocaleState
from bilten.state.my_tickets import MyTicketsState


def order_block(order) -> rx.Component:  # noqa: ANN001 - an ObjectVar of MyOrderDisplay
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.vstack(
                    rx.heading(order.event_title, size="5", as_="h2"),
                    rx.text(order.when, size="2"),
                    rx.text(order.place, size="2", color_scheme="gray"),
                    spacing="1",
                ),
                rx.vstack(
                    rx.badge(
                        order.status_label,
                        size="2",
                        color_scheme=rx.match(
                            order.phase, ("paid", "green"), ("pending", "blue"), ("expired", "gray"), "red"
                        ),
                        class_name="order-status",
                    ),
                    rx.text(
                        LocaleState.t["order.title"],
                        " ",
                        rx.el.bdi(order.number),
                        " · ",
                        order.total,
                        size="1",
                        color_scheme="gray",
                    ),
                    align=rx.breakpoints(initial="start", sm="end"),
                    spacing="1",
                ),
                justify="between",
                spacing="3",
                wrap="wrap",
                width="100%",
            ),
            rx.cond(
                order.tickets.length() > 0,
                rx.grid(
                    rx.foreach(
                        order.tickets,
                        lambda ticket: ticket_card(
                            ticket,
                            rx.cond(ticket.valid, transfer_dialog(ticket, MyTicketsState)),
                            qr_size="160px",
                        ),
                    ),
                    columns=rx.breakpoints(initial="1", sm="2", md="3"),
                    spacing="3",
                    width="100%",
                ),
            ),
            rx.link(
                rx.cond(
                    order.phase == "pending",
                    rx.button(LocaleState.t["my_tickets.complete_order"], size="2"),
                    rx.button(LocaleState.t["my_tickets.open_order"], size="2", variant="soft"),
                ),
                href=order.url,
                class_name="order-link",
            ),
            spacing="4",
            width="100%",
        ),
        class_name="my-order",
        custom_attrs={"data-order-id": order.id},
        size="3",
        width="100%",
    )


def my_tickets_page() -> rx.Component:
    return page_shell(
        page_header(LocaleState.t["my_tickets.title"], LocaleState.t["my_tickets.subtitle"]),
        rx.cond(
            MyTicketsState.loaded & AuthState.is_authenticated,
            rx.cond(
                MyTicketsState.has_orders,
                rx.vstack(rx.foreach(MyTicketsState.orders, order_block), spacing="4", width="100%", id="my-orders"),
                rx.callout.root(
                    rx.callout.icon(rx.icon("ticket")),
                    rx.vstack(
                        rx.text(LocaleState.t["my_tickets.empty"]),
                        rx.link(LocaleState.t["my_tickets.browse"], href=routes.HOME),
                        spacing="1",
                    ),
                    id="no-orders",
                ),
            ),
            rx.center(rx.spinner(size="3"), padding="3rem"),
        ),
        page="my-tickets",
        loaded=MyTicketsState.loaded,
    )
