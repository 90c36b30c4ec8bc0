"""A status as a coloured badge (order, ticket, event, export, account), the same colour everywhere."""

from __future__ import annotations

import reflex as rx

STATUS_COLORS = (
    ("published", "green"),
    ("paid", "green"),
    ("valid", "green"),
    ("done", "green"),
    ("active", "green"),
    ("pending", "amber"),
    ("queued", "amber"),
    ("running", "blue"),
    ("refunded", "purple"),
    ("cancelled", "red"),
    ("failed", "red"),
    ("disabled", "red"),
    ("draft", "gray"),
    ("expired", "gray"),
    ("reissued", "gray"),
)


def status_badge(label: rx.Var[str], status: rx.Var[str] | str, **props) -> rx.Component:
    """`label` in the reader's language; `status` is the machine value (tests read `data-status`)."""
    return rx.badge(
        label,
        color_scheme=rx.match(status, *STATUS_COLORS, "gray"),
        variant="soft",
        custom_attrs={"data-status": status},
        **props,
    )
