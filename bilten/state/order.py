"""One order's page: pay (test mode or the provider's checkout), cancel, and the tickets once paid.

Guests reach it with the signed link (`?token=`), buyers with their session, organizers of the
event through their role. The token and the order view stay on the server; the browser gets
display text, QR images (data: URIs) and the download links (which carry the same token the
buyer's link does).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import uuid
from datetime import datetime

import reflex as rx
from sqlmodel import Session

from bilten import clock, ratelimit, routes
from bilten.db import session_scope
from bilten.i18n import format_datetime, format_money, translate
from bilten.ids import parse_id
from bilten.models import InvoiceKind, Order, OrderStatus, PaymentStatus, TicketStatus
from bilten.notifications.attachments import qr_png
from bilten.payments.test import TEST_PROVIDER
from bilten.services.errors import BiltenError, NotFound
from bilten.services.invoices import order_invoices
from bilten.services.orders import cancel_order, order_access_token, pay_with_test_provider, start_payment
from bilten.services.questions import AnswerIn, AnswerView, InvalidAnswer, display_value, order_answers, update_answers
from bilten.services.ticket_references import format_reference
from bilten.services.tickets import (
    OrderView,
    TicketView,
    order_view,
    reissue_ticket,
    resend_tickets_email,
    set_ticket_holder,
)
from bilten.services.translations import localized
from bilten.state.auth import private_state
from bilten.state.base import ServiceCall, service_call
from bilten.state.home import place_text
from bilten.state.i18n import LocalizedState
from bilten.state.questions import QuestionFieldView, field_view, read_answer
from bilten.state.ratelimits import refused_by_limit
from bilten.state.transfer import TicketTransferState

CONFIRM_POLL_SECONDS = 2
CONFIRM_POLL_ATTEMPTS = 30  # a minute for the provider's webhook after a checkout came back "paid"


@dataclasses.dataclass(frozen=True)
class TicketDisplay:
    id: str
    heading: str  # "Ticket 1 of 2"
    ticket_type: str
    holder_name: str
    valid: bool
    status_label: str
    qr: str  # a data: URI ("" for tickets that no longer get in)
    reference: str  # K7QM-4XHT-2P: typed at the door when the QR will not scan


@dataclasses.dataclass(frozen=True)
class OrderLineDisplay:
    label: str  # "2 × Standing"
    amount: str


@dataclasses.dataclass(frozen=True)
class OrderSummary:
    number: str = ""
    status_label: str = ""
    # What the page shows: "pending", "paid", "expired", "cancelled" or "refunded".
    phase: str = ""
    # How a pending order gets paid: "test" (the test-mode panel), "checkout" (the provider's page),
    # "retry" (the last attempt failed: open a new one) or "confirming" (back from the checkout,
    # waiting for the provider's word).
    payment: str = ""
    payment_declined: bool = False
    checkout_url: str = ""
    hold_deadline_ms: int = 0  # when the hold runs out, for the countdown in the browser
    event_title: str = ""
    event_url: str = ""
    when: str = ""
    place: str = ""
    email: str = ""
    total: str = ""
    voucher: str = ""  # "Voucher SPRING: €5.00 off" ("" without one)
    pdf_url: str = ""
    calendar_url: str = ""
    invoice_url: str = ""  # paid orders with money paid: services/invoices.py issues one with the payment
    credit_note_url: str = ""  # once such an order was cancelled or refunded: the credit note cancelling it


def qr_data_uri(code: str) -> str:
    return "data:image/png;base64," + base64.b64encode(qr_png(code)).decode()


def ticket_qr_images(tickets: list[TicketView]) -> dict[str, str]:
    """QR images of the tickets that still get in, by ticket id (drawn once per code, then cached)."""
    return {str(t.id): qr_data_uri(t.code) for t in tickets if t.status == TicketStatus.VALID}


def order_phase(view: OrderView, now: datetime) -> str:
    if view.status == OrderStatus.PENDING and (view.hold_expires_at is None or view.hold_expires_at <= now):
        return "expired"  # the sweeper releases it within seconds
    return str(view.status)


def ticket_displays(view: OrderView, qr: dict[str, str], locale: str) -> list[TicketDisplay]:
    count = len(view.tickets)
    return [
        TicketDisplay(
            id=str(ticket.id),
            heading=translate("order.ticket_heading", locale, number=number, count=count),
            ticket_type=localized(ticket.ticket_type, ticket.ticket_type_texts, locale, view.event_main_language),
            holder_name=ticket.holder_name,
            valid=ticket.status == TicketStatus.VALID,
            status_label=translate(f"ticket.status.{ticket.status}", locale),
            qr=qr.get(str(ticket.id), ""),
            reference=format_reference(ticket.reference),
        )
        for number, ticket in enumerate(view.tickets, start=1)
    ]


def _read_order(order_id: uuid.UUID, link_token: str) -> tuple[OrderView, dict[str, str]]:
    """For background tasks: the order view and its QR images, off the event loop."""
    with session_scope() as session:
        view = order_view(session, order_id=order_id, user=None, access_token=link_token)
    return view, ticket_qr_images(view.tickets)


@dataclasses.dataclass(frozen=True)
class AnswerDisplay:
    group: str  # "For the order", "Ticket 2"
    label: str
    value: str


def _answer_question(answer: AnswerView) -> dict:
    return {
        "id": str(answer.question_id),
        "label": answer.label,
        "kind": answer.kind,
        "options": answer.options,
        "required": answer.required,
    }


@private_state
class OrderState(TicketTransferState, LocalizedState, rx.State):
    """The route `/orders/[order_id]` gives this state the `order_id` var."""

    loaded: bool = False
    not_found: bool = False
    busy: bool = False
    resend_error: str = ""
    action_error: str = ""

    _token: str = ""  # the signed guest link from the URL ("" for signed-in owners and organizers)
    # The order's guest token, once this visitor was let in: for the download links and background reads.
    _link_token: str = ""
    _returned_paid: bool = False  # back from the provider's checkout with `paid=1`
    _view: OrderView | None = None
    _qr: dict[str, str] = {}
    # Checkout answers: shown to whoever sees the order; changed by its buyer only (the service checks).
    editing_answers: bool = False
    answers_error: str = ""
    answer_errors: dict[str, str] = {}
    _answers: list[AnswerView] = []
    _is_buyer: bool = False
    # The invoice and credit note of an order that ended after it was paid (kinds; none otherwise:
    # a paid order's invoice is known to exist, and this costs a query).
    _documents: list[str] = []

    # -- what the page shows ------------------------------------------------------------------

    @rx.var
    def summary(self) -> OrderSummary:
        view = self._view
        if view is None:
            return OrderSummary()
        locale = self._display_locale()
        phase = order_phase(view, clock.now())
        declined = view.payment_status in (PaymentStatus.FAILED, PaymentStatus.CANCELED)
        if view.payment_status != PaymentStatus.PENDING:
            payment = "retry"
        elif view.payment_provider == TEST_PROVIDER:
            payment = "test"
        elif self._returned_paid:
            payment = "confirming"
        else:
            payment = "checkout"
        return OrderSummary(
            number=str(view.id)[:8].upper(),
            status_label=translate(f"order.status.{phase}", locale),
            phase=phase,
            payment=payment,
            payment_declined=declined,
            checkout_url=view.checkout_url if payment == "checkout" else "",
            hold_deadline_ms=int(view.hold_expires_at.timestamp() * 1000) if view.hold_expires_at else 0,
            event_title=localized(view.event_title, view.event_title_texts, locale, view.event_main_language),
            event_url=routes.event_url(view.event_id),
            when=format_datetime(view.event_starts_at, view.event_timezone, locale),
            place=place_text(view.venue_name, view.city),
            email=view.buyer_email,
            total=(
                translate("event.free", locale)
                if view.total_minor == 0
                else format_money(view.total_minor, view.currency, locale)
            ),
            voucher=(
                translate(
                    "order.voucher_line",
                    locale,
                    code=view.voucher_code,
                    amount=format_money(view.discount_minor, view.currency, locale),
                )
                if view.voucher_code
                else ""
            ),
            pdf_url=routes.order_tickets_pdf_url(view.id, self._link_token),
            calendar_url=routes.order_calendar_url(view.id, self._link_token),
            invoice_url=(
                routes.order_invoice_pdf_url(view.id, self._link_token)
                if (phase == "paid" and view.total_minor > 0) or InvoiceKind.INVOICE in self._documents
                else ""
            ),
            credit_note_url=(
                routes.order_invoice_pdf_url(view.id, self._link_token, InvoiceKind.CREDIT_NOTE)
                if InvoiceKind.CREDIT_NOTE in self._documents
                else ""
            ),
        )

    @rx.var
    def lines(self) -> list[OrderLineDisplay]:
        view = self._view
        if view is None:
            return []
        locale = self._display_locale()
        return [
            OrderLineDisplay(
                label=translate(
                    "order.line",
                    locale,
                    quantity=line.quantity,
                    ticket_type=localized(line.ticket_type, line.ticket_type_texts, locale, view.event_main_language),
                ),
                amount=(
                    translate("event.free", locale)
                    if line.line_total_minor == 0
                    else format_money(line.line_total_minor, view.currency, locale)
                ),
            )
            for line in view.lines
        ]

    @rx.var
    def tickets(self) -> list[TicketDisplay]:
        if self._view is None:
            return []
        locale = self._display_locale()
        return ticket_displays(self._view, self._qr, locale)

    @rx.var
    def answers(self) -> list[AnswerDisplay]:
        locale = self._display_locale()
        yes, no = translate("question.yes", locale), translate("question.no", locale)
        return [
            AnswerDisplay(
                group=(
                    translate("order.answers.for_order", locale)
                    if a.ticket_index is None
                    else translate("order.answers.for_ticket", locale, number=a.ticket_index + 1)
                ),
                label=a.label,
                value=display_value(a, a.value, locale, yes=yes, no=no) or translate("order.answers.empty", locale),
            )
            for a in self._answers
        ]

    @rx.var
    def can_edit_answers(self) -> bool:
        return self._is_buyer and any(a.editable for a in self._answers)

    @rx.var
    def answer_fields(self) -> list[QuestionFieldView]:
        locale = self._display_locale()
        fields = []
        for a in self._answers:
            if not a.editable:
                continue
            index = -1 if a.ticket_index is None else a.ticket_index
            heading = "" if index < 0 else translate("order.answers.for_ticket", locale, number=index + 1)
            fields.append(
                field_view(
                    _answer_question(a),
                    index,
                    heading=heading,
                    locale=locale,
                    value=a.value,
                    error=self.answer_errors.get(f"{a.question_id}:{index}", ""),
                )
            )
        return fields

    # -- helpers (not events) -----------------------------------------------------------------

    def _load_answers(self, session: Session, user, now: datetime) -> None:  # noqa: ANN001 - a User or None
        order = session.get(Order, self._view.id) if self._view else None
        if order is None:
            self._answers, self._is_buyer = [], False
            return
        self._answers = order_answers(session, order, now=now)
        self._is_buyer = bool(self._token) or (user is not None and order.user_id == user.id)

    def _order_uuid(self) -> uuid.UUID:
        order_id = parse_id(self.order_id)  # the dynamic route argument
        if order_id is None:
            raise NotFound()
        return order_id

    def _loaded_order_id(self) -> uuid.UUID:
        """The order this tab was let in to. For services that do not check access themselves
        (test payments, opening a new payment), so a crafted event cannot act on another order."""
        if self._view is None or str(self._view.id) != self.order_id:
            raise NotFound()
        return self._view.id

    def _reload(self, session: Session, user) -> None:  # noqa: ANN001 - a User or None
        """Read the order again after an action (QR images come from the cache, or are drawn once)."""
        self._view = order_view(session, order_id=self._order_uuid(), user=user, access_token=self._token)
        self._qr = ticket_qr_images(self._view.tickets)
        self._load_documents(session, user)

    def _load_documents(self, session: Session, user) -> None:  # noqa: ANN001 - a User or None
        view = self._view
        ended_after_payment = (
            view is not None and view.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED) and view.total_minor > 0
        )
        self._documents = (
            [str(d.kind) for d in order_invoices(session, order_id=view.id, user=user, access_token=self._token)]
            if ended_after_payment
            else []
        )

    def _transfer_token(self) -> str:
        return self._token

    def _reread_after_transfer(self, call: ServiceCall) -> None:
        self._reload(call.session, call.user)

    # -- events -------------------------------------------------------------------------------

    @rx.event
    async def load(self):
        """on_load: the order, if this visitor may see it (else the same "not found" as a wrong id)."""
        self.loaded = False
        self.not_found = False
        self.busy = False
        self.resend_error = ""
        self.action_error = ""
        self._view = None
        self._qr = {}
        self._link_token = ""
        query = self.router.url.query_parameters
        self._token = (query.get("token") or "")[:100]
        self._returned_paid = query.get("paid") == "1"
        self.editing_answers = False
        self.answers_error = ""
        self.answer_errors = {}
        self._answers = []
        self._is_buyer = False
        self._documents = []
        async with service_call(self) as call:
            view = order_view(call.session, order_id=self._order_uuid(), user=call.user, access_token=self._token)
            self._view = view
            self._load_answers(call.session, call.user, call.now)
            self._load_documents(call.session, call.user)
        if call.failed:
            self._view = None
            self.not_found = True
            self.loaded = True
            return None
        self._view = view
        self._link_token = self._token or order_access_token(view.id)
        self._qr = await asyncio.to_thread(ticket_qr_images, view.tickets)
        self.loaded = True
        if self._returned_paid and view.status == OrderStatus.PENDING and view.payment_provider != TEST_PROVIDER:
            return OrderState.await_confirmation
        return None

    @rx.event(background=True)
    async def await_confirmation(self):
        """Back from the provider's checkout before its webhook arrived: look again for a minute."""
        async with self:
            if self._view is None:
                return
            order_id, link_token = self._view.id, self._link_token
        for _ in range(CONFIRM_POLL_ATTEMPTS):
            await asyncio.sleep(CONFIRM_POLL_SECONDS)
            try:
                view, qr = await asyncio.to_thread(_read_order, order_id, link_token)
            except BiltenError:
                return
            if view.status == OrderStatus.PENDING and view.payment_status == PaymentStatus.PENDING:
                continue
            async with self:
                if self._view is None or self._view.id != order_id:
                    return
                self._view, self._qr = view, qr
            return

    @rx.event
    async def refresh(self):
        """The countdown reached zero: show what the order is now."""
        if self._view is None:
            return
        async with service_call(self) as call:
            self._view = order_view(call.session, order_id=self._view.id, user=None, access_token=self._link_token)

    @rx.event
    async def pay_test(self, succeeded: bool):
        """The test-mode panel's "Pay now" / "Decline": no money moves."""
        self.action_error = ""
        async with service_call(self) as call:
            pay_with_test_provider(
                call.session,
                order_id=self._loaded_order_id(),
                succeeded=succeeded,
                now=call.now,
                access_token=self._link_token,
            )
            self._reload(call.session, call.user)
        if call.failed:
            self.action_error = call.error
            return None
        if succeeded and self._view.status == OrderStatus.PAID:
            return rx.toast.success(call.text("order.paid_toast"))
        return rx.toast.warning(call.text("order.declined_toast"))

    @rx.event
    async def retry_payment(self):
        """After a declined or abandoned payment: open a new one (same order, same seats)."""
        self.action_error = ""
        async with service_call(self) as call:
            payment = start_payment(
                call.session, order_id=self._loaded_order_id(), now=call.now, access_token=self._link_token
            )
            checkout_url, provider = payment.checkout_url, payment.provider
            self._reload(call.session, call.user)
        if call.failed:
            self.action_error = call.error
            return None
        if provider != TEST_PROVIDER and checkout_url:
            return rx.redirect(checkout_url)  # the provider's own page (another host)
        return None

    @rx.event
    async def cancel(self):
        """The buyer drops a pending order: its seats go back on sale at once."""
        self.action_error = ""
        async with service_call(self) as call:
            cancel_order(
                call.session, order_id=self._order_uuid(), now=call.now, actor=call.user, access_token=self._token
            )
            self._reload(call.session, call.user)
        if call.failed:
            self.action_error = call.error
            return None
        return rx.toast.info(call.text("order.cancelled_toast"))

    @rx.event
    def edit_answers(self):
        self.editing_answers = True
        self.answers_error = ""
        self.answer_errors = {}

    @rx.event
    def stop_editing_answers(self):
        self.editing_answers = False
        self.answers_error = ""
        self.answer_errors = {}

    @rx.event
    async def save_answers(self, form_data: dict):
        """The buyer's changed answers (editable questions only; the service checks who and until when)."""
        self.answers_error = ""
        self.answer_errors = {}
        async with service_call(self) as call:
            order_id = self._loaded_order_id()
            given = [
                AnswerIn(
                    question_id=a.question_id,
                    value=read_answer(form_data, _answer_question(a), -1 if a.ticket_index is None else a.ticket_index),
                    ticket_index=a.ticket_index,
                )
                for a in self._answers
                if a.editable
            ]
            self._answers = update_answers(
                call.session, order_id=order_id, answers=given, user=call.user, access_token=self._token, now=call.now
            )
        if call.failed:
            if isinstance(call.failure, InvalidAnswer):
                index = -1 if call.failure.ticket_index is None else call.failure.ticket_index
                self.answer_errors = {f"{call.failure.question_id}:{index}": call.error}
            self.answers_error = call.error
            return None
        self.editing_answers = False
        return rx.toast.success(call.text("order.answers.saved"))

    @rx.event
    async def set_holder(self, form_data: dict[str, str]):
        """The inline form under a ticket: who will use it."""
        async with service_call(self) as call:
            ticket_id = parse_id(form_data.get("ticket_id", ""))
            if ticket_id is None:
                raise NotFound()
            set_ticket_holder(
                call.session,
                ticket_id=ticket_id,
                holder_name=form_data.get("holder_name", ""),
                now=call.now,
                user=call.user,
                access_token=self._token,
            )
            self._reload(call.session, call.user)
        if call.failed:
            return call.error_toast()
        return rx.toast.success(call.text("order.holder_saved"))

    @rx.event
    async def reissue(self, ticket_id: str):
        """Replace a ticket's code (confirmed in a dialog first): the old QR stops working."""
        async with service_call(self) as call:
            wanted = parse_id(ticket_id)
            if wanted is None:
                raise NotFound()
            reissue_ticket(call.session, ticket_id=wanted, now=call.now, user=call.user, access_token=self._token)
            self._view = order_view(call.session, order_id=self._order_uuid(), user=call.user, access_token=self._token)
        if call.failed:
            return call.error_toast()
        self._qr = await asyncio.to_thread(ticket_qr_images, self._view.tickets)  # a new code: a new image
        return rx.toast.success(call.text("order.reissued"))

    @rx.event
    async def resend_email(self):
        self.resend_error = ""
        if refused := await refused_by_limit(self, ratelimit.RESEND, account=self.order_id):
            return refused
        async with service_call(self) as call:
            resend_tickets_email(
                call.session, order_id=self._order_uuid(), now=call.now, user=call.user, access_token=self._token
            )
        if call.failed:
            self.resend_error = call.error
            return None
        return rx.toast.success(call.text("order.resent", email=self._view.buyer_email if self._view else ""))
