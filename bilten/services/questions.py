"""Questions at checkout: organizers ask (attendee name, t-shirt size, consent...), buyers answer.

Guarantees:
- Answers are checked before a seat is taken, in the order's own transaction (`check_answers` is
  called by `orders/placing.py` right after the ticket types are loaded): a refused answer leaves no
  order and takes no seat. Every refusal is `InvalidAnswer` (422) naming the question.
- Each kind has one rule (`clean_value`): text (at most 1000 characters), number (a decimal),
  choice (one of the options), multiple choice (a subset), yes/no (a boolean; a required yes/no is a
  consent and must be yes), date (ISO), country (ISO 3166 alpha-2), phone (international, +digits).
- A question with answers is never deleted: `delete_question` retires it (`deleted_at`), so it is
  no longer asked but its answers stay on the order page, in the back office and in exports.
- Buyers (the order's account or its signed link) change their answers until the event starts,
  when the organizer allows it for that question; organizers only see their events' answers
  (`services/access.py`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, Protocol

from babel import Locale
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func
from sqlmodel import Session, col, select

from bilten import cache as shared_cache
from bilten.models import (
    Answer,
    Event,
    EventStatus,
    Order,
    OrderStatus,
    Question,
    QuestionKind,
    Ticket,
    TicketType,
    User,
)
from bilten.services.access import Permission, authorize
from bilten.services.audit import record_audit
from bilten.services.errors import BiltenError, EventCancelled, NotFound, ValidationFailed
from bilten.services.order_access import may_view_order, order_access_token
from bilten.services.security import tokens_equal
from bilten.services.text import clean_text
from bilten.services.transaction import transaction

MAX_QUESTIONS = 50
LABEL_MAX = 300
OPTION_MAX = 200
MAX_OPTIONS = 50
TEXT_MAX = 1000
MAX_ANSWERS = 2000  # 100 tickets x 20 questions: absurd input stays cheap
ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
PHONE_DIGITS = re.compile(r"^\+[1-9][0-9]{6,14}$")
ORDER_TO_COME = uuid.UUID(int=0)
CHOICE_KINDS = frozenset({QuestionKind.CHOICE, QuestionKind.MULTIPLE_CHOICE})


class InvalidAnswer(BiltenError):
    """An answer that is missing or does not fit its question: 422, naming the question."""

    code = "invalid_answer"
    key = "question.error.invalid"
    status = 422

    def __init__(self, question: Question, key: str, *, ticket_index: int | None = None, **params: object) -> None:
        super().__init__(key, label=question.label, **params)
        self.key = key
        self.question_id = question.id
        self.ticket_index = ticket_index
        self.extra = {
            "question_id": str(question.id),
            "question": question.label,
            "ticket_index": ticket_index,
        }


class UnknownQuestion(BiltenError):
    code = "invalid_answer"
    key = "question.error.unknown"
    status = 422


class AnswersLocked(BiltenError):
    code = "answers_locked"
    key = "question.error.locked"
    status = 409


@dataclass(frozen=True)
class QuestionFields:
    """What an organizer sends; None leaves a value as it is (on update)."""

    label: str | None = None
    kind: str | None = None
    options: list[str] | None = None
    required: bool | None = None
    per_ticket: bool | None = None
    ticket_type_ids: list[uuid.UUID] | None = None
    allow_buyer_edit: bool | None = None


@dataclass(frozen=True)
class AnswerIn:
    question_id: uuid.UUID
    value: Any
    ticket_index: int | None = None


class QuestionView(BaseModel):
    """A question as the API returns it."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    event_id: uuid.UUID
    label: str
    kind: str
    options: list[str]
    required: bool
    per_ticket: bool
    ticket_type_ids: list[uuid.UUID]
    position: int
    allow_buyer_edit: bool


def question_view(q: Question) -> QuestionView:
    return QuestionView(
        id=q.id,
        event_id=q.event_id,
        label=q.label,
        kind=q.kind.value,
        options=list(q.options),
        required=q.required,
        per_ticket=q.per_ticket,
        ticket_type_ids=[uuid.UUID(t) for t in q.ticket_type_ids],
        position=q.position,
        allow_buyer_edit=q.allow_buyer_edit,
    )


