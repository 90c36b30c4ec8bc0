"""The Vouchers tab: the event's codes with their uses, new codes (one, or many random ones), the
CSV of codes, and which orders used which code.

Viewers see the lists; owners, managers and admins create and delete codes and download the CSV
(the services refuse the actions to viewers anyway)."""

from __future__ import annotations

import dataclasses

import reflex as rx

from bilten.back_office.frame.state import BackOfficeState, office_section, route_event_id, short_id
from bilten.back_office.staff import labelled_field
from bilten.components.download_link import download_link
from bilten.components.status_badge import status_badge
from bilten.components.tab_panel import tab_panel
from bilten.components.table import Column, data_table
from bilten.i18n import format_datetime, format_money, translate
from bilten.ids import parse_id
from bilten.models import VoucherKind
from bilten.services import event_admin, vouchers
from bilten.services.errors import ValidationFailed
from bilten.services.vouchers import VoucherFields, VoucherOrderView, VoucherView
from bilten.state.auth import private_state
from bilten.state.base import service_call
from bilten.state.i18n import LocaleState, LocalizedState

KINDS = tuple(kind.value for kind in VoucherKind)


@dataclasses.dataclass(frozen=True)
class VoucherRowView:
    id: str
    code: str
    benefit: str  # "20 % off", "€5.00 off", "€10.00 each", "Unlocks hidden tickets"
    uses: str  # "3 / 10"
    window: str
    can_delete: bool


@dataclasses.dataclass(frozen=True)
class VoucherOrderRowView:
    order_id: str
    short_id: str
    code: str
    email: str
    status: str
    status_label: str
    total: str
    discount: str
    created: str


def benefit_text(row: VoucherView, locale: str) -> str:
    if row.kind == VoucherKind.PERCENT:
        text = translate("vouchers.benefit_percent", locale, percent=row.value)
    elif row.kind == VoucherKind.AMOUNT:
        text = translate("vouchers.benefit_amount", locale, amount=format_money(row.value, row.currency, locale))
    elif row.kind == VoucherKind.PRICE:
        text = translate("vouchers.benefit_price", locale, price=format_money(row.value, row.currency, locale))
    else:
        text = ""
    if row.unlocks_hidden:
        unlock = translate("vouchers.benefit_unlocks", locale)
        text = f"{text} · {unlock}" if text else unlock
    return text


