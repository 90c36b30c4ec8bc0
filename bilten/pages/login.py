"""`/login`: email and password, then a one-time code for accounts with two-factor sign-in;
`?next=/path` comes back to where the visitor was sent from; `?unlock=<token>` (the link emailed
when failed logins locked the address) lifts the lock."""

from __future__ import annotations

import reflex as rx

from bilten import routes
from bilten.components.forms import field
from bilten.components.layout import page_shell
from bilten.components.notice import error_text
from bilten.state.auth import AuthState
from bilten.state.i18n import LocaleState


def login_page() -> rx.Component:
    return page_shell(
        rx.center(
            rx.card(
                rx.form(
                    rx.vstack(
                        rx.heading(LocaleState.t["login.title"], size="7", as_="h1"),
                        rx.text(LocaleState.t["login.subtitle"], color_scheme="gray"),
                        error_text(AuthState.login_error, id="login-error", width="100%"),
                        rx.cond(
                            AuthState.login_notice != "",
                            rx.callout.root(
                                rx.callout.icon(rx.icon("info")),
                                rx.callout.text(AuthState.login_notice),
                                color_scheme="green",
                                role="status",
                                id="login-notice",
                                width="100%",
                            ),
                        ),
                        field(
                            LocaleState.t["login.email"],
                            "email",
                            type_="email",
                            auto_complete="username",
                            required=True,
                        ),
                        field(
                            LocaleState.t["login.password"],
                            "password",
                            type_="password",
                            auto_complete="current-password",
                            required=True,
                        ),
                        rx.cond(
                            AuthState.otp_needed,
                            field(
                                LocaleState.t["login.otp"],
                                "otp",
                                hint=LocaleState.t["login.otp_hint"],
                                auto_complete="one-time-code",
                                input_mode="numeric",
                                auto_focus=True,
                                required=True,
                                max_length=40,
                            ),
                        ),
                        rx.link(
                            LocaleState.t["login.forgot_link"], href=routes.FORGOT_PASSWORD, size="2", id="forgot-link"
                        ),
                        rx.button(
                            LocaleState.t["login.submit"],
                            type="submit",
                            size="3",
                            width="100%",
                            id="login-submit",
                        ),
                        rx.hstack(
                            rx.text(LocaleState.t["login.no_account"], size="2"),
                            rx.link(LocaleState.t["login.register_link"], href=routes.REGISTER, size="2"),
                            spacing="2",
                        ),
                        spacing="4",
                        width="100%",
                    ),
                    on_submit=AuthState.login,
                    reset_on_submit=False,
                    id="login-form",
                ),
                size="4",
                width="100%",
                max_width="28rem",
            ),
        ),
        page="login",
        loaded=AuthState.checked,
    )
