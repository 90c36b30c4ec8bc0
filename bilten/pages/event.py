"""`/events/[event_id]`: one event, its ticket types with live "N left", and the checkout form."""

from __future__ import annotations

import reflex as rx

from bilten import routes
from bilten.components.forms import field
from bilten.components.layout import page_shell
from bilten.components.live_inventory import live_add_guard, live_seats_left
from bilten.components.markdown import markdown_view
from bilten.components.notice import error_text, not_found_box
from bilten.components.questions import question_field
from bilten.pages.waiting_list import join_form
from bilten.state.auth import AuthState
from bilten.state.event import EventState
from bilten.state.i18n import LocaleState, plural_forms
from bilten.state.waiting_list import WaitingListJoinState


def detail_line(icon: str, label: rx.Var[str], *values: rx.Component) -> rx.Component:
    return rx.hstack(
        rx.icon(icon, size=18, aria_hidden="true"),
        rx.vstack(rx.text(label, size="1", color_scheme="gray", weight="medium"), *values, spacing="0"),
        align="start",
        spacing="3",
    )


def quantity_picker(ticket) -> rx.Component:  # noqa: ANN001 - an ObjectVar of TicketTypeView
    return rx.hstack(
        rx.icon_button(
            rx.icon("minus", size=16),
            on_click=EventState.remove_ticket(ticket.id),
            disabled=~ticket.can_remove,
            variant="soft",
            size="2",
            type="button",
            aria_label=LocaleState.t["checkout.remove_one"] + " · " + ticket.name,
            class_name="qty-minus",
        ),
        rx.text(
            ticket.quantity,
            weight="bold",
            size="4",
            min_width="2.5ch",
            text_align="center",
            class_name="qty-value",
            aria_live="polite",
        ),
        live_add_guard(  # follows the live count in the browser, like the badge
            rx.icon_button(
                rx.icon("plus", size=16),
                on_click=EventState.add_ticket(ticket.id),
                disabled=~ticket.can_add,
                variant="soft",
                size="2",
                type="button",
                aria_label=LocaleState.t["checkout.add_one"] + " · " + ticket.name,
                class_name="qty-plus",
            ),
            event_id=EventState.event_id,
            type_id=ticket.id,
            initial=ticket.left,
            quantity=ticket.quantity,
            min_per_order=ticket.min_per_order,
        ),
        align="center",
        spacing="2",
        role="group",
        aria_label=LocaleState.t["checkout.quantity"] + " · " + ticket.name,
    )


def ticket_row(ticket) -> rx.Component:  # noqa: ANN001 - an ObjectVar of TicketTypeView
    return rx.card(
        rx.flex(
            rx.vstack(
                rx.text(ticket.name, weight="bold", size="3"),
                rx.cond(ticket.description != "", rx.text(ticket.description, size="2", color_scheme="gray")),
                rx.hstack(
                    rx.cond(
                        ticket.full_price != "",
                        rx.text(
                            ticket.full_price,
                            as_="s",
                            size="2",
                            color_scheme="gray",
                            class_name="ticket-full-price",
                        ),
                    ),
                    rx.text(ticket.price, weight="bold", size="3", class_name="ticket-price"),
                    rx.cond(
                        ticket.tax_note != "",
                        rx.text(ticket.tax_note, size="1", color_scheme="gray", class_name="ticket-tax-note"),
                    ),
                    live_seats_left(  # follows the sales over /live, not through EventState
                        event_id=EventState.event_id,
                        type_id=ticket.id,
                        initial=ticket.left,
                        left_text=plural_forms("event.left"),
                        lang=LocaleState.lang,
                        sold_out_text=LocaleState.t["event.sold_out"],
                        class_name="tickets-left",
                    ),
                    align="center",
                    spacing="3",
                    wrap="wrap",
                ),
                spacing="1",
            ),
            rx.cond(
                ticket.on_sale,
                rx.vstack(
                    quantity_picker(ticket),
                    rx.text(ticket.limits, size="1", color_scheme="gray"),
                    align="center",
                    spacing="1",
                ),
                rx.text(ticket.sale_note, size="2", color_scheme="gray", weight="medium", class_name="sale-note"),
            ),
            justify="between",
            align="center",
            spacing="3",
            wrap="wrap",
        ),
        class_name="ticket-type",
        custom_attrs={"data-ticket-type-id": ticket.id},
        width="100%",
    )


