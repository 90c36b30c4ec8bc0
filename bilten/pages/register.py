"""`/register`: a new account, signed in right away; organizers found their organization with it."""

from __future__ import annotations

import reflex as rx

from bilten import routes
from bilten.components.forms import field
from bilten.components.layout import page_shell
from bilten.components.notice import error_text
from bilten.services.validation import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from bilten.state.auth import AuthState
from bilten.state.i18n import LocaleState


def register_page() -> rx.Component:
    password_hint = LocaleState.t["register.password_hint"].replace("{min}", str(PASSWORD_MIN_LENGTH))
    return page_shell(
        rx.center(
            rx.card(
                rx.form(
                    rx.vstack(
                        rx.heading(LocaleState.t["register.title"], size="7", as_="h1"),
                        rx.text(LocaleState.t["register.subtitle"], color_scheme="gray"),
                        error_text(AuthState.register_error, id="register-error", width="100%"),
                        field(LocaleState.t["register.full_name"], "full_name", auto_complete="name", max_length=200),
                        field(
                            LocaleState.t["login.email"], "email", type_="email", auto_complete="email", required=True
                        ),
                        field(
                            LocaleState.t["login.password"],
                            "password",
                            type_="password",
                            auto_complete="new-password",
                            hint=password_hint,
                            required=True,
                            min_length=PASSWORD_MIN_LENGTH,
                            max_length=PASSWORD_MAX_LENGTH,
                        ),
                        field(
                            LocaleState.t["register.password_confirm"],
                            "password_confirm",
                            type_="password",
                            auto_complete="new-password",
                            required=True,
                        ),
                        rx.el.label(
                            rx.hstack(
                                rx.checkbox(
                                    checked=AuthState.register_organizing,
                                    on_change=AuthState.set_register_organizing,
                                    # Radix draws a <button role="checkbox">: the enclosing <label>
                                    # does not name it, the text beside it does.
                                    custom_attrs={"aria-labelledby": "register-organizing-text"},
                                ),
                                rx.text(
                                    LocaleState.t["register.organizing"],
                                    size="2",
                                    weight="medium",
                                    id="register-organizing-text",
                                ),
                                align="center",
                                spacing="2",
                            ),
                            id="register-organizing",
                        ),
                        rx.cond(
                            AuthState.register_organizing,
                            field(
                                LocaleState.t["team.organization_name"],
                                "organization_name",
                                required=True,
                                max_length=200,
                                hint=LocaleState.t["register.organization_hint"],
                            ),
                        ),
                        rx.button(
                            LocaleState.t["register.submit"],
                            type="submit",
                            size="3",
                            width="100%",
                            id="register-submit",
                        ),
                        rx.hstack(
                            rx.text(LocaleState.t["register.have_account"], size="2"),
                            rx.link(LocaleState.t["register.login_link"], href=routes.LOGIN, size="2"),
                            spacing="2",
                        ),
                        spacing="4",
                        width="100%",
                    ),
                    on_submit=AuthState.register,
                    reset_on_submit=False,
                    id="register-form",
                ),
                size="4",
                width="100%",
                max_width="28rem",
            ),
        ),
        page="register",
        loaded=AuthState.checked,
    )
