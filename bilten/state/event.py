"""One event's public page: details, ticket types, and reserving tickets.

The live "N left" does not pass through this state: the page's badges follow the event over the
`/live` socket.io namespace (bilten/live_inventory.py, components/live_inventory.py). The counts
here are those of the page's load; the database judges every reservation anyway.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import datetime

import reflex as rx

from bilten import clock, ratelimit, routes
from bilten.i18n import format_datetime, format_money, translate
from bilten.ids import parse_id
from bilten.models import EventStatus
from bilten.payments import active_provider, is_test_mode
from bilten.services import vouchers
from bilten.services.errors import InvalidQuantity, NotFound, RateLimited, VoucherInvalid
from bilten.services.events import EventDetail, TicketTypeSummary, buyer_unit_price, get_public_event
from bilten.services.invoices import format_tax_rate
from bilten.services.markdown import render_markdown
from bilten.services.orders import place_order, start_payment
from bilten.services.questions import AnswerIn, active_questions
from bilten.services.translations import field_text
from bilten.settings import get_settings
from bilten.state.auth import AuthState, error_text
from bilten.state.base import service_call
from bilten.state.home import place_text, price_text
from bilten.state.i18n import LocalizedState
from bilten.state.questions import (
    QuestionFieldView,
    Slot,
    answer_errors,
    checkout_answers,
    checkout_fields,
    checkout_slots,
    question_data,
)
from bilten.state.ratelimits import refused_by_limit, tab_client_address


@dataclasses.dataclass(frozen=True)
class EventView:
    title: str = ""
    starts: str = ""
    ends: str = ""
    venue_name: str = ""
    venue_address: str = ""
    place: str = ""
    description: str = ""
    price: str = ""
    image_url: str = ""
    timezone_note: str = ""
    cancelled: bool = False
    venue_notes: str = ""


@dataclasses.dataclass(frozen=True)
class TicketTypeView:
    id: str
    name: str
    description: str
    price: str  # with the buyer's voucher
    full_price: str  # the price without it, shown struck through ("" when the voucher does not change it)
    tax_note: str  # "incl. 19% VAT" ("" without a tax rate)
    left: int  # seats left when the page loaded; the badge and the "+" follow the live count
    min_per_order: int
    on_sale: bool  # the quantity picker is shown
    sale_note: str  # instead of the picker: sold out, not open yet (with when), ended
    limits: str  # "Up to 10 per order"
    quantity: int
    can_add: bool
    can_remove: bool


def _sale_problem(ticket: TicketTypeSummary, left: int, now: datetime) -> str:
    """Why a ticket type cannot be bought right now ("" when it can): a message key."""
    if ticket.sales_start and now < ticket.sales_start:
        return "event.sales_not_open"
    if ticket.sales_end and now >= ticket.sales_end:
        return "event.sales_ended"
    if left < max(ticket.min_per_order, 1):
        return "event.sold_out"
    return ""


class EventState(LocalizedState, rx.State):
    """The route `/events/[event_id]` gives this state the `event_id` var."""

    loaded: bool = False
    not_found: bool = False
    # The buyer's choice: ticket type id -> quantity (ids and numbers only).
    quantities: dict[str, int] = {}
    # Prefilled from the signed-in account; the form fields start with these.
    buyer_email: str = ""
    buyer_name: str = ""
    checkout_error: str = ""
    reserving: bool = False
    test_payments: bool = False  # the test provider is on: the checkout says so, loudly
    # The voucher field, the code that was accepted ("" for none) and why one was refused.
    voucher_code: str = ""
    voucher_applied: str = ""
    voucher_error: str = ""
    applying_voucher: bool = False
    # Checkout questions' errors, by field key ("<question id>:<ticket index>").
    answer_errors: dict[str, str] = {}

    _detail: EventDetail | None = None
    _offer: vouchers.VoucherOffer | None = None
    # The description as safe HTML, rendered once per load for each language it is written in
    # ("" for the main language; not a computed var of another state: that would make every event
    # of this page load that state too).
    _descriptions_html: dict[str, str] = {}

    @rx.var
    def description_html(self) -> str:
        """The description in the reader's language, else in the event's main language."""
        return self._descriptions_html.get(self._display_locale()) or self._descriptions_html.get("", "")

    _questions: list[dict] = []  # the event's checkout questions (plain data, see `load`)

    # -- what the page shows ------------------------------------------------------------------

    @rx.var
    def event(self) -> EventView:
        detail = self._detail
        if detail is None:
            return EventView()
        locale = self._display_locale()
        return EventView(
            title=field_text(detail, "title", locale, detail.main_language),
            starts=format_datetime(detail.starts_at, detail.timezone, locale),
            ends=format_datetime(detail.ends_at, detail.timezone, locale),
            venue_name=detail.venue_name,
            venue_address=detail.venue_address,
            place=place_text(detail.venue_name, detail.city),
            description=field_text(detail, "description", locale, detail.main_language),
            price=price_text(detail.lowest_price_minor, detail.currency, locale),
            image_url=detail.image_url,
            timezone_note=translate("event.timezone_note", locale, timezone=detail.timezone),
            cancelled=detail.status == EventStatus.CANCELLED,
            venue_notes=field_text(detail, "venue_notes", locale, detail.main_language),
        )

    @rx.var
    def ticket_types(self) -> list[TicketTypeView]:
        detail = self._detail
        if detail is None:
            return []
        locale = self._display_locale()
        now = clock.now()
        sellable = self._sellable(now)
        views = []
        for ticket in self._all_types():
            type_id = str(ticket.id)
            left = ticket.available
            quantity = self.quantities.get(type_id, 0)
            problem = _sale_problem(ticket, left, now) if sellable else "event.not_on_sale"
            views.append(
                TicketTypeView(
                    id=type_id,
                    name=field_text(ticket, "name", locale, detail.main_language),
                    description=field_text(ticket, "description", locale, detail.main_language),
                    price=self._price_text(ticket, locale),
                    full_price=(
                        format_money(ticket.price_minor, ticket.currency, locale)
                        if self._unit_price(ticket) != ticket.price_minor
                        else ""
                    ),
                    tax_note=self._tax_note(ticket, locale),
                    left=left,
                    min_per_order=ticket.min_per_order,
                    on_sale=problem == "",
                    sale_note=(
                        translate(
                            problem,
                            locale,
                            when=format_datetime(ticket.sales_start, detail.timezone, locale)
                            if ticket.sales_start
                            else "",
                        )
                        if problem
                        else ""
                    ),
                    limits=(
                        translate("event.per_order_max", locale, max=ticket.max_per_order)
                        if ticket.min_per_order <= 1
                        else translate(
                            "event.per_order_range", locale, min=ticket.min_per_order, max=ticket.max_per_order
                        )
                    ),
                    quantity=quantity,
                    can_add=problem == "" and max(quantity + 1, ticket.min_per_order) <= self._limit(ticket),
                    can_remove=quantity > 0,
                )
            )
        return views

    @rx.var
    def can_buy(self) -> bool:
        """Some ticket type of this event is on sale now: the checkout form is shown."""
        detail = self._detail
        if detail is None or not self._sellable(clock.now()):
            return False
        now = clock.now()
        return any(_sale_problem(ticket, ticket.available, now) == "" for ticket in self._all_types())

    @rx.var
    def sellable(self) -> bool:
        """The event is on sale: the voucher field is shown (a code may unlock hidden types)."""
        return self._sellable(clock.now())

    @rx.var
    def voucher_note(self) -> str:
        """ "Voucher SPRING applied: you save €5.00" (the saving of the tickets chosen so far)."""
        offer = self._offer
        if offer is None:
            return ""
        locale = self._display_locale()
        saved: dict[str, int] = defaultdict(int)
        for ticket in self._all_types():
            quantity = self.quantities.get(str(ticket.id), 0)
            saved[ticket.currency] += quantity * (ticket.price_minor - self._unit_price(ticket))
        amounts = [format_money(amount, currency, locale) for currency, amount in saved.items() if amount]
        if amounts:
            return translate("voucher.applied_saving", locale, code=offer.code, amount=" + ".join(amounts))
        return translate("voucher.applied", locale, code=offer.code)

    @rx.var
    def hold_note(self) -> str:
        locale = self._display_locale()
        return translate("checkout.hold_note", locale, minutes=get_settings().hold_minutes)

    @rx.var
    def ticket_count(self) -> int:
        return sum(self.quantities.values())

    @rx.var
    def total(self) -> str:
        """The order total in the reader's language ("" before anything is chosen)."""
        detail = self._detail
        if detail is None or not self.quantities:
            return ""
        locale = self._display_locale()
        sums: dict[str, int] = defaultdict(int)
        for ticket in self._all_types():
            quantity = self.quantities.get(str(ticket.id), 0)
            if quantity:
                sums[ticket.currency] += quantity * self._unit_price(ticket)
        if not sums:
            return ""
        if not any(sums.values()):
            return translate("event.free", locale)
        return " + ".join(format_money(amount, currency, locale) for currency, amount in sums.items())

    @rx.var
    def question_fields(self) -> list[QuestionFieldView]:
        """The questions for the chosen tickets: per order once, then per ticket ("Ticket 1 — General")."""
        return checkout_fields(self._slots(), locale=self._display_locale(), errors=self.answer_errors)

    # -- helpers (not events) -----------------------------------------------------------------

    def _chosen(self) -> list[tuple[str, int]]:
        """(type id, quantity) of the chosen tickets, in the page's order: ticket n of the questions."""
        if self._detail is None:
            return []
        return [(str(t.id), self.quantities[str(t.id)]) for t in self._all_types() if self.quantities.get(str(t.id))]

    def _slots(self) -> list[Slot]:
        """Every field the checkout asks for the chosen tickets (state/questions.py)."""
        if self._detail is None or not self._questions:
            return []
        locale, main = self._display_locale(), self._detail.main_language
        names = {str(t.id): field_text(t, "name", locale, main) for t in self._all_types()}
        tickets = [(type_id, names[type_id]) for type_id, quantity in self._chosen() for _ in range(quantity)]
        return checkout_slots(self._questions, tickets)

    def _answers(self, form_data: dict) -> list[AnswerIn]:
        return checkout_answers(self._slots(), form_data)

    def _sellable(self, now: datetime) -> bool:
        detail = self._detail
        return detail is not None and detail.status == EventStatus.PUBLISHED and detail.ends_at > now

    def _all_types(self) -> list[TicketTypeSummary]:
        """The event's listed ticket types, then the hidden ones the buyer's voucher unlocked."""
        if self._detail is None:
            return []
        return [*self._detail.ticket_types, *(self._offer.hidden_types if self._offer else [])]

    def _unit_price(self, ticket: TicketTypeSummary) -> int:
        """What one ticket costs the buyer, as placing the order charges it: the voucher applies to
        the stored price, then the tax is added when the organization's prices are net."""
        return buyer_unit_price(
            vouchers.voucher_unit_price(self._offer, ticket.id, ticket.base_price_minor),
            ticket.tax_rate_bp,
            prices_include_tax=ticket.prices_include_tax,
        )

    def _tax_note(self, ticket: TicketTypeSummary, locale: str) -> str:
        if not ticket.tax_rate_bp or self._unit_price(ticket) == 0:
            return ""
        return translate("event.tax_included", locale, rate=format_tax_rate(ticket.tax_rate_bp))

    def _price_text(self, ticket: TicketTypeSummary, locale: str) -> str:
        price = self._unit_price(ticket)
        return translate("event.free", locale) if price == 0 else format_money(price, ticket.currency, locale)

    def _ticket(self, type_id: str) -> TicketTypeSummary | None:
        return next((t for t in self._all_types() if str(t.id) == type_id), None)

    def _limit(self, ticket: TicketTypeSummary) -> int:
        """The most of one type this buyer may pick: the per-order maximum, or the seats left."""
        return min(ticket.max_per_order, ticket.available)

    def _set_quantity(self, type_id: str, quantity: int) -> None:
        chosen = {key: value for key, value in self.quantities.items() if key != type_id}
        if quantity > 0:
            chosen[type_id] = quantity
        self.quantities = chosen

    # -- events -------------------------------------------------------------------------------

    @rx.event
    async def load(self):
        """on_load: the event named by the URL, or a "not found" box."""
        # Reflex runs on_load again when a tab reconnects (a network blip, or its backend gone and
        # another one serving it from the state in Redis): the buyer keeps what they chose.
        same_event = self._detail is not None and self._detail.id == parse_id(self.event_id)
        chosen = dict(self.quantities) if same_event else {}
        self.loaded = False
        self.not_found = False
        self._detail = None
        self._descriptions_html = {}
        self.quantities = {}
        self.checkout_error = ""
        self.answer_errors = {}
        self._questions = []
        self.reserving = False
        self._offer = None
        self.voucher_applied = ""
        self.voucher_error = ""
        self.applying_voucher = False
        async with service_call(self) as call:
            event_id = parse_id(self.event_id)  # the dynamic route argument
            if event_id is None:
                raise NotFound()
            self._detail = get_public_event(call.session, event_id=event_id)
            self._questions = [question_data(q) for q in active_questions(call.session, event_id)]
        if call.failed:
            self.not_found = True
        if self._detail is not None:
            self._descriptions_html = {
                "": render_markdown(self._detail.description),
                **{
                    language: render_markdown(text)
                    for language, text in self._detail.translations.get("description", {}).items()
                    if language != self._detail.main_language
                },
            }
        if self._detail is not None and chosen:
            offered = {str(ticket.id) for ticket in self._detail.ticket_types}
            self.quantities = {type_id: number for type_id, number in chosen.items() if type_id in offered}
        auth = await self.get_state(AuthState)  # refreshed by the page's first on_load handler
        self.buyer_email = auth.email
        self.buyer_name = auth.full_name
        self.test_payments = is_test_mode()
        self.loaded = True
        # A link may carry a code (/events/<id>?voucher=SPRING): it is applied as if typed.
        code = self.router.url.query_parameters.get("voucher", "")
        self.voucher_code = code[:64] if isinstance(code, str) else ""
        if self.voucher_code and self._detail is not None:
            return EventState.apply_link_voucher
        return None

    @rx.event
    def set_voucher_code(self, code: str):
        self.voucher_code = code[:64]
        self.voucher_error = ""

    @rx.event
    async def apply_voucher(self, form_data: dict):
        """The voucher form: check the code and show what it gives (prices, hidden ticket types);
        the order checks it again when placed."""
        async for step in self._apply(str(form_data.get("voucher", "") or "")):
            yield step

    @rx.event
    async def apply_link_voucher(self):
        """The code a link carried (/events/<id>?voucher=SPRING)."""
        async for step in self._apply(self.voucher_code):
            yield step

    async def _apply(self, code: str):  # noqa: ANN202 - an async generator of state updates
        """Wrong codes count against this address's voucher limit (guessing codes)."""
        if self._detail is None or self.applying_voucher:
            return
        code = code.strip()[:64]
        self.voucher_code = code
        self.voucher_error = ""
        if not code:
            self._drop_voucher()
            return
        address = tab_client_address(self)
        locale = await self._remember_locale()
        try:
            await ratelimit.refuse_if_over(ratelimit.VOUCHER, address=address)
        except RateLimited as exc:
            self.voucher_error = error_text(exc, locale)
            return
        self.applying_voucher = True
        yield
        async with service_call(self) as call:
            offer = vouchers.voucher_offer(call.session, event_id=self._detail.id, code=code, now=call.now)
        self.applying_voucher = False
        if call.failed:
            if isinstance(call.failure, VoucherInvalid):
                await ratelimit.count_failure(ratelimit.VOUCHER, address=address)
            self._drop_voucher()
            self.voucher_error = call.error
            return
        self._offer = offer
        self.voucher_applied = offer.code
        self.voucher_code = offer.code

    @rx.event
    def remove_voucher(self):
        self._drop_voucher()
        self.voucher_code = ""
        self.voucher_error = ""

    def _drop_voucher(self) -> None:
        hidden = {str(t.id) for t in self._offer.hidden_types} if self._offer else set()
        self._offer = None
        self.voucher_applied = ""
        self.quantities = {key: value for key, value in self.quantities.items() if key not in hidden}

    @rx.event
    def add_ticket(self, type_id: str):
        """One more of a type (from nothing straight to its minimum), within its limits."""
        ticket = self._ticket(type_id)
        if ticket is None:
            return
        if not self._sellable(clock.now()) or _sale_problem(ticket, ticket.available, clock.now()):
            return
        quantity = max(self.quantities.get(type_id, 0) + 1, ticket.min_per_order)
        if quantity <= self._limit(ticket):
            self._set_quantity(type_id, quantity)
            self.checkout_error = ""

    @rx.event
    def remove_ticket(self, type_id: str):
        """One fewer of a type (below its minimum: none)."""
        ticket = self._ticket(type_id)
        if ticket is None:
            return
        quantity = self.quantities.get(type_id, 0) - 1
        self._set_quantity(type_id, quantity if quantity >= ticket.min_per_order else 0)
        self.checkout_error = ""

    @rx.event
    async def reserve(self, form_data: dict[str, str]):
        """Hold the chosen seats and go to the order page to pay (or to the provider's checkout)."""
        if self.reserving or self._detail is None:
            return
        locale = await self._remember_locale()
        self.checkout_error = ""
        self.answer_errors = {}
        items = [(parse_id(type_id), quantity) for type_id, quantity in self._chosen()]
        if not items:
            self.checkout_error = error_text(InvalidQuantity(), locale)
            return
        auth = await self.get_state(AuthState)
        buyer = ratelimit.buyer_account(auth._user_id, form_data.get("email", ""))
        if refused := await refused_by_limit(self, ratelimit.ORDER, account=buyer):
            yield refused
            return
        self.reserving = True
        yield  # the button shows it is busy; a second click waits and then finds `reserving`
        async with service_call(self) as call:
            placed = place_order(
                call.session,
                items=items,
                email=form_data.get("email", ""),
                phone=form_data.get("phone", ""),
                name=form_data.get("name", ""),
                user=call.user,
                locale=call.locale,
                event_id=self._detail.id,
                now=call.now,
                provider=active_provider(),
                billing={
                    key: (form_data.get(f"billing_{key}") or "")[:1000] for key in ("company", "address", "vat_id")
                },
                voucher=self.voucher_applied,
                answers=self._answers(form_data),
            )
            order_id, token = placed.order.id, placed.access_token
            if placed.order.total_minor > 0 and placed.payment is None:
                # A provider behind the network (Stripe): open its checkout and send the buyer there.
                payment = start_payment(call.session, order_id=order_id, now=call.now, access_token=token)
                # Another host: the browser leaves for it (is_external would open a new tab).
                yield rx.redirect(payment.checkout_url)
                return
        if call.failed:
            self.answer_errors = answer_errors(call.failure, call.error)  # a refused answer: beside its field too
            self.checkout_error = call.error
            self.reserving = False
            return
        self.quantities = {}
        yield rx.redirect(routes.order_url(order_id, token))
