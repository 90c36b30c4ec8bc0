"""`/join?token=...`: an invitation link. Shows what it is for; signed in as the invited address,
the visitor accepts it; otherwise they log in or register first and come back here."""

from __future__ import annotations

import reflex as rx

from bilten import routes
from bilten.models import TeamRole
from bilten.services import teams
from bilten.state.base import service_call

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
        async with service_call(self) as call:
            user = call.user
            self.signed_in = user is not None
            self.signed_in_email = user.email if user else ""
            preview = teams.invitation_preview(call.session, token=self._token, now=call.now)
        if call.failed:  # an unknown or malformed link (InvitationInvalid)
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
        self.error = ""
        async with service_call(self) as call:
            joined = teams.accept_invitation(call.session, actor=call.user, token=self._token, now=call.now)
        if call.failed:
            self.error = call.error
            return None
        self._token = ""
        self.status = "used"
        # Staff only scan: their place is the door scanner, everyone else's the organizer area.
        target = routes.SCAN if joined.role == TeamRole.STAFF else routes.ORGANIZER
        return [rx.toast.success(call.text("join.joined", organization=joined.name)), rx.redirect(target)]
