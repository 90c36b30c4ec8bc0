"""`/verify-email?token=`: confirm the account's address (and found the organization signed up for)."""

from __future__ import annotations

import reflex as rx

from bilten import clock
from bilten.db import session_scope
from bilten.i18n import translate
from bilten.services import verification
from bilten.services.errors import BiltenError
from bilten.state.auth import AuthState
from bilten.state.i18n import current_locale


class VerifyEmailState(rx.State):
    loaded: bool = False
    verified: bool = False
    founded_organization: bool = False
    message: str = ""

    @rx.event
    async def load(self):
        """on_load: the token is used once, here; the page only shows the outcome."""
        self.loaded = False
        self.verified = False
        self.founded_organization = False
        locale = await current_locale(self)
        token = (self.router.url.query_parameters.get("token") or "")[:200]
        try:
            with session_scope() as session:
                result = verification.verify_email(session, token=token, now=clock.now())
                if result.organization is not None:
                    self.message = translate("verify.done_organization", locale, organization=result.organization.name)
                else:
                    self.message = translate("verify.done", locale)
                self.founded_organization = result.organization is not None
                self.verified = True
                auth = await self.get_state(AuthState)
                auth._current_user(session, clock.now())  # the navbar and account page see the change
        except BiltenError:
            self.message = translate("verify.failed", locale)
        self.loaded = True
