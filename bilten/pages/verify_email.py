"""`/verify-email?token=`: the outcome of following an email-verification link."""

from __future__ import annotations

import reflex as rx

from bilten import routes
from bilten.components.layout import page_shell
from bilten.state.i18n import LocaleState
from bilten.state.verify_email import VerifyEmailState


def verify_email_page() -> rx.Component:
    return page_shell(
        rx.center(
            rx.card(
                rx.vstack(
                    rx.heading(LocaleState.t["verify.title"], size="7", as_="h1"),
                    rx.callout.root(
                        rx.callout.icon(rx.icon(rx.cond(VerifyEmailState.verified, "mail-check", "mail-x"))),
                        rx.callout.text(VerifyEmailState.message),
                        color_scheme=rx.cond(VerifyEmailState.verified, "green", "red"),
                        role="status",
                        id="verify-result",
                        width="100%",
                    ),
                    rx.cond(
                        VerifyEmailState.founded_organization,
                        rx.link(
                            rx.button(LocaleState.t["verify.to_organizer"], size="3", width="100%"),
                            href=routes.ORGANIZER,
                            id="verify-to-organizer",
                            width="100%",
                        ),
                        rx.link(
                            rx.button(LocaleState.t["verify.to_account"], size="3", width="100%"),
                            href=routes.ACCOUNT,
                            id="verify-to-account",
                            width="100%",
                        ),
                    ),
                    spacing="4",
                    width="100%",
                ),
                size="4",
                width="100%",
                max_width="28rem",
            ),
        ),
        page="verify-email",
        loaded=VerifyEmailState.loaded,
    )
