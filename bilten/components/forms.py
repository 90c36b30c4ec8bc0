"""Labelled form fields: a label tied to its control by id, the control, an optional hint below."""

from __future__ import annotations

import reflex as rx


def _labelled(label: rx.Var[str], control: rx.Component, input_id: str, hint: rx.Var[str] | None) -> rx.Component:
    parts = [rx.el.label(rx.text(label, size="2", weight="medium"), html_for=input_id), control]
    if hint is not None:
        parts.append(rx.text(hint, size="1", color_scheme="gray"))
    return rx.vstack(*parts, spacing="1", width="100%")


def field(
    label: rx.Var[str], name: str, *, type_: str = "text", hint: rx.Var[str] | None = None, **props
) -> rx.Component:
    """A label, an input (id `field-<name>` unless given) and an optional hint below it."""
    input_id = props.pop("id", f"field-{name}")
    return _labelled(
        label, rx.input(name=name, id=input_id, type=type_, size="3", width="100%", **props), input_id, hint
    )


def text_area_field(
    label: rx.Var[str], name: str, *, rows: str, hint: rx.Var[str] | None = None, **props
) -> rx.Component:
    """A label, a text area (id `field-<name>` unless given) and an optional hint below it."""
    input_id = props.pop("id", f"field-{name}")
    return _labelled(label, rx.text_area(name=name, id=input_id, rows=rows, width="100%", **props), input_id, hint)
