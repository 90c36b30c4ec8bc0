"""Two-factor sign-in on the account page: setting it up (a secret as QR code and text, a first
code to confirm it, then the recovery codes, shown this once), new recovery codes, turning it off."""

from __future__ import annotations

import reflex as rx

from bilten import clock, ratelimit, routes
from bilten.db import session_scope
from bilten.i18n import translate
from bilten.services import two_factor
from bilten.services.errors import BiltenError
from bilten.state.auth import acting_user, error_text, private_state
from bilten.state.i18n import current_locale
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
        with session_scope() as session:
            user = await acting_user(self, session, clock.now())
            if user is not None:
                self.enabled = two_factor.is_enrolled(session, user)
                self.must_enrol = two_factor.must_enrol(session, user)
                self.required = two_factor.is_required(session, user)
                self.recovery_codes_left = two_factor.recovery_codes_left(session, user=user) if self.enabled else 0

    @rx.event
    async def start(self):
        locale = await current_locale(self)
        self.error = ""
        try:
            with session_scope() as session:
                user = await acting_user(self, session, clock.now())
                if user is None:
                    return rx.redirect(routes.login_url(routes.ACCOUNT))
                enrolment = two_factor.begin_enrolment(session, user=user, now=clock.now())
        except BiltenError as exc:
            self.error = error_text(exc, locale)
            return None
        self.secret = enrolment.secret
        self.qr_image = enrolment.qr_svg_data_uri
        return None

    @rx.event
    async def confirm(self, form_data: dict[str, str]):
        locale = await current_locale(self)
        self.error = ""
        try:
            with session_scope() as session:
                user = await acting_user(self, session, clock.now())
                if user is None:
                    return rx.redirect(routes.login_url(routes.ACCOUNT))
                codes = two_factor.confirm_enrolment(
                    session, user=user, code=form_data.get("code", ""), now=clock.now()
                )
                self.enabled = True
                self.must_enrol = False
                self.recovery_codes_left = len(codes)
        except BiltenError as exc:
            self.error = error_text(exc, locale)
            return None
        self.secret = ""
        self.qr_image = ""
        self.recovery_codes = codes
        return rx.toast.success(translate("account.two_factor_enabled", locale))

    @rx.event
    async def regenerate_recovery_codes(self, form_data: dict[str, str]):
        locale = await current_locale(self)
        self.error = ""
        # Both take a code: the login limit per address stops guessing codes with a stolen session.
        if refused := await refused_by_limit(self, ratelimit.LOGIN):
            return refused
        try:
            with session_scope() as session:
                user = await acting_user(self, session, clock.now())
                if user is None:
                    return rx.redirect(routes.login_url(routes.ACCOUNT))
                codes = two_factor.regenerate_recovery_codes(
                    session, user=user, code=form_data.get("code", ""), now=clock.now()
                )
        except BiltenError as exc:
            self.error = error_text(exc, locale)
            return None
        self.recovery_codes = codes
        self.recovery_codes_left = len(codes)
        return rx.toast.success(translate("account.recovery_codes_replaced", locale))

    @rx.event
    async def disable(self, form_data: dict[str, str]):
        locale = await current_locale(self)
        self.error = ""
        if refused := await refused_by_limit(self, ratelimit.LOGIN):
            return refused
        try:
            with session_scope() as session:
                user = await acting_user(self, session, clock.now())
                if user is None:
                    return rx.redirect(routes.login_url(routes.ACCOUNT))
                two_factor.disable(
                    session,
                    user=user,
                    password=form_data.get("password", ""),
                    code=form_data.get("code", ""),
                    now=clock.now(),
                )
        except BiltenError as exc:
            self.error = error_text(exc, locale)
            return None
        self.enabled = False
        self.recovery_codes = []
        self.recovery_codes_left = 0
        return rx.toast.success(translate("account.two_factor_disabled", locale))
