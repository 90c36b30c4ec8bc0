"""`/account`: the signed-in user's profile, a password change, sign-in history, sessions, logging out."""

from __future__ import annotations

import reflex as rx

from bilten.components.forms import field
from bilten.components.layout import page_header, page_shell
from bilten.components.notice import error_text
from bilten.services.validation import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from bilten.state.account import AccountState
from bilten.state.auth import AuthState
from bilten.state.i18n import LocaleState, plural_text
from bilten.state.two_factor import TwoFactorState


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


def session_row(row: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                rx.badge(row["kind"], variant="soft"),
                rx.cond(
                    row["current"] != "",
                    rx.badge(LocaleState.t["account.session_current"], color_scheme="green", class_name="current"),
                ),
                spacing="2",
            )
        ),
        rx.table.cell(rx.text(row["user_agent"], size="1", class_name="user-agent")),
        rx.table.cell(rx.text(row["client_address"], size="1")),
        rx.table.cell(rx.text(row["last_seen"], size="1")),
        rx.table.cell(
            rx.button(
                LocaleState.t["account.session_end"],
                on_click=AccountState.end_session(row["id"]),
                size="1",
                variant="soft",
                color_scheme="red",
                class_name="end-session",
            )
        ),
        class_name="session-row",
    )


def sessions_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(LocaleState.t["account.sessions"], size="5", as_="h2"),
            rx.text(LocaleState.t["account.sessions_hint"], size="2", color_scheme="gray"),
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell(LocaleState.t["account.session_kind"]),
                        rx.table.column_header_cell(LocaleState.t["account.user_agent"]),
                        rx.table.column_header_cell(LocaleState.t["account.client_address"]),
                        rx.table.column_header_cell(LocaleState.t["account.last_active"]),
                        rx.table.column_header_cell(
                            rx.el.span(LocaleState.t["office.col_actions"], class_name="rt-sr-only")
                        ),
                    )
                ),
                rx.table.body(rx.foreach(AccountState.sessions, session_row)),
                size="1",
                width="100%",
                id="sessions",
            ),
            rx.button(
                rx.icon("log-out", size=16),
                LocaleState.t["account.sign_out_everywhere"],
                on_click=AccountState.end_all_sessions,
                color_scheme="red",
                id="sign-out-everywhere",
            ),
            rx.text(LocaleState.t["account.sign_out_everywhere_hint"], size="1", color_scheme="gray"),
            spacing="3",
            width="100%",
        ),
        size="3",
        grid_column="1 / -1",
    )


def sign_in_row(row: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["at"], size="1")),
        rx.table.cell(rx.text(row["method"], size="1", class_name="sign-in-method")),
        rx.table.cell(rx.text(row["client_address"], size="1")),
        rx.table.cell(rx.text(row["user_agent"], size="1")),
        class_name="sign-in-row",
    )


def sign_ins_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(LocaleState.t["account.sign_ins"], size="5", as_="h2"),
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell(LocaleState.t["account.signed_in_at"]),
                        rx.table.column_header_cell(LocaleState.t["account.sign_in_method"]),
                        rx.table.column_header_cell(LocaleState.t["account.client_address"]),
                        rx.table.column_header_cell(LocaleState.t["account.user_agent"]),
                    )
                ),
                rx.table.body(rx.foreach(AccountState.sign_ins, sign_in_row)),
                size="1",
                width="100%",
                id="sign-ins",
            ),
            spacing="3",
            width="100%",
        ),
        size="3",
        grid_column="1 / -1",
    )


def code_field(field_id: str) -> rx.Component:
    return field(
        LocaleState.t["account.two_factor_code"],
        "code",
        auto_complete="one-time-code",
        input_mode="numeric",
        required=True,
        max_length=40,
        id=field_id,
    )