class AnswerView(BaseModel):
    """One answer with its question, as the API returns it (`question` is the label); the form's
    own details (options, required, ...) stay out of the JSON."""

    model_config = ConfigDict(frozen=True)

    question_id: uuid.UUID
    label: str = Field(serialization_alias="question")
    kind: str
    ticket_index: int | None
    ticket_id: uuid.UUID | None
    value: Any
    editable: bool
    retired: bool = False
    options: list[str] = Field(exclude=True)
    required: bool = Field(exclude=True)
    per_ticket: bool = Field(exclude=True)
    ticket_type_id: uuid.UUID | None = Field(exclude=True)
    display: str = Field(default="", exclude=True)


@dataclass
class CheckoutSlot:
    """One field of the checkout form: a question for the order, or for one ticket."""

    question: Question
    ticket_index: int | None = None
    ticket_type_id: uuid.UUID | None = None
    ticket_type_name: str = ""
    answers: list[Any] = field(default_factory=list)


# --- the rules, one per kind ---------------------------------------------------------------------


@cache
def country_codes() -> frozenset[str]:
    """ISO 3166 alpha-2 codes Babel names (regions like "001" and the "ZZ" unknown left out)."""
    codes = (str(code) for code in Locale("en").territories)
    return frozenset(code for code in codes if len(code) == 2 and code.isalpha() and code != "ZZ")


def country_name(code: str, locale: str) -> str:
    try:
        return Locale.parse(locale.replace("-", "_")).territories.get(code, code)
    except (ValueError, TypeError):
        return code


def country_choices(locale: str) -> list[tuple[str, str]]:
    """(code, name in the reader's language), sorted by name."""
    names = Locale.parse(locale.replace("-", "_")).territories
    return sorted(((code, names.get(code, code)) for code in country_codes()), key=lambda pair: pair[1].casefold())


def normalize_phone(raw: str) -> str | None:
    """+4930123456 from "+49 (30) 123-456", "0049 30 123456"; None when it is no international number."""
    value = re.sub(r"[\s().\-/]", "", raw)
    if value.startswith("00"):
        value = "+" + value[2:]
    return value if PHONE_DIGITS.match(value) else None


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def clean_value(question: Question, value: Any, *, ticket_index: int | None = None) -> Any:
    """The answer as stored, or InvalidAnswer. An empty value is "no answer": None, or refused
    when the question is required. A required yes/no is a consent: only yes counts."""
    kind = question.kind

    def refuse(key: str, **params: object) -> InvalidAnswer:
        return InvalidAnswer(question, key, ticket_index=ticket_index, **params)

    if kind == QuestionKind.YES_NO:
        if value in (None, ""):
            if question.required:
                raise refuse("question.error.required")
            return None
        if isinstance(value, str) and value.lower() in ("true", "yes", "false", "no"):
            value = value.lower() in ("true", "yes")
        if not isinstance(value, bool):
            raise refuse("question.error.yes_no")
        if question.required and value is not True:
            raise refuse("question.error.consent")
        return value
    if is_empty(value):
        if question.required:
            raise refuse("question.error.required")
        return None
    if kind == QuestionKind.MULTIPLE_CHOICE:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise refuse("question.error.multiple_choice")
        if len(set(value)) != len(value) or not set(value) <= set(question.options):
            raise refuse("question.error.multiple_choice")
        return [option for option in question.options if option in value]  # the organizer's order
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise refuse(f"question.error.{kind.value}")
    text = str(value).strip()
    if kind == QuestionKind.TEXT:
        try:
            return clean_text(text, max_length=TEXT_MAX, multiline=True)
        except ValidationFailed:
            raise refuse("question.error.text_too_long", max=TEXT_MAX) from None
    if kind == QuestionKind.NUMBER:
        try:
            number = Decimal(text.replace(",", ".")) if len(text) <= 30 else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise refuse("question.error.number")
        return format(number.normalize() if number != number.to_integral() else number.to_integral(), "f")
    if kind == QuestionKind.CHOICE:
        if text not in question.options:
            raise refuse("question.error.choice")
        return text
    if kind == QuestionKind.DATE:
        try:
            if not ISO_DATE.match(text):
                raise ValueError(text)
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise refuse("question.error.date") from None
    if kind == QuestionKind.COUNTRY:
        code = text.upper()
        if code not in country_codes():
            raise refuse("question.error.country")
        return code
    if kind == QuestionKind.PHONE:
        phone = normalize_phone(text)
        if phone is None:
            raise refuse("question.error.phone")
        return phone
    raise refuse("question.error.invalid")  # pragma: no cover - every kind is handled above


