"""The legal details form on an organization's team page: what its invoices say about the seller."""

from __future__ import annotations

import reflex as rx

from bilten.components.download_link import download_link
from bilten.components.forms import field, text_area_field
from bilten.components.notice import error_text
from bilten.state.i18n import LocaleState
from bilten.state.invoice_settings import InvoiceSettingsState


def legal_details_form() -> rx.Component:
    t = LocaleState.t
    form = InvoiceSettingsState.form
    return rx.cond(
        InvoiceSettingsState.loaded,
        rx.vstack(
            rx.heading(t["invoice_settings.title"], size="5", as_="h2", margin_top="1rem"),
            rx.text(t["invoice_settings.intro"], size="2", color_scheme="gray"),
            rx.form(
                rx.vstack(
                    error_text(InvoiceSettingsState.error, id="invoice-settings-error", width="100%"),
                    field(
                        t["invoice_settings.legal_name"],
                        "legal_name",
                        default_value=form.legal_name,
                        max_length=200,
                        id="field-legal-name",
                    ),
                    text_area_field(
                        t["invoice_settings.address"],
                        "address",
                        rows="3",
                        default_value=form.address,
                        max_length=500,
                        id="field-legal-address",
                    ),
                    rx.grid(
                        field(
                            t["invoice_settings.vat_id"],
                            "vat_id",
                            default_value=form.vat_id,
                            max_length=40,
                            dir="ltr",
                            id="field-vat-id",
                        ),
                        field(
                            t["invoice_settings.prefix"],
                            "number_prefix",
                            default_value=form.number_prefix,
                            max_length=12,
                            dir="ltr",
                            id="field-invoice-prefix",
                            hint=t["invoice_settings.prefix_hint"],
                        ),
                        columns=rx.breakpoints(initial="1", sm="2"),
                        spacing="3",
                        width="100%",
                    ),
                    rx.el.fieldset(
                        rx.el.legend(rx.text(t["invoice_settings.prices"], size="2", weight="medium")),
                        rx.radio_group.root(
                            rx.radio_group.item(t["invoice_settings.prices_gross"], value="gross"),
                            rx.radio_group.item(t["invoice_settings.prices_net"], value="net"),
                            name="prices",
                            default_value=rx.cond(form.prices_include_tax, "gross", "net"),
                            id="field-prices",
                        ),
                        style={"border": "none", "padding": "0", "margin": "0"},
                    ),
                    rx.button(t["invoice_settings.save"], type="submit", size="3", id="invoice-settings-save"),
                    spacing="3",
                    width="100%",
                ),
                on_submit=InvoiceSettingsState.save,
                reset_on_submit=False,
                key=InvoiceSettingsState.form_key,
                id="invoice-settings-form",
                width="100%",
            ),
            rx.heading(t["invoice_settings.export"], size="4", as_="h3", margin_top="0.5rem"),
            rx.text(t["invoice_settings.export_hint"], size="2", color_scheme="gray"),
            rx.flex(
                rx.foreach(
                    InvoiceSettingsState.exports,
                    lambda link: rx.button(
                        download_link(
                            rx.icon("download", size=16, aria_hidden="true"), link.label, href=link.url, id=link.link_id
                        ),
                        as_child=True,
                        variant="soft",
                    ),
                ),
                spacing="3",
                wrap="wrap",
            ),
            spacing="3",
            width="100%",
        ),
    )
