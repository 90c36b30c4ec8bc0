"""The waiting list in the browser: the join form on a sold-out event page, and the person's own
page (`/waiting-list/[waiting_token]`) with their place in line, their offer and its buy button."""

from __future__ import annotations

import dataclasses

import reflex as rx

from bilten import ratelimit, routes
from bilten.i18n import format_datetime, format_money, translate
from bilten.ids import parse_id
from bilten.payments import active_provider
from bilten.services import waiting_list
from bilten.services.errors import NotFound
from bilten.services.orders import start_payment
from bilten.services.questions import AnswerIn, active_questions
from bilten.services.waiting_list import JoinableType, WaitingEntryView
from bilten.state.base import service_call
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
from bilten.state.ratelimits import refused_by_limit


@dataclasses.dataclass(frozen=True)
class JoinChoice:
    id: str
    name: str


class WaitingListJoinState(rx.State):
    """The event page's "join the waiting list" form (shown while some ticket type is sold out)."""

    choices: list[JoinChoice] = []
    join_error: str = ""
    joining: bool = False

    @rx.var
    def can_join(self) -> bool:
        return len(self.choices) > 0

    @rx.event
    async def load(self):
        """on_load of the event page, after EventState.load."""
        self.join_error = ""
        self.joining = False
        found: list[JoinableType] = []
        async with service_call(self) as call:
            event_id = parse_id(self.event_id)  # the event page's route argument
            if event_id is None:
                raise NotFound()
            found = waiting_list.joinable_types(call.session, event_id=event_id, now=call.now, locale=call.locale)
        self.choices = [] if call.failed else [JoinChoice(id=str(t.id), name=t.name) for t in found]

    @rx.event
    async def join(self, form_data: dict[str, str]):
        if self.joining or not self.choices:
            return
        self.join_error = ""
        email = (form_data.get("email") or "")[:320]
        if refused := await refused_by_limit(self, ratelimit.WAITING_LIST, account=f"email:{email.strip().lower()}"):
            yield refused
            return
        type_id = parse_id(form_data.get("ticket_type_id") or self.choices[0].id)
        event_id = parse_id(self.event_id)  # the event page's route argument
        self.joining = True
        yield
        async with service_call(self) as call:
            if type_id is None or event_id is None:
                raise NotFound()
            entry = waiting_list.join_waiting_list(
                call.session,
                event_id=event_id,
                ticket_type_id=type_id,
                email=email,
                name=(form_data.get("name") or "")[:300],
                locale=call.locale,
                now=call.now,
            )
        self.joining = False
        if call.failed:
            self.join_error = call.error
            return
        yield rx.redirect(routes.waiting_list_url(entry.token))


class WaitingListStatusState(LocalizedState, rx.State):
    """`/waiting-list/[waiting_token]`: the route gives this state the `waiting_token` var."""

    loaded: bool = False
    not_found: bool = False
    buy_error: str = ""
    buying: bool = False
    # Checkout questions' errors, by field key ("<question id>:<ticket index>"), as on the event page.
    answer_errors: dict[str, str] = {}
    _entry: WaitingEntryView | None = None
    _questions: list[dict] = []  # the event's checkout questions (plain data, state/questions.py)

    @rx.var
    def state_name(self) -> str:
        return self._entry.state.value if self._entry else ""

    @rx.var
    def event_title(self) -> str:
        return self._entry.event_title if self._entry else ""

    @rx.var
    def event_link(self) -> str:
        return routes.event_url(self._entry.event_id) if self._entry else routes.HOME

    @rx.var
    def price(self) -> str:
        entry = self._entry
        if entry is None:
            return ""
        locale = self._display_locale()
        if entry.price_minor == 0:
            return translate("event.free", locale)
        return format_money(entry.price_minor, entry.currency, locale)

    @rx.var
    def status_text(self) -> str:
        entry = self._entry
        if entry is None:
            return ""
        locale = self._display_locale()
        expires = format_datetime(entry.offer_expires_at, "UTC", locale) if entry.offer_expires_at else ""
        return translate(
            f"waiting_list.status.{entry.state.value}",
            locale,
            position=entry.position or 0,
            ticket_type=entry.ticket_type,
            expires=expires,
        )

    @rx.var
    def question_fields(self) -> list[QuestionFieldView]:
        """The checkout questions for the offer's one ticket: per order, then per ticket."""
        return checkout_fields(self._slots(), locale=self._display_locale(), errors=self.answer_errors)

    def _slots(self) -> list[Slot]:
        """Every field the offer's order (one ticket of the offered type) asks."""
        entry = self._entry
        if entry is None:
            return []
        return checkout_slots(self._questions, [(str(entry.ticket_type_id), entry.ticket_type)])

    def _answers(self, form_data: dict) -> list[AnswerIn]:
        return checkout_answers(self._slots(), form_data)

    @rx.event
    async def load(self):
        self.loaded = False
        self.not_found = False
        self.buy_error = ""
        self.buying = False
        self.answer_errors = {}
        self._entry = None
        self._questions = []
        async with service_call(self) as call:
            entry = waiting_list.entry_status(call.session, token=self.waiting_token, locale=call.locale)
            self._entry = entry
            self._questions = [question_data(q) for q in active_questions(call.session, entry.event_id)]
        self.not_found = call.failed
        self.loaded = True

    @rx.event
    async def buy(self, form_data: dict[str, str]):
        """Turn the offer into an order for its held seat and go to the order page to pay."""
        if self.buying or self._entry is None:
            return
        self.buy_error = ""
        self.answer_errors = {}
        self.buying = True
        yield
        async with service_call(self) as call:
            placed = waiting_list.buy_offer(
                call.session,
                token=self.waiting_token,
                phone=(form_data.get("phone") or "")[:64],
                name=(form_data.get("name") or "")[:300],
                user=call.user,
                provider=active_provider(),
                answers=self._answers(form_data),
                now=call.now,
            )
            order_id, token = placed.order.id, placed.access_token
            if placed.order.total_minor > 0 and placed.payment is None:
                payment = start_payment(call.session, order_id=order_id, now=call.now, access_token=token)
                yield rx.redirect(payment.checkout_url)
                return
        self.buying = False
        if call.failed:
            self.answer_errors = answer_errors(call.failure, call.error)  # a refused answer: beside its field too
            self.buy_error = call.error
            return
        yield rx.redirect(routes.order_url(order_id, token))
