"""`/account`: the signed-in user's profile, a password change and logging out."""

from __future__ import annotations

import reflex as rx

from bilten.components.forms import field
from bilten.components.layout import page_header, page_shell
from bilten.components.notice import error_text
from bilten.services.validation import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from bilten.state.account import AccountState
from bilten.state.auth import AuthState
from bilten.state.i18n import LocaleState


def profile_row(label: rx.Var[str], value: rx.Component) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(label), rx.data_list.value(value))


def email_status() -> rx.Component:
    """Confirmed, or what is waiting for the confirmation and a way to get a new link."""
    return rx.cond(
        AuthState.email_verified,
        rx.badge(LocaleState.t["account.email_confirmed"], color_scheme="green", id="email-confirmed"),
        rx.vstack(
            rx.text(LocaleState.t["account.email_unconfirmed"], size="2", id="email-unconfirmed"),
            rx.button(
                LocaleState.t["account.resend_verification"],
                on_click=AuthState.resend_verification,
                variant="soft",
                size="2",
                id="resend-verification",
            ),
            spacing="2",
            align="start",
        ),
    )


def profile_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(LocaleState.t["account.profile"], size="5", as_="h2"),
            rx.data_list.root(
                profile_row(LocaleState.t["account.email"], rx.text(AuthState.email, id="account-email")),
                profile_row(
                    LocaleState.t["account.full_name"],
                    rx.cond(
                        AuthState.full_name != "",
                        rx.text(AuthState.full_name),
                        rx.text(LocaleState.t["account.no_name"], color_scheme="gray"),
                    ),
                ),
                profile_row(
                    LocaleState.t["account.role"],
                    rx.badge(LocaleState.t["role." + AuthState.role], id="account-role"),
                ),
                profile_row(LocaleState.t["account.language"], rx.text(AccountState.language_name)),
                profile_row(LocaleState.t["account.email_status"], email_status()),
                orientation=rx.breakpoints(initial="vertical", sm="horizontal"),
            ),
            spacing="4",
        ),
        size="3",
    )


def password_card() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading(LocaleState.t["account.change_password"], size="5", as_="h2"),
                rx.text(LocaleState.t["account.change_password_hint"], size="2", color_scheme="gray"),
                error_text(AuthState.password_error, id="password-error", width="100%"),
                # For password managers: which account this password belongs to.
                rx.el.input(
                    type="email",
                    name="username",
                    value=AuthState.email,
                    auto_complete="username",
                    read_only=True,
                    hidden=True,
                ),
                field(
                    LocaleState.t["account.current_password"],
                    "current_password",
                    type_="password",
                    auto_complete="current-password",
                    required=True,
                ),
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
                rx.button(LocaleState.t["account.change_password_submit"], type="submit", id="password-submit"),
                spacing="3",
                width="100%",
            ),
            on_submit=AuthState.change_password,
            reset_on_submit=False,
            id="change-password-form",
        ),
        size="3",
    )


def logout_card() -> rx.Component:
    return rx.card(
        rx.flex(
            rx.text(LocaleState.t["account.logout_hint"], size="2"),
            rx.button(
                rx.icon("log-out", size=16),
                LocaleState.t["account.logout"],
                on_click=AuthState.logout,
                color_scheme="red",
                variant="soft",
                id="logout",
            ),
            justify="between",
            align="center",
            spacing="3",
            wrap="wrap",
        ),
        size="3",
    )


def account_page() -> rx.Component:
    return page_shell(
        page_header(LocaleState.t["account.title"]),
        rx.cond(
            AccountState.loaded & AuthState.is_authenticated,
            rx.grid(
                profile_card(),
                password_card(),
                logout_card(),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="4",
                width="100%",
            ),
            rx.center(rx.spinner(size="3"), padding="3rem"),
        ),
        page="account",
        loaded=AccountState.loaded,
    )
