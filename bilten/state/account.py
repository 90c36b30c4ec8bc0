"""The signed-in user's own page: profile, password change, log out (handlers live in AuthState)."""

from __future__ import annotations

import reflex as rx

from bilten import clock
from bilten.db import session_scope
from bilten.i18n import LANGUAGE_NAMES
from bilten.services.access import Permission
from bilten.state.auth import AuthState, guard, private_state


@private_state
class AccountState(rx.State):
    loaded: bool = False
    language_name: str = ""

    @rx.event
    async def load(self):
        """on_load: only for signed-in users; the profile shown is AuthState's public facts."""
        self.loaded = False
        with session_scope() as session:
            access = await guard(self, session, Permission.ACCOUNT, now=clock.now())
            if access.user is None:
                return access.redirect
            self.language_name = LANGUAGE_NAMES.get(access.user.locale, access.user.locale)
        auth = await self.get_state(AuthState)
        auth.password_error = ""
        self.loaded = True
        return None
