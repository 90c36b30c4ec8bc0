"""The Orders tab's state and what it shows (display text only)."""

from __future__ import annotations

import dataclasses
import uuid

import reflex as rx

from bilten import ratelimit, routes
from bilten.back_office.frame.state import BackOfficeState, office_section, route_event_id, short_id
from bilten.i18n import catalog, format_datetime, format_money, translate
from bilten.ids import parse_id
from bilten.models import Order, OrderStatus
from bilten.services import event_orders
from bilten.services import invoices as invoice_service
from bilten.services import orders as order_service
from bilten.services import questions as question_service
from bilten.services.event_orders import EventOrderRow, OrderDetail
from bilten.services.ticket_references import format_reference
from bilten.state.auth import private_state
from bilten.state.base import service_call
from bilten.state.paging import MAX_SEARCH, PAGE_SIZE, PagePaging
from bilten.state.ratelimits import refused_by_limit

ALL_STATUSES = "all"  # a select item cannot have an empty value
ORDER_STATUSES = [status.value for status in OrderStatus]


@dataclasses.dataclass(frozen=True)
class OrderView:
    id: str
    short_id: str
    created: str
    buyer_email: str
    buyer_name: str
    status: str
    status_label: str
    total: str
    tickets: int
    cancellable: bool
    refund: bool


@dataclasses.dataclass(frozen=True)
class DetailLineView:
    name: str
    quantity: int
    unit_price: str
    total: str


@dataclasses.dataclass(frozen=True)
class DetailTicketView:
    id: str
    short_id: str
    reference: str  # K7QM-4XHT-2P
    ticket_type: str
    holder: str
    status: str
    status_label: str
    checked_in: str


@dataclasses.dataclass(frozen=True)
class DetailPaymentView:
    provider: str
    status: str
    amount: str
    refunded: str
    created: str


@dataclasses.dataclass(frozen=True)
class HistoryView:
    when: str
    action: str
    label: str
    actor: str


@dataclasses.dataclass(frozen=True)
class OrderDetailView:
    id: str = ""
    short_id: str = ""
    status: str = ""
    status_label: str = ""
    buyer_name: str = ""
    buyer_email: str = ""
    buyer_phone: str = ""
    created: str = ""
    paid: str = ""
    total: str = ""
    cancellable: bool = False
    refund: bool = False
    resendable: bool = False
    invoice_url: str = ""
    invoice_label: str = ""
    credit_note_url: str = ""
    credit_note_label: str = ""


def _history_label(action: str, locale: str, data: dict | None = None) -> str:
    key = f"history.{action}"
    if key not in catalog("en"):
        return action
    if action == "ticket.transferred":  # the chain: from whom to whom
        params = {name: str((data or {}).get(name, "")) for name in ("from", "to", "to_email")}
        return translate(key, locale, **params)
    return translate(key, locale)


@dataclasses.dataclass(frozen=True)
class DetailAnswerView:
    group: str  # "For the order", "Ticket 2"
    label: str
    value: str