def two_factor_manage() -> rx.Component:
    """While it is on: new recovery codes, and turning it off (unless the platform requires it)."""
    new_codes = rx.form(
        rx.vstack(
            rx.text(LocaleState.t["account.recovery_codes_new_hint"], size="2", color_scheme="gray"),
            code_field("recovery-codes-code"),
            rx.button(
                rx.icon("refresh-cw", size=16),
                LocaleState.t["account.recovery_codes_new"],
                type="submit",
                variant="soft",
                id="recovery-codes-new",
            ),
            spacing="2",
            width="100%",
        ),
        on_submit=TwoFactorState.regenerate_recovery_codes,
        reset_on_submit=True,
        id="recovery-codes-form",
    )
    turn_off = rx.cond(
        TwoFactorState.required,
        rx.text(
            LocaleState.t["account.two_factor_mandatory"], size="2", color_scheme="gray", id="two-factor-mandatory"
        ),
        rx.form(
            rx.vstack(
                rx.text(LocaleState.t["account.two_factor_disable_hint"], size="2", color_scheme="gray"),
                field(
                    LocaleState.t["account.current_password"],
                    "password",
                    type_="password",
                    auto_complete="current-password",
                    required=True,
                    max_length=1000,
                    id="two-factor-disable-password",
                ),
                code_field("two-factor-disable-code"),
                rx.button(
                    LocaleState.t["account.two_factor_disable"],
                    type="submit",
                    color_scheme="red",
                    variant="soft",
                    id="two-factor-disable",
                ),
                spacing="2",
                width="100%",
            ),
            on_submit=TwoFactorState.disable,
            reset_on_submit=True,
            id="two-factor-disable-form",
        ),
    )
    return rx.vstack(new_codes, rx.separator(), turn_off, spacing="3", width="100%")


def two_factor_card() -> rx.Component:
    enrolling = rx.vstack(
        rx.text(LocaleState.t["account.two_factor_scan"], size="2"),
        rx.image(src=TwoFactorState.qr_image, width="200px", height="200px", alt="otpauth QR", id="two-factor-qr"),
        rx.text(LocaleState.t["account.two_factor_secret"], size="2"),
        rx.code(TwoFactorState.secret, id="two-factor-secret", size="3"),
        rx.form(
            rx.vstack(
                field(
                    LocaleState.t["account.two_factor_code"],
                    "code",
                    auto_complete="one-time-code",
                    input_mode="numeric",
                    required=True,
                    max_length=10,
                ),
                rx.button(LocaleState.t["account.two_factor_confirm"], type="submit", id="two-factor-confirm"),
                spacing="2",
                width="100%",
            ),
            on_submit=TwoFactorState.confirm,
            reset_on_submit=True,
        ),
        spacing="3",
        width="100%",
    )
    return rx.card(
        rx.vstack(
            rx.heading(LocaleState.t["account.two_factor"], size="5", as_="h2"),
            rx.cond(
                TwoFactorState.must_enrol,
                rx.callout(LocaleState.t["account.two_factor_required"], icon="shield-alert", color_scheme="orange"),
            ),
            error_text(TwoFactorState.error, id="two-factor-error", width="100%"),
            rx.cond(
                TwoFactorState.recovery_codes.length() > 0,
                rx.vstack(
                    rx.text(LocaleState.t["account.recovery_codes_hint"], size="2", weight="medium"),
                    rx.el.ul(
                        rx.foreach(TwoFactorState.recovery_codes, lambda code: rx.el.li(rx.code(code))),
                        id="recovery-codes",
                    ),
                    spacing="2",
                ),
            ),
            rx.cond(
                TwoFactorState.enabled,
                rx.vstack(
                    rx.text(
                        LocaleState.t["account.two_factor_on"],
                        " (",
                        plural_text("account.recovery_codes_left", TwoFactorState.recovery_codes_left),
                        ")",
                        id="two-factor-status",
                        size="2",
                    ),
                    two_factor_manage(),
                    spacing="3",
                    width="100%",
                ),
                rx.cond(
                    TwoFactorState.secret != "",
                    enrolling,
                    rx.vstack(
                        rx.text(LocaleState.t["account.two_factor_hint"], size="2", color_scheme="gray"),
                        rx.button(
                            rx.icon("shield-check", size=16),
                            LocaleState.t["account.two_factor_start"],
                            on_click=TwoFactorState.start,
                            id="two-factor-start",
                        ),
                        spacing="2",
                    ),
                ),
            ),
            spacing="3",
            width="100%",
        ),
        size="3",
        id="two-factor",
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
                two_factor_card(),
                sessions_card(),
                sign_ins_card(),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="4",
                width="100%",
            ),
            rx.center(rx.spinner(size="3"), padding="3rem"),
        ),
        page="account",
        loaded=AccountState.loaded,
    )