def billing_details() -> rx.Component:
    """Optional company details for the invoice, folded away (a native <details>: no state)."""
    t = LocaleState.t
    return rx.el.details(
        rx.el.summary(rx.text(t["checkout.billing_toggle"], as_="span", size="2"), id="billing-toggle"),
        rx.grid(
            field(
                t["checkout.billing_company"],
                "billing_company",
                max_length=200,
                auto_complete="organization",
                id="billing-company",
            ),
            field(
                t["checkout.billing_address"],
                "billing_address",
                max_length=500,
                auto_complete="street-address",
                id="billing-address",
            ),
            field(t["checkout.billing_vat_id"], "billing_vat_id", max_length=40, dir="ltr", id="billing-vat-id"),
            columns=rx.breakpoints(initial="1", sm="3"),
            spacing="3",
            width="100%",
            margin_top="0.5rem",
        ),
        width="100%",
    )


def voucher_form() -> rx.Component:
    """The voucher field: a code lowers prices or shows hidden ticket types (a link may fill it)."""
    t = LocaleState.t
    return rx.card(
        rx.form(
            rx.vstack(
                rx.text(t["voucher.title"], weight="bold", size="3"),
                rx.flex(
                    rx.input(
                        name="voucher",
                        value=EventState.voucher_code,
                        on_change=EventState.set_voucher_code,
                        placeholder=t["voucher.placeholder"],
                        aria_label=t["voucher.title"],
                        max_length=64,
                        auto_complete="off",
                        dir="ltr",
                        id="voucher-code",
                        flex="1",
                        min_width="12rem",
                    ),
                    rx.button(
                        t["voucher.apply"],
                        type="submit",
                        variant="soft",
                        loading=EventState.applying_voucher,
                        id="voucher-apply",
                    ),
                    rx.cond(
                        EventState.voucher_applied != "",
                        rx.button(
                            t["voucher.remove"],
                            type="button",
                            variant="ghost",
                            on_click=EventState.remove_voucher,
                            id="voucher-remove",
                        ),
                    ),
                    spacing="2",
                    align="center",
                    wrap="wrap",
                    width="100%",
                ),
                error_text(EventState.voucher_error, id="voucher-error", width="100%"),
                rx.cond(
                    EventState.voucher_note != "",
                    rx.text(EventState.voucher_note, size="2", color_scheme="green", id="voucher-applied"),
                ),
                spacing="2",
                width="100%",
            ),
            on_submit=EventState.apply_voucher,
            reset_on_submit=False,
            id="voucher-form",
        ),
        size="2",
        width="100%",
    )


def checkout_questions() -> rx.Component:
    return rx.cond(
        EventState.question_fields.length() > 0,
        rx.vstack(
            rx.heading(LocaleState.t["checkout.questions.title"], size="4", as_="h3"),
            rx.foreach(EventState.question_fields, question_field),
            spacing="3",
            width="100%",
            id="checkout-questions",
        ),
    )


