"""Checkout questions in the browser: the field a question shows (checkout and order page) and the
answer read back from a submitted form. Display only: the rules are in services/questions.py.

The questions asked at checkout (the event page and the waiting list's offer page) go through the
same steps: `question_data` once at load, then `checkout_slots` for the tickets being bought, which
`checkout_fields` shows and `checkout_answers` reads back; `answer_errors` puts a refusal beside
its field."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from bilten.i18n import translate
from bilten.ids import parse_id
from bilten.services.questions import AnswerIn, InvalidAnswer, country_choices

if TYPE_CHECKING:
    from bilten.models import Question

# (question as plain data, the ticket's index or -1 for the order, the ticket's type name or "")
Slot = tuple[dict, int, str]


@dataclasses.dataclass(frozen=True)
class QuestionFieldView:
    """One form field: a question asked for the order, or for one ticket."""

    key: str  # "<question id>:<ticket index>" ("-1" for the order), as errors name it
    name: str  # the form field's name
    heading: str  # "Ticket 2 — General" above a ticket's first field, else ""
    label: str
    kind: str
    required: bool
    options: list[list[str]]  # [field name or value, label, "yes" when checked]: choices, countries, check boxes
    error: str
    value: str = ""  # what the field starts with ("yes" for a ticked yes/no)


def field_name(question_id: str, index: int) -> str:
    return f"answer__{question_id.replace('-', '')}__{index if index >= 0 else 'o'}"


def field_view(
    question: dict, index: int, *, heading: str, locale: str, error: str = "", value: Any = None
) -> QuestionFieldView:
    """`question` as plain data: id, label, kind, options, required."""
    name = field_name(question["id"], index)
    kind = question["kind"]
    chosen = value if isinstance(value, list) else []
    if kind == "country":
        options = [[code, label, ""] for code, label in country_choices(locale)]
    elif kind == "multiple_choice":
        options = [[f"{name}__{n}", o, "yes" if o in chosen else ""] for n, o in enumerate(question["options"])]
    else:
        options = [[o, o, ""] for o in question["options"]]
    if kind == "yes_no":
        start = "yes" if value is True else ""
    else:
        start = "" if value is None or isinstance(value, list) else str(value)
    return QuestionFieldView(
        key=f"{question['id']}:{index}",
        name=name,
        heading=heading,
        label=question["label"],
        kind=kind,
        required=question["required"],
        options=options,
        error=error,
        value=start,
    )


def ticket_heading(index: int, type_name: str, locale: str) -> str:
    return translate("checkout.questions.ticket", locale, number=index + 1, type=type_name)


def read_answer(form_data: dict, question: dict, index: int) -> Any:
    """The submitted value of a question's field, as the service expects it."""
    name = field_name(question["id"], index)
    if question["kind"] == "multiple_choice":
        return [o for n, o in enumerate(question["options"]) if form_data.get(f"{name}__{n}")]
    if question["kind"] == "yes_no":
        return bool(form_data.get(name))
    return form_data.get(name, "")


def question_data(question: Question) -> dict:
    """A checkout question as plain data for a state's backend var (`types`: empty for every type)."""
    return {
        "id": str(question.id),
        "label": question.label,
        "kind": question.kind.value,
        "options": list(question.options),
        "required": question.required,
        "per_ticket": question.per_ticket,
        "types": list(question.ticket_type_ids),
    }


def checkout_slots(questions: list[dict], tickets: list[tuple[str, str]]) -> list[Slot]:
    """Every field an order of `tickets` ((type id, type name) for each ticket, in order) asks: the
    per-order questions of any of its types once, then each ticket's questions."""
    type_ids = {type_id for type_id, _ in tickets}
    slots: list[Slot] = [
        (q, -1, "")
        for q in questions
        if not q["per_ticket"] and any(not q["types"] or t in q["types"] for t in type_ids)
    ]
    for index, (type_id, type_name) in enumerate(tickets):
        slots.extend(
            (q, index, type_name) for q in questions if q["per_ticket"] and (not q["types"] or type_id in q["types"])
        )
    return slots


def checkout_fields(slots: list[Slot], *, locale: str, errors: dict[str, str]) -> list[QuestionFieldView]:
    """The slots' form fields, a "Ticket 2 — General" heading above each ticket's first one."""
    fields = []
    last_heading = None
    for question, index, type_name in slots:
        heading = ""
        if index >= 0 and index != last_heading:
            heading, last_heading = ticket_heading(index, type_name, locale), index
        error = errors.get(f"{question['id']}:{index}", "")
        fields.append(field_view(question, index, heading=heading, locale=locale, error=error))
    return fields


def checkout_answers(slots: list[Slot], form_data: dict) -> list[AnswerIn]:
    """The submitted answers to the slots' fields, as the service takes them."""
    return [
        AnswerIn(
            question_id=parse_id(question["id"]),
            value=read_answer(form_data, question, index),
            ticket_index=index if index >= 0 else None,
        )
        for question, index, _ in slots
    ]


def answer_errors(failure: Exception | None, message: str) -> dict[str, str]:
    """A refused answer's message by its field key, to show beside the field ({} for other failures)."""
    if not isinstance(failure, InvalidAnswer):
        return {}
    index = -1 if failure.ticket_index is None else failure.ticket_index
    return {f"{failure.question_id}:{index}": message}