@office_section("orders")
@private_state
class OfficeOrdersState(PagePaging, rx.State):
    loaded: bool = False
    search: str = ""
    status_filter: str = ALL_STATUSES
    _rows: list[EventOrderRow] = []
    # The event's time zone, copied by `load`: a computed var reading BackOfficeState would load
    # this tab with every event of the back office.
    _timezone: str = "UTC"

    # The order open in the details dialog.
    detail_open: bool = False
    _detail: OrderDetail | None = None
    _detail_answers: list[question_service.AnswerView] = []
    _detail_invoices: dict[str, str] = {}  # kind -> number of the open order's invoice and credit note

    # The confirmation dialog: which order, and what cancelling it does.
    confirm_open: bool = False
    confirm_refund: bool = False
    confirm_text: str = ""
    _confirm_order_id: str = ""

    @rx.var
    def orders(self) -> list[OrderView]:
        locale = self._display_locale()
        return [
            OrderView(
                id=str(row.id),
                short_id=short_id(row.id),
                created=format_datetime(row.created_at, self._timezone, locale),
                buyer_email=row.buyer_email,
                buyer_name=row.buyer_name,
                status=str(row.status),
                status_label=translate(f"office.order_status.{row.status}", locale),
                total=format_money(row.total_minor, row.currency, locale),
                tickets=row.ticket_count,
                cancellable=row.cancellable,
                refund=row.refund_on_cancel,
            )
            for row in self._rows
        ]

    @rx.var
    def detail(self) -> OrderDetailView:
        detail = self._detail
        if detail is None:
            return OrderDetailView()
        locale = self._display_locale()
        row = detail.order
        return OrderDetailView(
            id=str(row.id),
            short_id=short_id(row.id),
            status=str(row.status),
            status_label=translate(f"office.order_status.{row.status}", locale),
            buyer_name=row.buyer_name,
            buyer_email=row.buyer_email,
            buyer_phone=detail.buyer_phone,
            created=format_datetime(row.created_at, self._timezone, locale),
            paid=format_datetime(detail.paid_at, self._timezone, locale) if detail.paid_at else "—",
            total=format_money(row.total_minor, row.currency, locale),
            cancellable=row.cancellable,
            refund=row.refund_on_cancel,
            resendable=row.status == OrderStatus.PAID,
            **self._invoice_links(row.id, locale),
        )

    def _invoice_links(self, order_id: uuid.UUID, locale: str) -> dict[str, str]:
        """Downloads of the open order's invoice and credit note (the order link proves access, as
        the organizer may see the order anyway)."""
        links = {}
        token = order_service.order_access_token(order_id)
        for kind, number in self._detail_invoices.items():
            links[f"{kind}_url"] = routes.order_invoice_pdf_url(order_id, token, kind)
            links[f"{kind}_label"] = translate(f"office.download_{kind}", locale, number=number)
        return links

    @rx.var
    def detail_lines(self) -> list[DetailLineView]:
        detail = self._detail
        if detail is None:
            return []
        locale = self._display_locale()
        currency = detail.order.currency
        return [
            DetailLineView(
                name=line.ticket_type,
                quantity=line.quantity,
                unit_price=format_money(line.unit_price_minor, currency, locale),
                total=format_money(line.line_total_minor, currency, locale),
            )
            for line in detail.lines
        ]

    @rx.var
    def detail_tickets(self) -> list[DetailTicketView]:
        detail = self._detail
        if detail is None:
            return []
        locale = self._display_locale()
        return [
            DetailTicketView(
                id=str(t.id),
                short_id=short_id(t.id),
                reference=format_reference(t.reference),
                ticket_type=t.ticket_type,
                holder=t.holder_name or "—",
                status=str(t.status),
                status_label=translate(f"office.ticket_status.{t.status}", locale),
                checked_in=format_datetime(t.checked_in_at, self._timezone, locale) if t.checked_in_at else "—",
            )
            for t in detail.tickets
        ]

    @rx.var
    def detail_payments(self) -> list[DetailPaymentView]:
        detail = self._detail
        if detail is None:
            return []
        locale = self._display_locale()
        return [
            DetailPaymentView(
                provider=p.provider,
                status=p.status,
                amount=format_money(p.amount_minor, p.currency, locale),
                refunded=format_money(p.refunded_minor, p.currency, locale) if p.refunded_minor else "—",
                created=format_datetime(p.created_at, self._timezone, locale),
            )
            for p in detail.payments
        ]

    @rx.var
    def detail_answers(self) -> list[DetailAnswerView]:
        """The buyer's checkout answers (retired questions' too)."""
        locale = self._display_locale()
        yes, no = translate("question.yes", locale), translate("question.no", locale)
        return [
            DetailAnswerView(
                group=(
                    translate("order.answers.for_order", locale)
                    if a.ticket_index is None
                    else translate("order.answers.for_ticket", locale, number=a.ticket_index + 1)
                ),
                label=a.label,
                value=question_service.display_value(a, a.value, locale, yes=yes, no=no)
                or translate("order.answers.empty", locale),
            )
            for a in self._detail_answers
        ]

    @rx.var
    def detail_history(self) -> list[HistoryView]:
        detail = self._detail
        if detail is None:
            return []
        locale = self._display_locale()
        return [
            HistoryView(
                when=format_datetime(entry.at, self._timezone, locale),
                action=entry.action,
                label=_history_label(entry.action, locale, entry.data),
                actor=entry.actor_email or translate("history.system", locale),
            )
            for entry in detail.history
        ]

    @rx.event
    async def load(self):
        """When the Orders tab opens, and after each search, filter or page change."""
        self.loaded = False
        self._timezone = (await self.get_state(BackOfficeState)).timezone
        status = None if self.status_filter == ALL_STATUSES else self.status_filter
        async with service_call(self) as call:
            found = event_orders.list_event_orders(
                call.session,
                actor=call.user,
                event_id=route_event_id(self),
                search=self.search,
                status=status,
                page=self.page,
                page_size=PAGE_SIZE,
            )
        if call.failed:
            self._rows = []
            self.loaded = True
            return call.error_toast()
        self._rows, self.total, self.pages = found.rows, found.total, found.pages
        if self.page > found.pages:  # the list shrank under us: show its last page
            self.page = found.pages
            return OfficeOrdersState.load
        self.loaded = True
        return None

    @rx.event
    def run_search(self, form_data: dict[str, str]):
        self.search = (form_data.get("search") or "")[:MAX_SEARCH]
        self.page = 1
        return OfficeOrdersState.load

    @rx.event
    def set_status_filter(self, status: str):
        self.status_filter = status if status in ORDER_STATUSES else ALL_STATUSES
        self.page = 1
        return OfficeOrdersState.load

    @rx.event
    async def open_detail(self, order_id: str):
        order_uuid = parse_id(order_id)
        if order_uuid is None:
            return None
        async with service_call(self) as call:
            detail = event_orders.order_detail(call.session, actor=call.user, order_id=order_uuid)
            if str(detail.event_id) != str(route_event_id(self)):
                return None  # an order of another event: not on this page
            order = call.session.get(Order, order_uuid)  # its event's organizers only: checked just above
            answers = question_service.order_answers(call.session, order, now=call.now) if order else []
            documents = invoice_service.order_invoices(call.session, order_id=order_uuid, user=call.user)
        if call.failed:
            return call.error_toast()
        self._detail_invoices = {str(d.kind): d.number for d in documents}
        self._detail = detail
        self._detail_answers = answers
        self.detail_open = True
        return None

    @rx.event
    def set_detail_open(self, is_open: bool):
        self.detail_open = is_open
        if not is_open:
            self._detail = None
            self._detail_answers = []

    @rx.event
    async def resend(self, order_id: str):
        """Send the buyer their tickets again (owners, managers, admins)."""
        order_uuid = parse_id(order_id)
        if order_uuid is None:
            return None
        if refused := await refused_by_limit(self, ratelimit.RESEND, account=order_uuid):
            return refused
        async with service_call(self) as call:
            order = event_orders.resend_order_tickets(call.session, actor=call.user, order_id=order_uuid, now=call.now)
            if self._detail is not None and self._detail.order.id == order_uuid:
                self._detail = event_orders.order_detail(call.session, actor=call.user, order_id=order_uuid)
        if call.failed:
            return call.error_toast()
        return rx.toast.success(call.text("office.tickets_resent", email=order.buyer_email))

    @rx.event
    async def ask_cancel(self, order_id: str):
        """Open the confirmation for one order of the list or of the details dialog."""
        rows = list(self._rows) + ([self._detail.order] if self._detail is not None else [])
        row = next((r for r in rows if str(r.id) == order_id and r.cancellable), None)
        if row is None:
            return
        locale = await self._remember_locale()
        self._confirm_order_id = order_id
        self.confirm_refund = row.refund_on_cancel
        key = "office.confirm_refund_text" if row.refund_on_cancel else "office.confirm_cancel_text"
        amount = format_money(row.total_minor, row.currency, locale)
        self.confirm_text = translate(key, locale, email=row.buyer_email, amount=amount)
        self.confirm_open = True

    @rx.event
    def set_confirm_open(self, is_open: bool):
        self.confirm_open = is_open
        if not is_open:
            self._confirm_order_id = ""

    @rx.event
    async def confirm_cancel(self):
        order_id = parse_id(self._confirm_order_id)
        self.confirm_open = False
        self._confirm_order_id = ""
        if order_id is None:
            return None
        async with service_call(self) as call:
            order = order_service.cancel_order(call.session, order_id=order_id, now=call.now, actor=call.user)
            if self._detail is not None and self._detail.order.id == order_id:
                self._detail = event_orders.order_detail(call.session, actor=call.user, order_id=order_id)
                documents = invoice_service.order_invoices(call.session, order_id=order_id, user=call.user)
                self._detail_invoices = {str(d.kind): d.number for d in documents}  # the credit note too
        if call.failed:
            return call.error_toast()
        status = OrderStatus(order.status)
        self._rows = [r.model_copy(update={"status": status}) if r.id == order.id else r for r in self._rows]
        if status == OrderStatus.REFUNDED:
            amount = format_money(order.total_minor, order.currency, call.locale)
            return rx.toast.success(call.text("office.order_refunded", email=order.buyer_email, amount=amount))
        return rx.toast.success(call.text("office.order_cancelled", email=order.buyer_email))
