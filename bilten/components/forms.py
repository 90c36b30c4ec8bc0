"""Labelled form fields."""

from __future__ import annotations

import reflex as rx


def field(
    label: rx.Var[str], name: str, *, type_: str = "text", hint: rx.Var[str] | None = None, **props
) -> rx.Component:
    """A label, an input (id `field-<name>` unless given) and an optional hint below it."""
    input_id = props.pop("id", f"field-{name}")
    parts = [
        rx.el.label(rx.text(label, size="2", weight="medium"), html_for=input_id),
        rx.input(name=name, id=input_id, type=type_, size="3", width="100%", **props),
    ]
    if hint is not None:
        parts.append(rx.text(hint, size="1", color_scheme="gray"))
    return rx.vstack(*parts, spacing="1", width="100%")
