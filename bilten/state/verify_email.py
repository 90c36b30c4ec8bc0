"""`/verify-email?token=`: confirm the account's address (and found the organization signed up for)."""

from __future__ import annotations

import reflex as rx

from bilten.services import verification
from bilten.state.base import service_call


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
        token = (self.router.url.query_parameters.get("token") or "")[:200]
        async with service_call(self) as call:
            result = verification.verify_email(call.session, token=token, now=call.now)
            if result.organization is not None:
                self.message = call.text("verify.done_organization", organization=result.organization.name)
            else:
                self.message = call.text("verify.done")
            self.founded_organization = result.organization is not None
            self.verified = True
            call.auth._current_user(call.session, call.now)  # the navbar and account page see the change
        if call.failed:
            self.message = call.text("verify.failed")
        self.loaded = True
