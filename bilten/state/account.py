"""The signed-in user's own page: profile, password change, sign-in history and sessions, log out
(logging in and out and the password live in AuthState)."""

from __future__ import annotations

import reflex as rx

from bilten import routes
from bilten.i18n import LANGUAGE_NAMES, format_datetime, translate
from bilten.ids import parse_id
from bilten.models import User
from bilten.services import sessions
from bilten.services.access import Permission
from bilten.state.auth import AuthState, navigate, private_state
from bilten.state.base import ServiceCall, service_call

# Account pages show times in UTC with the zone named: a user has no time zone of their own.
ACCOUNT_TIMEZONE = "UTC"


@private_state
class AccountState(rx.State):
    loaded: bool = False
    language_name: str = ""
    # Public shapes only: when, how, from where. Session ids let a row be ended; they grant nothing.
    sign_ins: list[dict[str, str]] = []
    sessions: list[dict[str, str]] = []

    @rx.event
    async def load(self):
        """on_load: only for signed-in users; the profile shown is AuthState's public facts."""
        self.loaded = False
        async with service_call(self) as call:
            access = await call.guard(Permission.ACCOUNT)
            if access.user is None:
                return access.redirect
            self.language_name = LANGUAGE_NAMES.get(access.user.locale, access.user.locale)
            await self._load_security(call, access.user)
        if call.failed:
            return call.error_toast()
        auth = await self.get_state(AuthState)
        auth.password_error = ""
        self.loaded = True
        return None

    async def _load_security(self, call: ServiceCall, user: User) -> None:
        locale, session = call.locale, call.session
        auth = await self.get_state(AuthState)

        def when(moment) -> str:  # noqa: ANN001
            return format_datetime(moment, ACCOUNT_TIMEZONE, locale) + " UTC"

        self.sign_ins = [
            {
                "at": when(s.at),
                "method": translate(f"account.method.{s.method}", locale),
                "client_address": s.client_address,
                "user_agent": s.user_agent,
            }
            for s in sessions.recent_sign_ins(session, user=user)
        ]
        self.sessions = [
            {
                "id": str(s.id),
                "kind": translate(f"account.session_{s.kind}", locale),
                "last_seen": when(s.last_seen_at),
                "created": when(s.created_at),
                "client_address": s.client_address,
                "user_agent": s.user_agent,
                "current": "1" if s.current else "",
            }
            for s in sessions.active_sessions(session, user=user, now=call.now, current_web_token=auth._session_token)
        ]

    @rx.event
    async def end_session(self, session_id: str):
        target = parse_id(session_id)
        if target is None:
            return None
        was_current = any(row["id"] == session_id and row["current"] for row in self.sessions)
        async with service_call(self) as call:
            if call.user is None:
                return rx.redirect(routes.login_url(routes.ACCOUNT))
            sessions.end_session(call.session, user=call.user, session_id=target, now=call.now)
            if not was_current:
                await self._load_security(call, call.user)
        if call.failed:
            return call.error_toast()
        if was_current:
            return await self._signed_out()
        return rx.toast.info(call.text("account.session_ended"))

    @rx.event
    async def end_all_sessions(self):
        async with service_call(self) as call:
            if call.user is None:
                return rx.redirect(routes.login_url(routes.ACCOUNT))
            sessions.end_all_sessions(call.session, user=call.user, now=call.now)
        if call.failed:
            return call.error_toast()
        return await self._signed_out()

    async def _signed_out(self):
        auth = await self.get_state(AuthState)
        await auth._forget_everything()
        return navigate(routes.web_session_end_url(routes.HOME))