class Asked(Protocol):
    """What `display_value` needs of a question: its kind (a Question, an AnswerView, a door answer)."""

    @property
    def kind(self) -> str: ...


def display_value(question: Asked, value: Any, locale: str, *, yes: str, no: str) -> str:
    """An answer as people read it (country names in their language, yes/no translated)."""
    if value is None:
        return ""
    if question.kind == QuestionKind.YES_NO:
        return yes if value else no
    if question.kind == QuestionKind.COUNTRY:
        return country_name(str(value), locale)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


# --- organizers ------------------------------------------------------------------------------


def _clean_fields(session: Session, event: Event, fields: QuestionFields, current: Question | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if fields.label is not None or current is None:
        try:
            label = clean_text(fields.label or "", max_length=LABEL_MAX)
        except ValidationFailed:
            label = ""
        if not label:
            raise ValidationFailed("question.error.label", max=LABEL_MAX)
        values["label"] = label
    if fields.kind is not None or current is None:
        try:
            values["kind"] = QuestionKind(fields.kind or "")
        except ValueError:
            raise ValidationFailed("question.error.kind", kind=str(fields.kind or "")[:40]) from None
    kind = values.get("kind") or (current.kind if current else None)
    if fields.options is not None or current is None or "kind" in values:
        options = fields.options if fields.options is not None else (current.options if current else [])
        values["options"] = _clean_options(kind, options)
    for name in ("required", "per_ticket", "allow_buyer_edit"):
        if getattr(fields, name) is not None:
            values[name] = bool(getattr(fields, name))
    if fields.ticket_type_ids is not None:
        known = set(session.exec(select(TicketType.id).where(TicketType.event_id == event.id)).all())
        if not set(fields.ticket_type_ids) <= known:
            raise ValidationFailed("question.error.ticket_types")
        values["ticket_type_ids"] = sorted({str(type_id) for type_id in fields.ticket_type_ids})
    return values


def _clean_options(kind: QuestionKind | None, options: list[str]) -> list[str]:
    if kind not in CHOICE_KINDS:
        if options:
            raise ValidationFailed("question.error.no_options")
        return []
    cleaned = []
    for option in options:
        try:
            text = clean_text(option if isinstance(option, str) else "", max_length=OPTION_MAX)
        except ValidationFailed:
            text = ""
        if not text or text in cleaned:
            raise ValidationFailed("question.error.options", max=MAX_OPTIONS, length=OPTION_MAX)
        cleaned.append(text)
    if not 1 <= len(cleaned) <= MAX_OPTIONS:
        raise ValidationFailed("question.error.options", max=MAX_OPTIONS, length=OPTION_MAX)
    return cleaned


def _event_for_managing(session: Session, actor: User | None, event_id: uuid.UUID) -> tuple[User, Event]:
    user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
    event = session.get(Event, event_id)
    assert event is not None  # authorize answered NotFound otherwise
    return user, event


def _refuse_cancelled(event: Event) -> None:
    if event.status == EventStatus.CANCELLED:
        raise EventCancelled()


def _question_of(session: Session, event_id: uuid.UUID, question_id: uuid.UUID) -> Question:
    question = session.get(Question, question_id)
    if question is None or question.event_id != event_id or question.deleted_at is not None:
        raise NotFound()
    return question


def create_question(
    session: Session, *, actor: User | None, event_id: uuid.UUID, fields: QuestionFields, now: datetime
) -> Question:
    with transaction(session):
        user, event = _event_for_managing(session, actor, event_id)
        _refuse_cancelled(event)
        values = _clean_fields(session, event, fields, None)
        count, last = session.exec(
            select(func.count(), func.max(Question.position)).where(
                Question.event_id == event_id, col(Question.deleted_at).is_(None)
            )
        ).one()
        if count >= MAX_QUESTIONS:
            raise ValidationFailed("question.error.too_many", max=MAX_QUESTIONS)
        question = Question(event_id=event_id, position=(last or 0) + 1 if count else 0, created_at=now, **values)
        session.add(question)
        _audit(session, "question.created", question, user=user, event=event, now=now)
    shared_cache.delete(asks_questions_key(event_id))  # the door's "no questions here" (door_answers.py)
    return question


def asks_questions_key(event_id: uuid.UUID) -> str:
    return f"event-asks-questions:{event_id}"


def update_question(
    session: Session,
    *,
    actor: User | None,
    event_id: uuid.UUID,
    question_id: uuid.UUID,
    fields: QuestionFields,
    now: datetime,
) -> Question:
    """Change a question. Answers already given stay as they were (an order is not re-checked)."""
    with transaction(session):
        user, event = _event_for_managing(session, actor, event_id)
        _refuse_cancelled(event)
        question = _question_of(session, event_id, question_id)
        for name, value in _clean_fields(session, event, fields, question).items():
            setattr(question, name, value)
        session.add(question)
        _audit(session, "question.updated", question, user=user, event=event, now=now)
    return question


def delete_question(
    session: Session, *, actor: User | None, event_id: uuid.UUID, question_id: uuid.UUID, now: datetime
) -> None:
    """No longer asked. Without answers the question goes; with answers it is retired and its
    answers stay visible (order page, back office, exports)."""
    with transaction(session):
        user, event = _event_for_managing(session, actor, event_id)
        question = _question_of(session, event_id, question_id)
        rows = session.exec(select(Answer).where(Answer.question_id == question.id)).all()
        _audit(session, "question.deleted", question, user=user, event=event, now=now)
        if all(row.value is None for row in rows):  # asked but never answered: nothing to keep
            for row in rows:
                session.delete(row)
            session.flush()
            session.delete(question)
        else:
            question.deleted_at = now
            session.add(question)


def list_questions(session: Session, *, actor: User | None, event_id: uuid.UUID) -> list[Question]:
    """The questions an event asks, for its organizers (managers and viewers)."""
    with transaction(session):
        authorize(session, actor, Permission.EVENT_VIEW, event_id=event_id)
        return active_questions(session, event_id)


def active_questions(session: Session, event_id: uuid.UUID) -> list[Question]:
    return list(
        session.exec(
            select(Question)
            .where(Question.event_id == event_id, col(Question.deleted_at).is_(None))
            .order_by(col(Question.position), col(Question.created_at))
        ).all()
    )


def _audit(session: Session, action: str, question: Question, *, user: User, event: Event, now: datetime) -> None:
    record_audit(
        session,
        action=action,
        object_type="question",
        object_id=question.id,
        now=now,
        actor_user_id=user.id,
        organization_id=event.organization_id,
        data={"event_id": str(event.id), "label": question.label, "kind": question.kind.value},
    )


# --- buyers -----------------------------------------------------------------------------------


def applies_to(question: Question, ticket_type_id: uuid.UUID) -> bool:
    return not question.ticket_type_ids or str(ticket_type_id) in question.ticket_type_ids


def checkout_slots(questions: Sequence[Question], tickets: Sequence[tuple[uuid.UUID, str]]) -> list[CheckoutSlot]:
    """The fields a checkout asks, in order: per-order questions once (when one of the chosen
    ticket types is concerned), then each ticket's questions. `tickets` is one (type id, type name)
    per ticket, in the order the buyer listed them (so "Ticket 2" is the second of them)."""
    type_ids = {type_id for type_id, _ in tickets}
    slots = [
        CheckoutSlot(question=q)
        for q in questions
        if not q.per_ticket and any(applies_to(q, type_id) for type_id in type_ids)
    ]
    for index, (type_id, type_name) in enumerate(tickets):
        slots.extend(
            CheckoutSlot(question=q, ticket_index=index, ticket_type_id=type_id, ticket_type_name=type_name)
            for q in questions
            if q.per_ticket and applies_to(q, type_id)
        )
    return slots


def check_answers(
    session: Session,
    event_id: uuid.UUID,
    tickets: Sequence[uuid.UUID],
    answers: Iterable[AnswerIn],
    *,
    active: list[Question] | None = None,
) -> list[Answer]:
    """The answers of a new order, checked against the event's questions (`active`, when the caller
    read them already): rows to add (their `order_id` still to set), or InvalidAnswer for the first
    missing or wrong one."""
    given = list(answers)
    if len(given) > MAX_ANSWERS:
        raise UnknownQuestion()
    questions = {q.id: q for q in (active_questions(session, event_id) if active is None else active)}
    slots = checkout_slots(list(questions.values()), [(type_id, "") for type_id in tickets])
    by_slot: dict[tuple[uuid.UUID, int | None], AnswerIn] = {}
    for answer in given:
        question = questions.get(answer.question_id)
        if question is None:
            raise UnknownQuestion()
        index = answer.ticket_index
        if question.per_ticket:
            if index is None or not 0 <= index < len(tickets):
                raise InvalidAnswer(question, "question.error.ticket_index", ticket_index=index)
            if not applies_to(question, tickets[index]):
                raise InvalidAnswer(question, "question.error.not_asked", ticket_index=index)
        elif index is not None:
            raise InvalidAnswer(question, "question.error.per_order", ticket_index=index)
        if (question.id, index) in by_slot:
            raise InvalidAnswer(question, "question.error.duplicate", ticket_index=index)
        by_slot[(question.id, index)] = answer
    asked = {(slot.question.id, slot.ticket_index) for slot in slots}
    for question_id, index in by_slot:
        if (question_id, index) not in asked:  # a question none of the chosen ticket types is asked
            raise InvalidAnswer(questions[question_id], "question.error.not_asked", ticket_index=index)
    rows = []
    for slot in slots:  # one row per field, answered or not: the order keeps its form for later edits
        given_answer = by_slot.get((slot.question.id, slot.ticket_index))
        value = clean_value(slot.question, given_answer.value if given_answer else None, ticket_index=slot.ticket_index)
        rows.append(
            Answer(
                order_id=ORDER_TO_COME,  # the caller sets it once the order exists
                question_id=slot.question.id,
                ticket_index=-1 if slot.ticket_index is None else slot.ticket_index,
                ticket_type_id=slot.ticket_type_id,
                value=value,
            )
        )
    return rows


def link_answers_to_tickets(session: Session, order: Order, tickets_by_type: dict[uuid.UUID, list[Ticket]]) -> None:
    """At issuing (in the caller's transaction): each per-ticket answer gets its ticket. The n-th
    ticket of a type (by the buyer's listing) is the n-th issued of that type."""
    with session.no_autoflush:
        stored = list(session.exec(select(Answer).where(Answer.order_id == order.id)).all())
    pending = [obj for obj in session.new if isinstance(obj, Answer) and obj.order_id == order.id]
    answers = [a for a in {id(a): a for a in stored + pending}.values() if a.ticket_type_id is not None]
    indexes: dict[uuid.UUID, list[int]] = {}
    for answer in answers:
        assert answer.ticket_type_id is not None
        indexes.setdefault(answer.ticket_type_id, [])
        if answer.ticket_index not in indexes[answer.ticket_type_id]:
            indexes[answer.ticket_type_id].append(answer.ticket_index)
    for type_id in indexes:
        indexes[type_id].sort()
    for answer in answers:
        assert answer.ticket_type_id is not None
        issued = tickets_by_type.get(answer.ticket_type_id, [])
        position = indexes[answer.ticket_type_id].index(answer.ticket_index)
        if position < len(issued):
            answer.ticket_id = issued[position].id
            session.add(answer)


def order_answers(session: Session, order: Order, *, now: datetime, include_retired: bool = True) -> list[AnswerView]:
    """An order's answers with their questions (retired ones too), in the form's order."""
    rows = session.exec(
        select(Answer, Question)
        .join(Question, col(Question.id) == col(Answer.question_id))
        .where(Answer.order_id == order.id)
        .order_by(col(Answer.ticket_index), col(Question.position), col(Question.created_at))
    ).all()
    return answer_views(rows, order, session.get(Event, order.event_id), now=now, include_retired=include_retired)


def answer_views(
    rows: Iterable[tuple[Answer, Question]], order: Order, event: Event | None, *, now: datetime, include_retired: bool
) -> list[AnswerView]:
    """(answer, question) pairs as the buyer reads them, in the form's order (no database: an order
    just placed shows the answers it holds in memory)."""
    rows = sorted(rows, key=lambda row: (row[0].ticket_index, row[1].position, row[1].created_at))
    open_for_edits = _buyer_may_edit(order, event, now=now)
    return [
        AnswerView(
            question_id=q.id,
            label=q.label,
            kind=q.kind.value,
            options=list(q.options),
            required=q.required,
            per_ticket=q.per_ticket,
            editable=open_for_edits and q.allow_buyer_edit and q.deleted_at is None,
            ticket_index=None if a.ticket_index < 0 else a.ticket_index,
            ticket_type_id=a.ticket_type_id,
            ticket_id=a.ticket_id,
            value=a.value,
            retired=q.deleted_at is not None,
        )
        for a, q in rows
        if include_retired or q.deleted_at is None
    ]


def read_order_answers(
    session: Session, *, order_id: uuid.UUID, user: User | None, access_token: str = "", now: datetime
) -> list[AnswerView]:
    """An order's answers, for its buyer (account or signed link) and the event's organizers; the
    same NotFound for "no such order" and "not yours"."""
    with transaction(session):
        order = session.get(Order, order_id)
        if order is None or not may_view_order(session, order, user=user, access_token=access_token):
            raise NotFound()
        return order_answers(session, order, now=now)


def ticket_answers(session: Session, ticket: Ticket) -> list[tuple[Question, Any]]:
    """A ticket's own answers and its order's per-order answers (the door's ticket detail)."""
    ids = [ticket.id]
    if ticket.replaces_ticket_id is not None:
        ids.append(ticket.replaces_ticket_id)  # a reissued ticket keeps the answers of the one it replaced
    rows = session.exec(
        select(Answer, Question)
        .join(Question, col(Question.id) == col(Answer.question_id))
        .where(Answer.order_id == ticket.order_id)
        .order_by(col(Question.position), col(Question.created_at))
    ).all()
    return [(q, a.value) for a, q in rows if a.ticket_index < 0 or a.ticket_id in ids]


def _buyer_may_edit(order: Order, event: Event | None, *, now: datetime) -> bool:
    return event is not None and now < event.starts_at and order.status in (OrderStatus.PENDING, OrderStatus.PAID)


def update_answers(
    session: Session,
    *,
    order_id: uuid.UUID,
    answers: Iterable[AnswerIn],
    user: User | None,
    access_token: str = "",
    now: datetime,
) -> list[AnswerView]:
    """The buyer (the order's account or its signed link, nobody else) changes some answers, until
    the event starts and only for questions the organizer lets buyers change."""
    given = list(answers)
    if len(given) > MAX_ANSWERS:
        raise UnknownQuestion()
    with transaction(session):
        order = session.get(Order, order_id)
        is_buyer = order is not None and (
            (access_token and tokens_equal(access_token, order_access_token(order.id)))
            or (user is not None and order.user_id == user.id)
        )
        if order is None or not is_buyer:
            raise NotFound()  # the same answer for "no such order" and "not yours"
        event = session.get(Event, order.event_id)
        if not _buyer_may_edit(order, event, now=now):
            raise AnswersLocked()
        questions = {q.id: q for q in active_questions(session, order.event_id)}
        existing = {
            (a.question_id, a.ticket_index): a
            for a in session.exec(select(Answer).where(Answer.order_id == order.id)).all()
        }
        for answer in given:
            question = questions.get(answer.question_id)
            if question is None:
                raise UnknownQuestion()
            if not question.allow_buyer_edit:
                raise InvalidAnswer(question, "question.error.not_editable", ticket_index=answer.ticket_index)
            row = existing.get((question.id, -1 if answer.ticket_index is None else answer.ticket_index))
            if row is None:  # not a field of this order's form (a question added later, a wrong ticket)
                raise InvalidAnswer(question, "question.error.not_asked", ticket_index=answer.ticket_index)
            row.value = clean_value(question, answer.value, ticket_index=answer.ticket_index)
            row.updated_at = now
            session.add(row)
        record_audit(
            session,
            action="order.answers_changed",
            object_type="order",
            object_id=order.id,
            now=now,
            actor_user_id=user.id if user else None,
            data={"questions": sorted({str(a.question_id) for a in given})},
        )
    with transaction(session):
        return order_answers(session, order, now=now)
