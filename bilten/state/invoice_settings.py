"""The organization's legal details for invoices, on its team page (services/invoices.py)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import reflex as rx
from babel.dates import format_date

from bilten import routes
from bilten.i18n import translate
from bilten.ids import parse_id
from bilten.services import invoices
from bilten.services.access import Permission
from bilten.services.errors import NotFound
from bilten.state.base import service_call
from bilten.state.i18n import LocalizedState


@dataclasses.dataclass(frozen=True)
class InvoiceSettingsView:
    legal_name: str = ""
    address: str = ""
    vat_id: str = ""
    prices_include_tax: bool = True
    number_prefix: str = "INV"


@dataclasses.dataclass(frozen=True)
class ExportLinkView:
    label: str
    url: str
    link_id: str


def month_links(organization_id: str, today: date, locale: str) -> list[ExportLinkView]:
    """This month's and last month's export (UTC days, first to last)."""
    links = []
    first = today.replace(day=1)
    for n, start in enumerate((first, (first - timedelta(days=1)).replace(day=1))):
        end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        month = format_date(start, format="LLLL y", locale=locale.replace("-", "_"))
        links.append(
            ExportLinkView(
                label=translate("invoice_settings.export_month", locale, month=month),
                url=routes.invoice_export_url(organization_id, start, end),
                link_id=f"invoice-export-{n}",
            )
        )
    return links


class InvoiceSettingsState(LocalizedState, rx.State):
    """Reads the route's `organization_id` like TeamState; owners and managers may save."""

    loaded: bool = False
    form: InvoiceSettingsView = InvoiceSettingsView()
    error: str = ""
    form_key: int = 0  # a new key re-renders the form with the saved values
    exports: list[ExportLinkView] = []
    _organization_id: str = ""

    @rx.event
    async def load(self):
        self.loaded, self.error, self._organization_id = False, "", ""
        async with service_call(self) as call:
            organization_id = parse_id(self.organization_id)  # the dynamic route argument
            if organization_id is None:
                raise NotFound()
            access = await call.guard(Permission.ORGANIZATION_MANAGE, organization_id=organization_id)
            if access.user is None:
                return None
            saved = invoices.read_invoice_settings(call.session, actor=access.user, organization_id=organization_id)
        if call.failed:
            return None  # the team page says what is wrong
        self._show(saved)
        self._organization_id = str(organization_id)
        self.exports = month_links(str(organization_id), call.now.date(), call.locale)
        self.loaded = True
        return None

    def _show(self, saved: invoices.InvoiceSettingsView) -> None:
        self.form = InvoiceSettingsView(
            legal_name=saved.legal_name,
            address=saved.address,
            vat_id=saved.vat_id,
            prices_include_tax=saved.prices_include_tax,
            number_prefix=saved.number_prefix,
        )
        self.form_key += 1

    @rx.event
    async def save(self, form_data: dict[str, str]):
        self.error = ""
        organization_id = parse_id(self._organization_id)
        if organization_id is None:
            return None
        async with service_call(self) as call:
            saved = invoices.update_invoice_settings(
                call.session,
                actor=call.user,
                organization_id=organization_id,
                legal_name=(form_data.get("legal_name") or "")[:1000],
                address=(form_data.get("address") or "")[:2000],
                vat_id=(form_data.get("vat_id") or "")[:200],
                prices_include_tax=form_data.get("prices") != "net",
                number_prefix=(form_data.get("number_prefix") or "")[:100],
                now=call.now,
            )
        if call.failed:
            self.error = call.error
            return None
        self._show(saved)
        return rx.toast.success(call.text("invoice_settings.saved"))
