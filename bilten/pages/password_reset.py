"""`/forgot-password` (ask for a reset link) and `/reset-password?token=` (choose a new password)."""

from __future__ import annotations

import reflex as rx

from bilten import routes
from bilten.components.forms import field
from bilten.components.layout import page_shell
from bilten.components.notice import error_text
from bilten.services.validation import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from bilten.state.i18n import LocaleState
from bilten.state.password_reset import PasswordResetState


def _card(*children: rx.Component) -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(*children, spacing="4", width="100%"),
            size="4",
            width="100%",
            max_width="28rem",
        ),
    )


def _login_link() -> rx.Component:
    return rx.link(
        rx.button(LocaleState.t["reset.to_login"], size="3", width="100%"),
        href=routes.LOGIN,
        id="to-login",
        width="100%",
    )


def forgot_password_page() -> rx.Component:
    return page_shell(
        _card(
            rx.heading(LocaleState.t["forgot.title"], size="7", as_="h1"),
            rx.cond(
                PasswordResetState.requested,
                rx.callout.root(
                    rx.callout.icon(rx.icon("mail-check")),
                    rx.callout.text(LocaleState.t["forgot.sent"]),
                    color_scheme="green",
                    role="status",
                    id="reset-requested",
                ),
                rx.form(
                    rx.vstack(
                        rx.text(LocaleState.t["forgot.subtitle"], color_scheme="gray"),
                        field(
                            LocaleState.t["login.email"],
                            "email",
                            type_="email",
                            auto_complete="username",
                            required=True,
                            dir="ltr",
                        ),
                        rx.button(
                            LocaleState.t["forgot.submit"], type="submit", size="3", width="100%", id="forgot-submit"
                        ),
                        spacing="4",
                        width="100%",
                    ),
                    on_submit=PasswordResetState.request_reset,
                    reset_on_submit=False,
                    id="forgot-form",
                ),
            ),
            rx.link(LocaleState.t["forgot.back_to_login"], href=routes.LOGIN, size="2"),
        ),
        page="forgot-password",
        loaded=PasswordResetState.loaded,
    )


def reset_password_page() -> rx.Component:
    return page_shell(
        _card(
            rx.heading(LocaleState.t["reset.title"], size="7", as_="h1"),
            rx.cond(
                PasswordResetState.reset_done,
                rx.vstack(
                    rx.callout.root(
                        rx.callout.icon(rx.icon("circle-check")),
                        rx.callout.text(LocaleState.t["reset.done"]),
                        color_scheme="green",
                        role="status",
                        id="reset-done",
                    ),
                    _login_link(),
                    spacing="4",
                    width="100%",
                ),
                rx.cond(
                    PasswordResetState.has_token,
                    rx.form(
                        rx.vstack(
                            rx.text(LocaleState.t["reset.subtitle"], color_scheme="gray"),
                            error_text(PasswordResetState.reset_error, id="reset-error", width="100%"),
                            field(
                                LocaleState.t["account.new_password"],
                                "new_password",
                                type_="password",
                                auto_complete="new-password",
                                required=True,
                                min_length=PASSWORD_MIN_LENGTH,
                                max_length=PASSWORD_MAX_LENGTH,
                            ),
                            field(
                                LocaleState.t["account.new_password_confirm"],
                                "new_password_confirm",
                                type_="password",
                                auto_complete="new-password",
                                required=True,
                            ),
                            rx.button(
                                LocaleState.t["reset.submit"], type="submit", size="3", width="100%", id="reset-submit"
                            ),
                            spacing="4",
                            width="100%",
                        ),
                        on_submit=PasswordResetState.set_new_password,
                        reset_on_submit=False,
                        id="reset-form",
                    ),
                    rx.vstack(
                        rx.callout.root(
                            rx.callout.icon(rx.icon("triangle-alert")),
                            rx.callout.text(LocaleState.t["reset.invalid_link"]),
                            color_scheme="amber",
                            role="alert",
                            id="reset-no-token",
                        ),
                        rx.link(LocaleState.t["reset.request_new"], href=routes.FORGOT_PASSWORD),
                        spacing="3",
                        width="100%",
                    ),
                ),
            ),
        ),
        page="reset-password",
        loaded=PasswordResetState.loaded,
    )