@office_section("vouchers")
@private_state
class OfficeVouchersState(LocalizedState, rx.State):
    loaded: bool = False
    kind: str = VoucherKind.PERCENT.value
    unlocks_hidden: bool = False
    csv_url: str = ""  # set by `load` (a computed var reading the route would tie this state to others)
    _rows: list[VoucherView] = []
    _orders: list[VoucherOrderView] = []
    _timezone: str = "UTC"

    @rx.var
    def vouchers(self) -> list[VoucherRowView]:
        locale = self._display_locale()
        views = []
        for row in self._rows:
            start = format_datetime(row.valid_from, self._timezone, locale) if row.valid_from else ""
            end = format_datetime(row.valid_until, self._timezone, locale) if row.valid_until else ""
            views.append(
                VoucherRowView(
                    id=str(row.id),
                    code=row.code,
                    benefit=benefit_text(row, locale),
                    uses=f"{row.used} / {row.max_uses}",
                    window=f"{start} – {end}" if start or end else translate("vouchers.always", locale),
                    can_delete=row.used == 0,
                )
            )
        return views

    @rx.var
    def orders(self) -> list[VoucherOrderRowView]:
        locale = self._display_locale()
        return [
            VoucherOrderRowView(
                order_id=str(o.order_id),
                short_id=short_id(o.order_id),
                code=o.code,
                email=o.buyer_email,
                status=o.status.value,
                status_label=translate(f"office.order_status.{o.status.value}", locale),
                total=format_money(o.total_minor, o.currency, locale),
                discount=format_money(o.discount_minor, o.currency, locale),
                created=format_datetime(o.created_at, self._timezone, locale),
            )
            for o in self._orders
        ]

    @rx.event
    async def load(self):
        self.loaded = False
        self._timezone = (await self.get_state(BackOfficeState)).timezone
        async with service_call(self) as call:
            event_id = route_event_id(self)
            rows = vouchers.list_vouchers(call.session, actor=call.user, event_id=event_id)
            orders = vouchers.voucher_orders(call.session, actor=call.user, event_id=event_id)
        self.loaded = True
        if call.failed:
            self._rows, self._orders = [], []
            return call.error_toast()
        self._rows, self._orders = rows, orders
        self.csv_url = f"/api/v1/events/{event_id}/vouchers.csv"
        return None

    @rx.event
    def set_kind(self, kind: str):
        self.kind = kind if kind in KINDS else VoucherKind.PERCENT.value

    @rx.event
    def set_unlocks_hidden(self, value: bool):
        self.unlocks_hidden = bool(value)

    @rx.event
    async def create(self, form_data: dict[str, str]):
        """One code when a code is typed, else `count` random codes (with the prefix)."""
        code = (form_data.get("code") or "").strip()[:64]
        async with service_call(self) as call:
            event_id = route_event_id(self)
            fields = self._fields(form_data)
            if code:
                created = [
                    vouchers.create_voucher(
                        call.session, actor=call.user, event_id=event_id, fields=fields, now=call.now
                    )
                ]
            else:
                created = vouchers.create_random_vouchers(
                    call.session,
                    actor=call.user,
                    event_id=event_id,
                    fields=fields,
                    count=_whole_number(form_data.get("count"), "error.voucher_count", max=vouchers.MAX_BULK),
                    prefix=(form_data.get("prefix") or "")[:40],
                    now=call.now,
                )
        if call.failed:
            return call.error_toast()
        currency = self._rows[0].currency if self._rows else self._currency()
        self._rows = [*self._rows, *(row.model_copy(update={"currency": currency}) for row in created)]
        return [
            rx.toast.success(call.text("vouchers.created", count=len(created))),
            rx.call_script("document.getElementById('voucher-create-form')?.reset()"),
        ]

    @rx.event
    async def delete(self, voucher_id: str):
        voucher_uuid = parse_id(voucher_id)
        row = next((r for r in self._rows if voucher_uuid and r.id == voucher_uuid), None)
        if row is None or voucher_uuid is None:
            return None
        async with service_call(self) as call:
            vouchers.delete_voucher(
                call.session, actor=call.user, event_id=route_event_id(self), voucher_id=voucher_uuid, now=call.now
            )
        if call.failed:
            return call.error_toast()
        self._rows = [r for r in self._rows if r.id != voucher_uuid]
        return rx.toast.success(call.text("vouchers.deleted", code=row.code))

    def _currency(self) -> str:
        dashboard = next((r.currency for r in self._rows if r.currency), "")
        return dashboard or "EUR"

    def _fields(self, form: dict[str, str]) -> VoucherFields:
        kind = VoucherKind(self.kind) if self.kind in KINDS else VoucherKind.PERCENT
        raw = (form.get("value") or "").strip()
        if kind == VoucherKind.PERCENT:
            value = _whole_number(raw, "error.voucher_percent")
        elif kind == VoucherKind.UNLOCK:
            value = 0
        else:
            value = event_admin.price_to_minor(raw, self._currency())
        return VoucherFields(
            code=(form.get("code") or "").strip()[:64] or None,
            kind=kind,
            value=value,
            max_uses=_whole_number(form.get("max_uses"), "error.voucher_max_uses", max=vouchers.MAX_USES),
            unlocks_hidden=self.unlocks_hidden or kind == VoucherKind.UNLOCK,
        )


def _whole_number(text: str | None, key: str, **params: object) -> int:
    try:
        return int((text or "").strip())
    except ValueError:
        raise ValidationFailed(key, **params) from None


# -- components ---------------------------------------------------------------------------------


def voucher_row(row) -> rx.Component:  # noqa: ANN001 - an ObjectVar of VoucherRowView
    return rx.table.row(
        rx.table.row_header_cell(rx.code(row.code), class_name="voucher-code"),
        rx.table.cell(row.benefit),
        rx.table.cell(row.uses, class_name="voucher-uses"),
        rx.table.cell(row.window),
        rx.table.cell(
            rx.cond(
                BackOfficeState.can_manage & row.can_delete,
                rx.button(
                    rx.icon("trash-2", size=14),
                    LocaleState.t["vouchers.delete"],
                    on_click=OfficeVouchersState.delete(row.id),
                    color_scheme="red",
                    variant="soft",
                    size="1",
                    class_name="delete-voucher",
                ),
            )
        ),
        custom_attrs={"data-voucher-id": row.id, "data-code": row.code},
    )


