"""`/join?token=...`: an invitation link. Shows what it is for; signed in as the invited address,
the visitor accepts it; otherwise they log in or register first and come back here."""

from __future__ import annotations

import reflex as rx

from bilten import clock, routes
from bilten.db import session_scope
from bilten.i18n import translate
from bilten.models import TeamRole
from bilten.services import teams
from bilten.services.errors import BiltenError, InvitationInvalid
from bilten.state.auth import acting_user, error_text
from bilten.state.i18n import current_locale

MAX_TOKEN_LENGTH = 200


class JoinState(rx.State):
    loaded: bool = False
    valid: bool = False  # the link names an invitation
    status: str = ""  # pending, expired, revoked, used
    organization_name: str = ""
    invited_email: str = ""
    role: str = ""
    signed_in: bool = False
    signed_in_email: str = ""
    error: str = ""
    _token: str = ""

    @rx.var
    def is_for_me(self) -> bool:
        return self.signed_in and self.signed_in_email == self.invited_email

    @rx.var
    def login_link(self) -> str:
        """Log in, then come back to this page."""
        return routes.login_url(routes.join_url(self._token)) if self._token else routes.LOGIN

    @rx.var
    def register_link(self) -> str:
        return routes.register_url(routes.join_url(self._token)) if self._token else routes.REGISTER

    @rx.event
    async def load(self):
        """on_load: the token stays on the server; the page shows what the invitation is for."""
        self.loaded = False
        self.error = ""
        self._token = (self.router.url.query_parameters.get("token") or "")[:MAX_TOKEN_LENGTH]
        now = clock.now()
        with session_scope() as session:
            user = await acting_user(self, session, now)
            self.signed_in = user is not None
            self.signed_in_email = user.email if user else ""
            try:
                preview = teams.invitation_preview(session, token=self._token, now=now)
            except InvitationInvalid:
                self.valid = False
                self.loaded = True
                return
        self.valid = True
        self.status = preview.status
        self.organization_name = preview.organization_name
        self.invited_email = preview.email
        self.role = preview.role.value
        self.loaded = True

    @rx.event
    async def accept(self):
        locale = await current_locale(self)
        self.error = ""
        try:
            with session_scope() as session:
                user = await acting_user(self, session, clock.now())
                joined = teams.accept_invitation(session, actor=user, token=self._token, now=clock.now())
        except BiltenError as exc:
            self.error = error_text(exc, locale)
            return None
        self._token = ""
        self.status = "used"
        # Staff only scan: their place is the door scanner, everyone else's the organizer area.
        target = routes.SCAN if joined.role == TeamRole.STAFF else routes.ORGANIZER
        return [rx.toast.success(translate("join.joined", locale, organization=joined.name)), rx.redirect(target)]
