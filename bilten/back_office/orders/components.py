"""The Orders tab: the list, the status filter, the details dialog and the cancel confirmation."""

from __future__ import annotations

import reflex as rx

from bilten.back_office.frame.state import BackOfficeState
from bilten.back_office.orders.state import ALL_STATUSES, ORDER_STATUSES, OfficeOrdersState
from bilten.components.download_link import download_link
from bilten.components.pager import pager
from bilten.components.search_box import filter_select, search_box
from bilten.components.status_badge import status_badge
from bilten.components.tab_panel import tab_panel
from bilten.components.table import WIDE_ONLY, Column, data_table
from bilten.state.i18n import LocaleState


def cancel_button(order, **props) -> rx.Component:  # noqa: ANN001 - an OrderView or OrderDetailView var
    return rx.cond(
        BackOfficeState.can_manage & order.cancellable,
        rx.button(
            rx.cond(order.refund, LocaleState.t["office.cancel_refund"], LocaleState.t["office.cancel"]),
            on_click=OfficeOrdersState.ask_cancel(order.id),
            color_scheme="red",
            variant="soft",
            size="1",
            white_space="nowrap",
            **props,
        ),
    )


def order_row(row) -> rx.Component:  # noqa: ANN001 - an ObjectVar of OrderView
    return rx.table.row(
        rx.table.cell(rx.code(row.short_id, variant="ghost"), white_space="nowrap", display=WIDE_ONLY),
        rx.table.cell(row.created),
        rx.table.row_header_cell(
            rx.vstack(
                rx.text(row.buyer_name, weight="medium"),
                rx.text(row.buyer_email, size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        rx.table.cell(row.tickets, display=WIDE_ONLY),
        rx.table.cell(row.total, white_space="nowrap"),
        rx.table.cell(status_badge(row.status_label, row.status), class_name="order-status"),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    LocaleState.t["office.details"],
                    on_click=OfficeOrdersState.open_detail(row.id),
                    variant="soft",
                    color_scheme="gray",
                    size="1",
                    white_space="nowrap",
                    class_name="order-details",
                ),
                cancel_button(row, class_name="cancel-order"),
                spacing="2",
            ),
        ),
        custom_attrs={"data-order-id": row.id},
    )


def cancel_dialog() -> rx.Component:
    t = LocaleState.t
    state = OfficeOrdersState
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(
                rx.cond(state.confirm_refund, t["office.confirm_refund_title"], t["office.confirm_cancel_title"])
            ),
            rx.alert_dialog.description(state.confirm_text, size="2"),
            rx.flex(
                rx.alert_dialog.cancel(
                    rx.button(t["office.keep_order"], variant="soft", color_scheme="gray", id="keep-order")
                ),
                rx.alert_dialog.action(
                    rx.button(
                        rx.cond(state.confirm_refund, t["office.cancel_refund"], t["office.cancel"]),
                        on_click=state.confirm_cancel,
                        color_scheme="red",
                        id="confirm-cancel",
                    )
                ),
                spacing="3",
                justify="end",
                margin_top="1rem",
            ),
            id="cancel-dialog",
            dir=LocaleState.dir,
        ),
        open=state.confirm_open,
        on_open_change=state.set_confirm_open,
    )


def detail_fact(label: rx.Var[str], value: rx.Var[str], fact_id: str) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(label), rx.data_list.value(rx.text(value, id=fact_id)), align="center")


def detail_ticket_row(ticket) -> rx.Component:  # noqa: ANN001 - an ObjectVar of DetailTicketView
    return rx.table.row(
        rx.table.cell(rx.code(ticket.reference, variant="ghost", class_name="detail-reference")),
        rx.table.cell(ticket.ticket_type),
        rx.table.cell(ticket.holder),
        rx.table.cell(status_badge(ticket.status_label, ticket.status)),
        rx.table.cell(ticket.checked_in),
    )


def detail_payment_row(payment) -> rx.Component:  # noqa: ANN001 - an ObjectVar of DetailPaymentView
    return rx.table.row(
        rx.table.cell(payment.provider),
        rx.table.cell(payment.status),
        rx.table.cell(payment.amount),
        rx.table.cell(payment.refunded),
    )


def history_row(entry) -> rx.Component:  # noqa: ANN001 - an ObjectVar of HistoryView
    return rx.table.row(
        rx.table.cell(entry.when, white_space="nowrap"),
        rx.table.cell(entry.label),
        rx.table.cell(entry.actor),
        custom_attrs={"data-action": entry.action},
    )


def detail_answer_row(answer) -> rx.Component:  # noqa: ANN001 - an ObjectVar of DetailAnswerView
    return rx.table.row(
        rx.table.cell(answer.group),
        rx.table.cell(answer.label),
        rx.table.cell(rx.el.bdi(answer.value)),
    )


