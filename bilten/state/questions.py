"""Checkout questions in the browser: the field a question shows (checkout and order page) and the
answer read back from a submitted form. Display only: the rules are in services/questions.py."""

from __future__ import annotations

import dataclasses
from typing import Any

from bilten.i18n import translate
from bilten.services.questions import country_choices


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
