"""A checkout question's field (text, number, choice, multiple choice, yes/no, date, country, phone):
its label with the required mark, its control and its error. Used by the checkout and by the order
page (a buyer changing answers). Fields are uncontrolled: the form's submit reads them."""

from __future__ import annotations

import reflex as rx

from bilten.state.i18n import LocaleState

NATIVE_CONTROL = {
    "padding": "0.5em",
    "border": "1px solid var(--gray-7)",
    "border_radius": "var(--radius-2)",
    "background": "var(--color-surface)",
    "color": "var(--gray-12)",
    "width": "100%",
    "min_height": "44px",
}


def _select(f, placeholder: rx.Var[str]) -> rx.Component:  # noqa: ANN001 - an ObjectVar of QuestionFieldView
    return rx.el.select(
        rx.el.option(placeholder, value=""),
        rx.foreach(f.options, lambda option: rx.el.option(option[1], value=option[0])),
        name=f.name,
        id=f.name,
        default_value=f.value,
        aria_required=f.required,
        style=NATIVE_CONTROL,
    )


def _check(name, text, checked) -> rx.Component:  # noqa: ANN001
    return rx.el.label(
        rx.flex(
            rx.el.input(
                type="checkbox",
                name=name,
                value="yes",
                id=name,
                default_checked=checked,
                style={"width": "20px", "height": "20px"},
            ),
            rx.text(text, size="2"),
            spacing="2",
            align="center",
        ),
        html_for=name,
        style={"min_height": "44px", "display": "flex", "align_items": "center"},
    )


def question_field(f) -> rx.Component:  # noqa: ANN001 - an ObjectVar of QuestionFieldView
    """One checkout question: its label (required marked), its control, its error."""
    required_mark = rx.cond(
        f.required, rx.text(" ", LocaleState.t["question.required_mark"], as_="span", color_scheme="gray")
    )
    label = rx.el.label(rx.text(f.label, required_mark, size="2", weight="medium"), html_for=f.name)
    text_input = {
        "name": f.name,
        "id": f.name,
        "default_value": f.value,
        "size": "3",
        "width": "100%",
        "aria_required": f.required,
    }
    control = rx.match(
        f.kind,
        ("choice", rx.vstack(label, _select(f, LocaleState.t["question.choose"]), spacing="1", width="100%")),
        ("country", rx.vstack(label, _select(f, LocaleState.t["question.choose"]), spacing="1", width="100%")),
        (
            "multiple_choice",
            rx.el.fieldset(
                rx.el.legend(rx.text(f.label, required_mark, size="2", weight="medium")),
                rx.foreach(f.options, lambda option: _check(option[0], option[1], option[2] == "yes")),
                id=f.name,
                style={"border": "none", "padding": "0", "margin": "0"},
            ),
        ),
        ("yes_no", _check(f.name, rx.text(f.label, required_mark, as_="span"), f.value == "yes")),
        ("date", rx.vstack(label, rx.input(type="date", dir="ltr", **text_input), spacing="1", width="100%")),
        (
            "number",
            rx.vstack(
                label,
                rx.input(type="text", input_mode="decimal", max_length=30, dir="ltr", **text_input),
                spacing="1",
                width="100%",
            ),
        ),
        (
            "phone",
            rx.vstack(
                label,
                rx.input(type="tel", auto_complete="tel", max_length=30, dir="ltr", **text_input),
                spacing="1",
                width="100%",
            ),
        ),
        rx.vstack(label, rx.input(type="text", max_length=1000, **text_input), spacing="1", width="100%"),
    )
    return rx.vstack(
        rx.cond(f.heading != "", rx.heading(f.heading, size="3", as_="h4", margin_top="0.5em")),
        control,
        rx.cond(f.error != "", rx.text(f.error, color_scheme="red", size="2", role="alert", class_name="answer-error")),
        spacing="1",
        width="100%",
    )
