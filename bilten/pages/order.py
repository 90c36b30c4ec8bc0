"""`/orders/[order_id]?token=...`: pay or drop a reservation; once paid, the tickets with their QR codes."""

from __future__ import annotations

import reflex as rx

from bilten.components.countdown import hold_countdown
from bilten.components.download_link import download_link
from bilten.components.focus import focus_when
from bilten.components.layout import page_shell
from bilten.components.notice import error_text, not_found_box
from bilten.components.questions import question_field
from bilten.components.ticket_card import ticket_card
from bilten.components.transfer_dialog import transfer_dialog
from bilten.state.i18n import LocaleState
from bilten.state.order import OrderState

summary = OrderState.summary


def confirm_dialog(
    trigger: rx.Component,
    *,
    title: rx.Var[str],
    description: rx.Var[str],
    confirm_label: rx.Var[str],
    on_confirm,  # noqa: ANN001 - an event
    confirm_id: str,
) -> rx.Component:
    """A destructive action asks first."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(trigger),
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(description),
            rx.flex(
                rx.alert_dialog.cancel(rx.button(LocaleState.t["common.keep"], variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(confirm_label, color_scheme="red", on_click=on_confirm, id=confirm_id)
                ),
                spacing="3",
                justify="end",
                margin_top="1rem",
            ),
            max_width="28rem",
        ),
    )


def back_to_event() -> rx.Component:
    return rx.link(
        rx.button(
            rx.icon("arrow-left", size=16, transform=rx.cond(LocaleState.dir == "rtl", "scaleX(-1)", "none")),
            LocaleState.t["order.back_to_event"],
            variant="soft",
        ),
        href=summary.event_url,
        id="back-to-event",
    )


def detail_row(icon: str, text: rx.Var[str]) -> rx.Component:
    return rx.hstack(rx.icon(icon, size=16, aria_hidden="true"), rx.text(text, size="2"), align="center")


def event_box() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.link(rx.heading(summary.event_title, size="5", as_="h2"), href=summary.event_url, id="order-event"),
            detail_row("calendar", summary.when),
            detail_row("map-pin", summary.place),
            spacing="2",
        ),
        width="100%",
    )


def order_lines() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(LocaleState.t["order.summary"], size="4", as_="h2"),
            rx.foreach(
                OrderState.lines,
                lambda line: rx.flex(rx.text(line.label), rx.text(line.amount), justify="between", width="100%"),
            ),
            rx.cond(
                summary.voucher != "", rx.text(summary.voucher, size="2", color_scheme="green", id="order-voucher")
            ),
            rx.separator(size="4"),
            rx.flex(
                rx.text(LocaleState.t["checkout.total"], weight="bold"),
                rx.text(summary.total, weight="bold", id="order-total"),
                justify="between",
                width="100%",
            ),
            rx.text(LocaleState.t["order.email_to"], " ", rx.el.bdi(summary.email), size="2", color_scheme="gray"),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def hold_box() -> rx.Component:
    return rx.callout.root(
        rx.callout.icon(rx.icon("timer")),
        rx.flex(
            rx.text(LocaleState.t["order.hold_text"]),
            rx.text(
                hold_countdown(deadline=summary.hold_deadline_ms, on_expire=OrderState.refresh, id="hold-countdown"),
                weight="bold",
                size="6",
                font_variant_numeric="tabular-nums",
            ),
            justify="between",
            align="center",
            spacing="3",
            wrap="wrap",
            width="100%",
        ),
        color_scheme="blue",
        width="100%",
        id="hold-box",
    )


def test_mode_panel() -> rx.Component:
    return rx.box(
        rx.vstack(
            rx.hstack(
                rx.icon("flask-conical", size=20, aria_hidden="true"),
                rx.text(LocaleState.t["order.test_mode_title"], weight="bold", size="4"),
                align="center",
            ),
            rx.text(LocaleState.t["order.test_mode_hint"], size="2"),
            rx.flex(
                rx.button(
                    rx.icon("check", size=16),
                    LocaleState.t["order.pay_test"],
                    on_click=OrderState.pay_test(True),
                    color_scheme="green",
                    size="3",
                    id="pay-test",
                ),
                rx.button(
                    rx.icon("x", size=16),
                    LocaleState.t["order.decline_test"],
                    on_click=OrderState.pay_test(False),
                    color_scheme="red",
                    variant="soft",
                    size="3",
                    id="decline-test",
                ),
                spacing="3",
                wrap="wrap",
            ),
            spacing="3",
        ),
        border="2px dashed var(--amber-8)",
        background_color="var(--amber-a3)",
        border_radius="var(--radius-4)",
        padding="1rem",
        width="100%",
        id="test-mode-panel",
        role="region",
        aria_label=LocaleState.t["order.test_mode_title"],
    )


def payment_box() -> rx.Component:
    return rx.match(
        summary.payment,
        ("test", test_mode_panel()),
        (
            "checkout",
            # A plain link: the provider's page is another site (no client-side routing).
            rx.button(
                rx.el.a(
                    rx.icon("credit-card", size=18),
                    LocaleState.t["order.pay"],
                    " ",
                    summary.total,
                    href=summary.checkout_url,
                    id="pay-checkout",
                ),
                as_child=True,
                size="3",
            ),
        ),
        (
            "confirming",
            rx.callout.root(
                rx.callout.icon(rx.spinner(size="2")),
                rx.callout.text(LocaleState.t["order.confirming"]),
                color_scheme="blue",
                id="confirming",
            ),
        ),
        rx.vstack(
            rx.cond(
                summary.payment_declined,
                rx.callout.root(
                    rx.callout.icon(rx.icon("circle-x")),
                    rx.callout.text(LocaleState.t["order.declined"]),
                    color_scheme="red",
                    role="alert",
                    id="payment-declined",
                ),
            ),
            rx.button(
                rx.icon("rotate-ccw", size=16),
                LocaleState.t["order.try_again"],
                on_click=OrderState.retry_payment,
                size="3",
                id="retry-payment",
            ),
            spacing="3",
            width="100%",
        ),
    )


def pending_view() -> rx.Component:
    return rx.vstack(
        hold_box(),
        event_box(),
        order_lines(),
        error_text(OrderState.action_error, id="order-error", width="100%"),
        payment_box(),
        confirm_dialog(
            rx.button(LocaleState.t["order.cancel"], variant="ghost", color_scheme="red", id="cancel-order"),
            title=LocaleState.t["order.cancel_title"],
            description=LocaleState.t["order.cancel_text"],
            confirm_label=LocaleState.t["order.cancel_confirm"],
            on_confirm=OrderState.cancel,
            confirm_id="cancel-order-confirm",
        ),
        spacing="4",
        width="100%",
    )


def holder_form(ticket) -> rx.Component:  # noqa: ANN001
    return rx.form(
        rx.el.input(type="hidden", name="ticket_id", value=ticket.id),
        rx.flex(
            rx.input(
                name="holder_name",
                default_value=ticket.holder_name,
                placeholder=LocaleState.t["order.holder_placeholder"],
                aria_label=LocaleState.t["order.set_holder"],
                max_length=200,
                required=True,
                flex="1",
                min_width="8rem",
                class_name="holder-input",
            ),
            rx.button(LocaleState.t["order.save_holder"], type="submit", variant="soft", class_name="holder-save"),
            spacing="2",
            width="100%",
        ),
        on_submit=OrderState.set_holder,
        reset_on_submit=False,
        width="100%",
        class_name="holder-form",
    )


def paid_ticket(ticket) -> rx.Component:  # noqa: ANN001 - an ObjectVar of TicketDisplay
    return ticket_card(
        ticket,
        rx.cond(
            ticket.valid,
            rx.vstack(
                holder_form(ticket),
                confirm_dialog(
                    rx.button(
                        rx.icon("refresh-cw", size=14),
                        LocaleState.t["order.reissue"],
                        variant="ghost",
                        size="1",
                        class_name="reissue",
                    ),
                    title=LocaleState.t["order.reissue_title"],
                    description=LocaleState.t["order.reissue_text"],
                    confirm_label=LocaleState.t["order.reissue_confirm"],
                    on_confirm=OrderState.reissue(ticket.id),
                    confirm_id="reissue-confirm",
                ),
                transfer_dialog(ticket, OrderState),
                align="center",
                spacing="2",
                width="100%",
            ),
        ),
    )


def tickets_grid() -> rx.Component:
    return rx.grid(
        rx.foreach(OrderState.tickets, paid_ticket),
        columns=rx.breakpoints(initial="1", sm="2", md="3"),
        spacing="4",
        width="100%",
        id="tickets",
    )


def download_button(icon: str, label: rx.Var[str], href: rx.Var[str], link_id: str) -> rx.Component:
    """A REST download styled as a button (a file, not a page: the browser downloads it)."""
    return rx.button(
        download_link(rx.icon(icon, size=16, aria_hidden="true"), label, href=href, id=link_id),
        as_child=True,
        variant="soft",
    )


def invoice_downloads() -> rx.Component:
    """The invoice, and the credit note once the paid order was cancelled or refunded (each where it exists)."""
    return rx.fragment(
        rx.cond(
            summary.invoice_url != "",
            download_button(
                "receipt", LocaleState.t["order.download_invoice"], summary.invoice_url, "download-invoice"
            ),
        ),
        rx.cond(
            summary.credit_note_url != "",
            download_button(
                "receipt-text",
                LocaleState.t["order.download_credit_note"],
                summary.credit_note_url,
                "download-credit-note",
            ),
        ),
    )


def paid_view() -> rx.Component:
    return rx.vstack(
        rx.callout.root(
            rx.callout.icon(rx.icon("party-popper")),
            rx.vstack(
                rx.text(LocaleState.t["order.paid_title"], weight="bold", size="4"),
                rx.text(LocaleState.t["order.paid_text"], " ", rx.el.bdi(summary.email)),
                spacing="1",
            ),
            color_scheme="green",
            width="100%",
            id="order-confirmed",
            custom_attrs={"tabIndex": "-1"},
        ),
        event_box(),
        rx.flex(
            download_button("file-down", LocaleState.t["order.download_pdf"], summary.pdf_url, "download-pdf"),
            download_button("calendar-plus", LocaleState.t["order.add_calendar"], summary.calendar_url, "download-ics"),
            invoice_downloads(),
            rx.button(
                rx.icon("mail", size=16),
                LocaleState.t["order.resend"],
                on_click=OrderState.resend_email,
                variant="soft",
                id="resend-email",
            ),
            spacing="3",
            wrap="wrap",
        ),
        error_text(OrderState.resend_error, id="resend-error", width="100%"),
        rx.heading(LocaleState.t["order.your_tickets"], size="5", as_="h2"),
        rx.text(
            LocaleState.t["order.show_code"], " ", LocaleState.t["ticket.reference_hint"], size="2", color_scheme="gray"
        ),
        tickets_grid(),
        order_lines(),
        spacing="4",
        width="100%",
    )


def ended_view(message: rx.Var[str], color: str) -> rx.Component:
    """Expired, cancelled or refunded: say so, show any tickets as void, lead back to the event."""
    return rx.vstack(
        rx.callout.root(
            rx.callout.icon(rx.icon("ban")),
            rx.callout.text(message),
            color_scheme=color,
            role="status",
            width="100%",
            id="order-ended",
        ),
        event_box(),
        rx.cond(
            summary.invoice_url != "",
            rx.flex(invoice_downloads(), spacing="3", wrap="wrap"),
        ),
        rx.cond(
            OrderState.tickets.length() > 0,
            rx.grid(
                rx.foreach(OrderState.tickets, lambda ticket: ticket_card(ticket)),
                columns=rx.breakpoints(initial="1", sm="2", md="3"),
                spacing="4",
                width="100%",
                id="tickets",
            ),
        ),
        back_to_event(),
        spacing="4",
        width="100%",
    )


def answer_row(answer) -> rx.Component:  # noqa: ANN001 - an ObjectVar of AnswerDisplay
    return rx.table.row(
        rx.table.cell(rx.text(answer.group, size="1", color_scheme="gray")),
        rx.table.row_header_cell(answer.label),
        rx.table.cell(rx.el.bdi(answer.value), class_name="answer-value"),
    )


def answers_box() -> rx.Component:
    """The checkout answers; the buyer changes them here while the organizer allows it."""
    return rx.cond(
        OrderState.answers.length() > 0,
        rx.card(
            rx.vstack(
                rx.flex(
                    rx.heading(LocaleState.t["order.answers.title"], size="4", as_="h2"),
                    rx.cond(
                        OrderState.can_edit_answers & ~OrderState.editing_answers,
                        rx.button(
                            rx.icon("pencil", size=16),
                            LocaleState.t["order.answers.edit"],
                            variant="soft",
                            on_click=OrderState.edit_answers,
                            id="edit-answers",
                        ),
                    ),
                    justify="between",
                    align="center",
                    wrap="wrap",
                    width="100%",
                ),
                rx.cond(
                    OrderState.editing_answers,
                    rx.form(
                        rx.vstack(
                            rx.foreach(OrderState.answer_fields, question_field),
                            error_text(OrderState.answers_error, id="answers-error", width="100%"),
                            rx.flex(
                                rx.button(LocaleState.t["order.answers.save"], type="submit", id="save-answers"),
                                rx.button(
                                    LocaleState.t["order.answers.cancel"],
                                    type="button",
                                    variant="soft",
                                    color_scheme="gray",
                                    on_click=OrderState.stop_editing_answers,
                                ),
                                spacing="3",
                            ),
                            spacing="3",
                            width="100%",
                        ),
                        on_submit=OrderState.save_answers,
                        reset_on_submit=False,
                        id="answers-form",
                        width="100%",
                    ),
                    rx.table.root(
                        rx.table.body(rx.foreach(OrderState.answers, answer_row)),
                        size="1",
                        width="100%",
                        id="order-answers",
                    ),
                ),
                spacing="3",
                width="100%",
            ),
            width="100%",
        ),
    )


def order_body() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.heading(LocaleState.t["order.title"], " ", rx.el.bdi(summary.number), size="7", as_="h1"),
            rx.badge(
                summary.status_label,
                size="3",
                color_scheme=rx.match(
                    summary.phase, ("paid", "green"), ("pending", "blue"), ("expired", "gray"), "red"
                ),
                id="order-status",
                role="status",  # read out when the order turns paid, cancelled or expired
                custom_attrs={"data-phase": summary.phase},
            ),
            justify="between",
            align="center",
            spacing="3",
            wrap="wrap",
            width="100%",
        ),
        # Paying replaces the pay buttons (focus would fall back to the page's top): focus the
        # confirmation; a declined payment focuses "Try again".
        focus_when(summary.phase, to="paid", target_id="order-confirmed"),
        focus_when(summary.payment, to="retry", target_id="retry-payment"),
        rx.match(
            summary.phase,
            ("pending", pending_view()),
            ("paid", paid_view()),
            ("expired", ended_view(LocaleState.t["order.expired_text"], "gray")),
            ("refunded", ended_view(LocaleState.t["order.refunded_text"], "red")),
            ended_view(LocaleState.t["order.cancelled_text"], "red"),
        ),
        answers_box(),
        spacing="5",
        width="100%",
        max_width="52rem",
        margin_x="auto",
    )


def order_page() -> rx.Component:
    return page_shell(
        rx.cond(
            OrderState.loaded,
            rx.cond(OrderState.not_found, not_found_box(), order_body()),
            rx.center(rx.spinner(size="3"), padding="3rem"),
        ),
        page="order",
        loaded=OrderState.loaded,
    )
