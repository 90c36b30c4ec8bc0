"""`/join?token=...`: accept an invitation to an organization's team."""

from __future__ import annotations

import reflex as rx

from bilten import routes
from bilten.components.layout import page_shell
from bilten.components.notice import error_text
from bilten.state.auth import AuthState
from bilten.state.i18n import LocaleState
from bilten.state.join import JoinState


def _card(*children: rx.Component) -> rx.Component:
    return rx.center(
        rx.card(rx.vstack(*children, spacing="4", width="100%"), size="4", width="100%", max_width="32rem"),
    )


def _notice(key: str, color: str, notice_id: str) -> rx.Component:
    return rx.callout.root(
        rx.callout.icon(rx.icon("circle-alert")),
        rx.callout.text(LocaleState.t[key]),
        color_scheme=color,
        role="alert",
        id=notice_id,
        width="100%",
    )


def _invitation() -> rx.Component:
    return rx.vstack(
        rx.text(
            LocaleState.t["join.intro"]
            .replace("{organization}", JoinState.organization_name)
            .replace("{role}", LocaleState.t["team.role." + JoinState.role]),
            size="3",
            id="join-intro",
        ),
        rx.text(LocaleState.t["team.role_hint." + JoinState.role], size="2", color_scheme="gray"),
        rx.text(
            LocaleState.t["join.for_email"].replace("{email}", JoinState.invited_email),
            size="2",
            id="join-email",
        ),
        spacing="2",
        width="100%",
    )


def _actions() -> rx.Component:
    return rx.cond(
        JoinState.status == "pending",
        rx.cond(
            JoinState.signed_in,
            rx.cond(
                JoinState.is_for_me,
                rx.button(
                    LocaleState.t["join.accept"], on_click=JoinState.accept, size="3", width="100%", id="join-accept"
                ),
                rx.vstack(
                    _notice("error.invitation_wrong_account", "amber", "join-wrong-account"),
                    rx.button(LocaleState.t["nav.logout"], on_click=AuthState.logout, variant="soft", id="join-logout"),
                    spacing="3",
                    width="100%",
                ),
            ),
            rx.vstack(
                rx.text(LocaleState.t["join.sign_in_first"], size="2"),
                rx.hstack(
                    rx.link(
                        rx.button(LocaleState.t["nav.login"], size="3"), href=JoinState.login_link, id="join-login"
                    ),
                    rx.link(
                        rx.button(LocaleState.t["nav.register"], size="3", variant="soft"),
                        href=JoinState.register_link,
                        id="join-register",
                    ),
                    spacing="3",
                    wrap="wrap",
                ),
                spacing="3",
                width="100%",
            ),
        ),
        rx.match(
            JoinState.status,
            ("expired", _notice("error.invitation_expired", "amber", "join-expired")),
            ("revoked", _notice("error.invitation_revoked", "amber", "join-revoked")),
            _notice("error.invitation_used", "gray", "join-used"),
        ),
    )


def join_page() -> rx.Component:
    return page_shell(
        _card(
            rx.heading(LocaleState.t["join.title"], size="7", as_="h1"),
            rx.cond(
                JoinState.valid,
                rx.vstack(
                    _invitation(),
                    error_text(JoinState.error, id="join-error", width="100%"),
                    _actions(),
                    spacing="4",
                    width="100%",
                ),
                rx.vstack(
                    _notice("error.invitation_invalid", "red", "join-invalid"),
                    rx.link(LocaleState.t["common.back_home"], href=routes.HOME),
                    spacing="3",
                    width="100%",
                ),
            ),
        ),
        page="join",
        loaded=JoinState.loaded,
    )
