"""Forgotten passwords: ask for a reset link by email, then choose a new password with it."""

from __future__ import annotations

import reflex as rx

from bilten import ratelimit
from bilten.services.accounts import request_password_reset, reset_password
from bilten.services.errors import InvalidToken, ValidationFailed
from bilten.state.base import service_call
from bilten.state.ratelimits import refused_by_limit


class PasswordResetState(rx.State):
    loaded: bool = False
    # The request page answers the same whatever the address: nobody learns who has an account.
    requested: bool = False
    has_token: bool = False
    reset_done: bool = False
    reset_error: str = ""
    _token: str = ""

    @rx.event
    def load_request(self):
        """on_load of /forgot-password."""
        self.requested = False
        self.loaded = True

    @rx.event
    async def request_reset(self, form_data: dict[str, str]):
        email = form_data.get("email", "")
        if refused := await refused_by_limit(self, ratelimit.PASSWORD_RESET, account=email):
            return refused
        async with service_call(self) as call:
            request_password_reset(call.session, email=email, now=call.now)
        if call.failed:
            return call.error_toast()
        self.requested = True
        return None

    @rx.event
    def load_reset(self):
        """on_load of /reset-password?token=...: the token stays on the server."""
        self._token = (self.router.url.query_parameters.get("token") or "")[:200]
        self.has_token = bool(self._token)
        self.reset_done = False
        self.reset_error = ""
        self.loaded = True

    @rx.event
    async def set_new_password(self, form_data: dict[str, str]):
        self.reset_error = ""
        password = form_data.get("new_password", "")
        async with service_call(self) as call:
            if password != form_data.get("new_password_confirm", ""):
                raise ValidationFailed("error.passwords_differ")
            reset_password(call.session, token=self._token, new_password=password, now=call.now)
        if isinstance(call.failure, InvalidToken):
            # Used up or too old: the page offers to ask for a new link instead of the form.
            self._token = ""
            self.has_token = False
            return None
        if call.failed:
            self.reset_error = call.error
            return None
        self._token = ""
        self.reset_done = True
        return rx.toast.success(call.text("reset.done"))