def detail_dialog() -> rx.Component:
    state = OfficeOrdersState
    detail = state.detail
    t = LocaleState.t
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(
                rx.hstack(
                    rx.text(t["office.order_details"]),
                    rx.code(detail.short_id, variant="ghost"),
                    status_badge(detail.status_label, detail.status, class_name="detail-status"),
                    align="center",
                    spacing="3",
                    wrap="wrap",
                )
            ),
            rx.dialog.description(detail.buyer_email, size="2", color_scheme="gray"),
            rx.vstack(
                rx.data_list.root(
                    detail_fact(t["office.col_buyer"], detail.buyer_name, "detail-buyer"),
                    detail_fact(t["office.phone"], detail.buyer_phone, "detail-phone"),
                    detail_fact(t["office.col_created"], detail.created, "detail-created"),
                    detail_fact(t["office.paid_at"], detail.paid, "detail-paid"),
                    detail_fact(t["office.col_total"], detail.total, "detail-total"),
                    size="2",
                ),
                rx.heading(t["office.col_tickets"], size="3", as_="h3"),
                data_table(
                    [
                        Column(t["ticket.reference"]),
                        Column(t["office.col_type"]),
                        Column(t["office.col_holder"]),
                        Column(t["office.col_status"]),
                        Column(t["office.col_checked_in"]),
                    ],
                    state.detail_tickets,
                    detail_ticket_row,
                    table_id="detail-tickets",
                    size="1",
                ),
                rx.cond(
                    state.detail_payments.length() > 0,
                    rx.vstack(
                        rx.heading(t["office.payments"], size="3", as_="h3"),
                        data_table(
                            [
                                Column(t["office.payment_provider"]),
                                Column(t["office.col_status"]),
                                Column(t["office.amount"]),
                                Column(t["office.refunded"]),
                            ],
                            state.detail_payments,
                            detail_payment_row,
                            table_id="detail-payments",
                            size="1",
                        ),
                        width="100%",
                    ),
                ),
                rx.cond(
                    state.detail_answers.length() > 0,
                    rx.vstack(
                        rx.heading(t["order.answers.title"], size="3", as_="h3"),
                        data_table(
                            [Column(t["office.col_tickets"]), Column(t["office.what"]), Column(t["scan.answers"])],
                            state.detail_answers,
                            detail_answer_row,
                            table_id="detail-answers",
                            size="1",
                        ),
                        width="100%",
                    ),
                ),
                rx.heading(t["office.history"], size="3", as_="h3"),
                data_table(
                    [Column(t["office.when"]), Column(t["office.what"]), Column(t["office.who"])],
                    state.detail_history,
                    history_row,
                    table_id="detail-history",
                    size="1",
                ),
                spacing="3",
                width="100%",
                margin_top="1rem",
            ),
            rx.flex(
                _document_download(detail.invoice_url, detail.invoice_label, "detail-invoice"),
                _document_download(detail.credit_note_url, detail.credit_note_label, "detail-credit-note"),
                rx.cond(
                    BackOfficeState.can_manage & detail.resendable,
                    rx.button(
                        rx.icon("send", size=16),
                        t["office.resend_tickets"],
                        on_click=state.resend(detail.id),
                        variant="soft",
                        id="resend-tickets",
                    ),
                ),
                cancel_button(detail, id="detail-cancel"),
                rx.dialog.close(rx.button(t["office.close"], variant="soft", color_scheme="gray", id="detail-close")),
                spacing="3",
                justify="end",
                wrap="wrap",
                margin_top="1rem",
            ),
            id="order-detail",
            dir=LocaleState.dir,
            max_width="48rem",
        ),
        open=state.detail_open,
        on_open_change=state.set_detail_open,
    )


def orders_section() -> rx.Component:
    state = OfficeOrdersState
    t = LocaleState.t
    status_filter = filter_select(
        items=[(ALL_STATUSES, t["office.all_statuses"])]
        + [(status, t[f"office.order_status.{status}"]) for status in ORDER_STATUSES],
        value=state.status_filter,
        on_change=state.set_status_filter,
        label=t["office.status_filter"],
        select_id="order-status-filter",
    )
    return tab_panel(
        state.loaded,
        search_box(
            on_submit=state.run_search,
            value=state.search,
            input_id="order-search",
            placeholder=t["office.order_search_placeholder"],
            label=t["office.order_search_label"],
            extras=(status_filter,),
        ),
        data_table(
            [
                Column(t["office.col_order"], wide_only=True),
                Column(t["office.col_created"]),
                Column(t["office.col_buyer"]),
                Column(t["office.col_tickets"], wide_only=True),
                Column(t["office.col_total"]),
                Column(t["office.col_status"]),
                Column.actions(),
            ],
            state.orders,
            order_row,
            table_id="orders-table",
            empty_text=t["office.no_orders"],
            empty_id="no-orders",
            below=(pager(state, "orders-pager"),),
        ),
        cancel_dialog(),
        detail_dialog(),
        name="orders",
    )


def _document_download(url: rx.Var, label: rx.Var, element_id: str) -> rx.Component:
    """A PDF of the order (invoice, credit note), shown only when there is one."""
    return rx.cond(
        url != "",
        rx.button(
            download_link(rx.icon("receipt", size=16, aria_hidden="true"), label, href=url, id=element_id),
            as_child=True,
            variant="soft",
        ),
    )