def voucher_order_row(row) -> rx.Component:  # noqa: ANN001 - an ObjectVar of VoucherOrderRowView
    return rx.table.row(
        rx.table.row_header_cell(rx.code(row.short_id)),
        rx.table.cell(rx.code(row.code), class_name="voucher-order-code"),
        rx.table.cell(row.email),
        rx.table.cell(status_badge(row.status_label, row.status)),
        rx.table.cell(row.total),
        rx.table.cell(row.discount, class_name="voucher-order-discount"),
        rx.table.cell(row.created),
        custom_attrs={"data-order-id": row.order_id},
    )


def voucher_form() -> rx.Component:
    t = LocaleState.t
    state = OfficeVouchersState
    return rx.form(
        rx.vstack(
            rx.text(t["vouchers.create_hint"], size="2", color_scheme="gray"),
            rx.flex(
                labelled_field(
                    t["vouchers.code"],
                    rx.input(name="code", max_length=64, id="field-voucher-code", auto_complete="off", width="100%"),
                    "field-voucher-code",
                    min_width="10rem",
                ),
                labelled_field(
                    t["vouchers.count"],
                    rx.input(name="count", type="number", min=1, max=1000, default_value="1", id="field-voucher-count"),
                    "field-voucher-count",
                ),
                labelled_field(
                    t["vouchers.prefix"],
                    rx.input(name="prefix", max_length=20, id="field-voucher-prefix", auto_complete="off"),
                    "field-voucher-prefix",
                ),
                rx.vstack(
                    rx.text(t["vouchers.kind"], size="2", weight="medium"),
                    rx.select.root(
                        rx.select.trigger(aria_label=t["vouchers.kind"], id="field-voucher-kind"),
                        rx.select.content(*[rx.select.item(t[f"vouchers.kind_{k}"], value=k) for k in KINDS]),
                        value=state.kind,
                        on_change=state.set_kind,
                    ),
                    spacing="1",
                ),
                labelled_field(
                    t["vouchers.value"],
                    rx.input(name="value", id="field-voucher-value", auto_complete="off", inputmode="decimal"),
                    "field-voucher-value",
                ),
                labelled_field(
                    t["vouchers.max_uses"],
                    rx.input(name="max_uses", type="number", min=1, default_value="1", id="field-voucher-max-uses"),
                    "field-voucher-max-uses",
                ),
                rx.el.label(
                    rx.hstack(
                        rx.checkbox(
                            checked=state.unlocks_hidden,
                            on_change=state.set_unlocks_hidden,
                            id="field-voucher-unlocks",
                            aria_label=t["vouchers.unlocks_hidden"],
                        ),
                        rx.text(t["vouchers.unlocks_hidden"], size="2"),
                        align="center",
                        spacing="2",
                    ),
                ),
                rx.button(rx.icon("ticket-percent", size=16), t["vouchers.create"], type="submit", id="voucher-create"),
                spacing="3",
                align="end",
                wrap="wrap",
                width="100%",
            ),
            spacing="2",
            width="100%",
        ),
        on_submit=state.create,
        reset_on_submit=False,
        id="voucher-create-form",
        width="100%",
    )


def vouchers_section() -> rx.Component:
    t = LocaleState.t
    state = OfficeVouchersState
    return tab_panel(
        state.loaded,
        rx.text(t["vouchers.hint"], size="2", color_scheme="gray"),
        rx.cond(BackOfficeState.can_manage, voucher_form()),
        rx.cond(
            BackOfficeState.can_manage & (state.vouchers.length() > 0),
            rx.button(
                download_link(
                    rx.icon("download", size=14, aria_hidden="true"),
                    t["vouchers.download_csv"],
                    href=state.csv_url,
                    id="vouchers-csv",
                ),
                as_child=True,
                size="2",
                variant="soft",
            ),
        ),
        data_table(
            [
                Column(t["vouchers.code"]),
                Column(t["vouchers.col_benefit"]),
                Column(t["vouchers.col_uses"]),
                Column(t["vouchers.col_valid"]),
                Column.actions(),
            ],
            state.vouchers,
            voucher_row,
            table_id="vouchers-table",
            empty_text=t["vouchers.none"],
            empty_id="no-vouchers",
        ),
        rx.heading(t["vouchers.orders_title"], size="4", as_="h2"),
        data_table(
            [
                Column(t["office.col_order"]),
                Column(t["vouchers.code"]),
                Column(t["admin.col_email"]),
                Column(t["office.col_status"]),
                Column(t["checkout.total"]),
                Column(t["vouchers.col_discount"]),
                Column(t["vouchers.col_date"]),
            ],
            state.orders,
            voucher_order_row,
            table_id="voucher-orders-table",
            empty_text=t["vouchers.no_orders"],
            empty_id="no-voucher-orders",
        ),
        name="vouchers",
    )
