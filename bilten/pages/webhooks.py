"""`/organizer/organizations/[organization_id]/webhooks`: an organization's outgoing webhook
endpoints, each with its recent deliveries and a "Send again" button (owners only)."""

from __future__ import annotations

import reflex as rx

from bilten.components.forms import field
from bilten.components.layout import page_header, page_shell
from bilten.components.notice import error_text, forbidden_box, not_found_box
from bilten.state.auth import AuthState
from bilten.state.i18n import LocaleState
from bilten.state.webhooks import WebhooksState


def event_checkbox(choice) -> rx.Component:  # noqa: ANN001 - an ObjectVar of EventTypeChoice
    # Radix's checkbox is a <button>: the label names it through `for`, wrapping alone does not.
    checkbox_id = "webhook-event-" + choice.name.to(str)
    return rx.el.label(
        rx.hstack(
            rx.checkbox(
                checked=choice.selected,
                on_change=lambda checked: WebhooksState.toggle_new_event(choice.name, checked),
                custom_attrs={"data-event-type": choice.name},
                class_name="webhook-event",
                id=checkbox_id,
            ),
            rx.code(choice.name, size="2"),
            align="center",
            spacing="2",
        ),
        html_for=checkbox_id,
    )


def new_endpoint_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            error_text(WebhooksState.form_error, id="webhook-error", width="100%"),
            field(
                LocaleState.t["webhooks.url"],
                "url",
                type_="url",
                required=True,
                auto_complete="off",
                id="field-webhook-url",
                dir="ltr",
                placeholder="https://",
            ),
            rx.text(LocaleState.t["webhooks.events"], size="2", weight="medium"),
            rx.flex(rx.foreach(WebhooksState.event_choices, event_checkbox), spacing="4", wrap="wrap"),
            rx.button(rx.icon("plus", size=16), LocaleState.t["webhooks.add"], type="submit", id="webhook-add"),
            spacing="3",
            width="100%",
        ),
        on_submit=WebhooksState.create,
        reset_on_submit=True,
        width="100%",
    )


def secret_notice() -> rx.Component:
    return rx.cond(
        WebhooksState.new_secret != "",
        rx.callout.root(
            rx.callout.text(LocaleState.t["webhooks.secret"] + ": "),
            rx.code(WebhooksState.new_secret, id="webhook-secret", dir="ltr"),
            color_scheme="amber",
            width="100%",
        ),
    )


def delivery_row(delivery, endpoint_id) -> rx.Component:  # noqa: ANN001 - ObjectVar of DeliveryView, str Var
    return rx.cond(
        delivery.endpoint_id == endpoint_id,
        rx.table.row(
            rx.table.cell(rx.code(delivery.event_type)),
            rx.table.cell(
                rx.badge(delivery.status_label, variant="soft", custom_attrs={"data-status": delivery.status})
            ),
            rx.table.cell(delivery.attempts),
            rx.table.cell(delivery.when),
            rx.table.cell(rx.text(delivery.result, size="1", dir="ltr")),
            rx.table.cell(
                rx.cond(
                    delivery.can_send_again,
                    rx.button(
                        rx.icon("refresh-cw", size=14),
                        LocaleState.t["webhooks.send_again"],
                        size="1",
                        variant="soft",
                        on_click=WebhooksState.send_again(delivery.endpoint_id, delivery.id),
                        class_name="send-again",
                        custom_attrs={"data-delivery-id": delivery.id},
                    ),
                )
            ),
            custom_attrs={"data-delivery-id": delivery.id},
            class_name="webhook-delivery",
        ),
    )


def endpoint_card(endpoint) -> rx.Component:  # noqa: ANN001 - an ObjectVar of EndpointView
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.code(endpoint.url, dir="ltr", size="3"),
                rx.cond(
                    endpoint.active,
                    rx.badge(LocaleState.t["webhooks.active"], color_scheme="green"),
                    rx.badge(LocaleState.t["webhooks.disabled"], color_scheme="red"),
                ),
                rx.text(endpoint.failures, size="1", color_scheme="red"),
                align="center",
                spacing="3",
                wrap="wrap",
            ),
            rx.text(LocaleState.t["webhooks.events"] + ": " + endpoint.events, size="2", color_scheme="gray"),
            rx.hstack(
                rx.cond(
                    endpoint.active,
                    rx.button(
                        LocaleState.t["webhooks.disable"],
                        size="1",
                        variant="soft",
                        on_click=WebhooksState.set_active(endpoint.id, False),
                    ),
                    rx.button(
                        LocaleState.t["webhooks.enable"],
                        size="1",
                        variant="soft",
                        color_scheme="green",
                        on_click=WebhooksState.set_active(endpoint.id, True),
                    ),
                ),
                rx.button(
                    rx.icon("key-round", size=14),
                    LocaleState.t["webhooks.rotate"],
                    size="1",
                    variant="soft",
                    on_click=WebhooksState.rotate(endpoint.id),
                ),
                rx.button(
                    rx.icon("trash-2", size=14),
                    LocaleState.t["webhooks.delete"],
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=WebhooksState.delete(endpoint.id),
                ),
                spacing="2",
                wrap="wrap",
            ),
            rx.heading(LocaleState.t["webhooks.deliveries"], size="3", as_="h3"),
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell(LocaleState.t["webhooks.col_event"]),
                        rx.table.column_header_cell(LocaleState.t["webhooks.col_status"]),
                        rx.table.column_header_cell(LocaleState.t["webhooks.col_attempts"]),
                        rx.table.column_header_cell(LocaleState.t["webhooks.col_when"]),
                        rx.table.column_header_cell(LocaleState.t["webhooks.col_result"]),
                        rx.table.column_header_cell(
                            rx.el.span(LocaleState.t["webhooks.send_again"], class_name="rt-sr-only")
                        ),
                    )
                ),
                rx.table.body(rx.foreach(WebhooksState.deliveries, lambda d: delivery_row(d, endpoint.id))),
                width="100%",
                variant="surface",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        custom_attrs={"data-endpoint-id": endpoint.id},
        class_name="webhook-endpoint",
    )


def webhooks_view() -> rx.Component:
    return rx.vstack(
        page_header(WebhooksState.organization_name, LocaleState.t["webhooks.subtitle"]),
        rx.heading(LocaleState.t["webhooks.add"], size="5", as_="h2"),
        new_endpoint_form(),
        secret_notice(),
        rx.heading(LocaleState.t["webhooks.title"], size="5", as_="h2", margin_top="1rem"),
        rx.cond(
            WebhooksState.has_endpoints,
            rx.vstack(rx.foreach(WebhooksState.endpoints, endpoint_card), spacing="4", width="100%"),
            rx.text(LocaleState.t["webhooks.none"], color_scheme="gray"),
        ),
        spacing="4",
        width="100%",
    )


def webhooks_page() -> rx.Component:
    return page_shell(
        rx.cond(
            WebhooksState.loaded,
            rx.cond(
                AuthState.denied,
                forbidden_box(),
                rx.cond(WebhooksState.not_found, not_found_box(), rx.cond(WebhooksState.ready, webhooks_view())),
            ),
            rx.center(rx.spinner(size="3"), padding="3rem"),
        ),
        page="webhooks",
        loaded=WebhooksState.loaded,
    )
