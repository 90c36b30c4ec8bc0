"""Two-factor sign-in on the account page: setting it up (a secret as QR code and text, a first
code to confirm it, then the recovery codes, shown this once), new recovery codes, turning it off."""

from __future__ import annotations

import reflex as rx

from bilten import ratelimit, routes
from bilten.services import two_factor
from bilten.state.auth import private_state
from bilten.state.base import service_call
from bilten.state.ratelimits import refused_by_limit

# The account page's query parameter when the guard sent the user here to set it up first.
REQUIRED_PARAM = "two_factor"


@private_state
class TwoFactorState(rx.State):
    enabled: bool = False
    must_enrol: bool = False
    required: bool = False  # REQUIRE_2FA covers the user: no "turn off"
    recovery_codes_left: int = 0
    # While enrolling: the user's own new secret, to type or scan into their authenticator app.
    secret: str = ""
    qr_image: str = ""
    # Shown once, right after confirming; gone on the next page load.
    recovery_codes: list[str] = []
    error: str = ""

    @rx.event
    async def load(self):
        """on_load of the account page (after AccountState.load let the user in)."""
        self.secret = ""
        self.qr_image = ""
        self.recovery_codes = []
        self.error = ""
        async with service_call(self) as call:
            user = call.user
            if user is not None:
                self.enabled = two_factor.is_enrolled(call.session, user)
                self.must_enrol = two_factor.must_enrol(call.session, user)
                self.required = two_factor.is_required(call.session, user)
                self.recovery_codes_left = (
                    two_factor.recovery_codes_left(call.session, user=user) if self.enabled else 0
                )
        return call.error_toast() if call.failed else None

    @rx.event
    async def start(self):
        self.error = ""
        async with service_call(self) as call:
            if call.user is None:
                return rx.redirect(routes.login_url(routes.ACCOUNT))
            enrolment = two_factor.begin_enrolment(call.session, user=call.user, now=call.now)
        if call.failed:
            self.error = call.error
            return None
        self.secret = enrolment.secret
        self.qr_image = enrolment.qr_svg_data_uri
        return None

    @rx.event
    async def confirm(self, form_data: dict[str, str]):
        self.error = ""
        async with service_call(self) as call:
            if call.user is None:
                return rx.redirect(routes.login_url(routes.ACCOUNT))
            codes = two_factor.confirm_enrolment(
                call.session, user=call.user, code=form_data.get("code", ""), now=call.now
            )
            self.enabled = True
            self.must_enrol = False
            self.recovery_codes_left = len(codes)
        if call.failed:
            self.error = call.error
            return None
        self.secret = ""
        self.qr_image = ""
        self.recovery_codes = codes
        return rx.toast.success(call.text("account.two_factor_enabled"))

    @rx.event
    async def regenerate_recovery_codes(self, form_data: dict[str, str]):
        self.error = ""
        # Both take a code: the login limit per address stops guessing codes with a stolen session.
        if refused := await refused_by_limit(self, ratelimit.LOGIN):
            return refused
        async with service_call(self) as call:
            if call.user is None:
                return rx.redirect(routes.login_url(routes.ACCOUNT))
            codes = two_factor.regenerate_recovery_codes(
                call.session, user=call.user, code=form_data.get("code", ""), now=call.now
            )
        if call.failed:
            self.error = call.error
            return None
        self.recovery_codes = codes
        self.recovery_codes_left = len(codes)
        return rx.toast.success(call.text("account.recovery_codes_replaced"))

    @rx.event
    async def disable(self, form_data: dict[str, str]):
        self.error = ""
        if refused := await refused_by_limit(self, ratelimit.LOGIN):
            return refused
        async with service_call(self) as call:
            if call.user is None:
                return rx.redirect(routes.login_url(routes.ACCOUNT))
            two_factor.disable(
                call.session,
                user=call.user,
                password=form_data.get("password", ""),
                code=form_data.get("code", ""),
                now=call.now,
            )
        if call.failed:
            self.error = call.error
            return None
        self.enabled = False
        self.recovery_codes = []
        self.recovery_codes_left = 0
        return rx.toast.success(call.text("account.two_factor_disabled"))
