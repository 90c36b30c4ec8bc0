"""Boxes for refusals and errors, always in the reader's language."""

from __future__ import annotations

import reflex as rx

from bilten import routes
from bilten.state.i18n import LocaleState


def forbidden_box() -> rx.Component:
    """What a signed-in user sees on a page their role does not open."""
    return rx.callout.root(
        rx.callout.icon(rx.icon("shield-alert")),
        rx.vstack(
            rx.text(LocaleState.t["access.denied_title"], weight="bold"),
            rx.text(LocaleState.t["error.forbidden"]),
            rx.text(LocaleState.t["access.denied_hint"], size="2"),
            spacing="1",
        ),
        color_scheme="red",
        role="alert",
        id="forbidden",
        width="100%",
    )


def not_found_box() -> rx.Component:
    return rx.vstack(
        rx.callout.root(
            rx.callout.icon(rx.icon("circle-help")),
            rx.vstack(
                rx.text(LocaleState.t["access.not_found_title"], weight="bold"),
                rx.text(LocaleState.t["error.not_found"]),
                spacing="1",
            ),
            color_scheme="amber",
            role="alert",
            id="not-found",
            width="100%",
        ),
        rx.link(LocaleState.t["common.back_home"], href=routes.HOME),
        spacing="4",
        width="100%",
    )


def error_text(message: rx.Var[str], **props) -> rx.Component:
    """A form's error line: shown only when there is a message."""
    return rx.cond(
        message != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("triangle-alert")),
            rx.callout.text(message),
            color_scheme="red",
            role="alert",
            size="1",
            **props,
        ),
    )