def checkout_form() -> rx.Component:
    """Who buys (prefilled for signed-in buyers), the total and the Reserve button."""
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading(LocaleState.t["checkout.title"], size="5", as_="h2"),
                rx.text(
                    rx.cond(
                        AuthState.is_authenticated,
                        LocaleState.t["checkout.details_hint_member"],
                        LocaleState.t["checkout.details_hint_guest"],
                    ),
                    size="2",
                    color_scheme="gray",
                ),
                rx.grid(
                    field(
                        LocaleState.t["checkout.email"],
                        "email",
                        type_="email",
                        default_value=EventState.buyer_email,
                        auto_complete="email",
                        required=True,
                        max_length=254,
                        dir="ltr",
                        id="buyer-email",
                    ),
                    field(
                        rx.cond(
                            AuthState.is_authenticated,
                            LocaleState.t["checkout.phone_optional"],
                            LocaleState.t["checkout.phone"],
                        ),
                        "phone",
                        type_="tel",
                        auto_complete="tel",
                        required=~AuthState.is_authenticated,
                        max_length=30,
                        dir="ltr",
                        id="buyer-phone",
                    ),
                    field(
                        LocaleState.t["checkout.name"],
                        "name",
                        default_value=EventState.buyer_name,
                        auto_complete="name",
                        max_length=200,
                        id="buyer-name",
                    ),
                    columns=rx.breakpoints(initial="1", sm="3"),
                    spacing="3",
                    width="100%",
                ),
                checkout_questions(),
                billing_details(),
                error_text(EventState.checkout_error, id="checkout-error", width="100%"),
                rx.flex(
                    rx.vstack(
                        rx.text(LocaleState.t["checkout.total"], size="2", color_scheme="gray"),
                        rx.text(
                            rx.cond(EventState.total != "", EventState.total, "—"),
                            size="6",
                            weight="bold",
                            id="checkout-total",
                        ),
                        spacing="0",
                    ),
                    rx.button(
                        rx.icon("ticket", size=18),
                        LocaleState.t["checkout.reserve"],
                        type="submit",
                        size="3",
                        loading=EventState.reserving,
                        disabled=EventState.ticket_count == 0,
                        id="reserve",
                    ),
                    justify="between",
                    align="center",
                    spacing="3",
                    wrap="wrap",
                    width="100%",
                ),
                rx.text(EventState.hold_note, size="1", color_scheme="gray"),
                rx.cond(
                    EventState.test_payments,
                    rx.callout.root(
                        rx.callout.icon(rx.icon("flask-conical")),
                        rx.callout.text(LocaleState.t["checkout.test_mode_note"], weight="bold"),
                        color_scheme="amber",
                        variant="outline",
                        width="100%",
                        id="checkout-test-mode",
                    ),
                ),
                spacing="4",
                width="100%",
            ),
            on_submit=EventState.reserve,
            reset_on_submit=False,
            id="checkout-form",
        ),
        size="3",
        width="100%",
    )


def event_details() -> rx.Component:
    event = EventState.event
    return rx.vstack(
        rx.link(
            rx.hstack(
                rx.icon("arrow-left", size=16, transform=rx.cond(LocaleState.dir == "rtl", "scaleX(-1)", "none")),
                rx.text(LocaleState.t["common.back_home"]),
                align="center",
            ),
            href=routes.HOME,
            size="2",
        ),
        rx.cond(
            event.image_url != "",
            rx.image(
                src=event.image_url,
                alt="",  # decorative: the title says what the event is
                width="100%",
                max_height="22rem",
                object_fit="cover",
                border_radius="var(--radius-4)",
                id="event-image",
            ),
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
                markdown_view(EventState.description_html, id="event-description"),  # safe HTML
                spacing="2",
            ),
        ),
        rx.cond(
            event.venue_notes != "",
            rx.vstack(
                rx.heading(LocaleState.t["event.venue_notes"], size="5", as_="h2"),
                rx.text(event.venue_notes, white_space="pre-line", id="event-venue-notes"),
                spacing="2",
            ),
        ),
        rx.heading(LocaleState.t["event.tickets"], size="5", as_="h2", margin_top="1rem"),
        rx.cond(
            EventState.ticket_types.length() > 0,
            rx.vstack(rx.foreach(EventState.ticket_types, ticket_row), spacing="3", width="100%", id="ticket-types"),
            rx.text(LocaleState.t["event.no_tickets"], color_scheme="gray"),
        ),
        rx.cond(EventState.sellable, voucher_form()),
        rx.cond(EventState.can_buy, checkout_form()),
        rx.cond(WaitingListJoinState.can_join, join_form()),
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
