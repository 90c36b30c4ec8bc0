"""Who is signed in to this tab, logging in and out, and the one guard of protected pages."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from http.cookies import CookieError, SimpleCookie
from typing import NamedTuple

import reflex as rx
from reflex_base.event import EventSpec
from sqlmodel import Session

from bilten import clock, ratelimit, routes
from bilten.db import session_scope
from bilten.i18n import translate
from bilten.ids import parse_id
from bilten.models import User
from bilten.services import accounts, login_guard, two_factor, verification
from bilten.services.access import Permission, authorize, is_allowed, workplace_of
from bilten.services.errors import BiltenError, Forbidden, NotAuthenticated, TwoFactorRequired
from bilten.state.i18n import LocaleState, current_locale
from bilten.state.ratelimits import refused_by_limit, tab_client_address

SESSION_COOKIE = routes.WEB_SESSION_COOKIE

# States holding what only the signed-in user may see; logging out resets them in this tab.
_PRIVATE_STATES: list[type[rx.State]] = []


def private_state(cls: type[rx.State]) -> type[rx.State]:
    """Class decorator: forget this state's data when the user logs out."""
    _PRIVATE_STATES.append(cls)
    return cls


def session_token_from_cookie_header(header: str) -> str:
    """The session token in a request's Cookie header ("" when absent or unreadable)."""
    try:
        morsel = SimpleCookie(header or "").get(SESSION_COOKIE)
    except CookieError:
        return ""
    return morsel.value if morsel is not None else ""


def navigate(url: str) -> EventSpec:
    """A full page load (not the client-side router), replacing this page in the history: for the
    endpoints that set or clear the session cookie."""
    return rx.call_script(f"window.location.replace({json.dumps(url)})")


class AuthState(rx.State):
    """The browser keeps an opaque session token; the user behind it is looked up on every page load.

    The token lives in an HttpOnly cookie that the server sets (bilten/api/auth.py): scripts on the
    page cannot read it and no state var sent to the browser holds it. The state reads it from the
    websocket handshake's Cookie header, which stays on the server (Reflex never serializes it),
    into the backend-only `_session_token`. A reload or a reconnect opens a new websocket that
    carries the cookie again.

    Only public facts about the user reach the browser (email, name, role, what the navbar may
    link to). The user id stays on the server.
    """

    _session_token: str = ""
    _user_id: str = ""

    email: str = ""
    full_name: str = ""
    role: str = ""
    is_authenticated: bool = False
    can_admin: bool = False
    can_organize: bool = False
    email_verified: bool = False

    # The page guard's verdict for the current page: signed in but not allowed.
    denied: bool = False
    # The session lookup of the current page finished (login and register pages wait on it).
    checked: bool = False

    login_error: str = ""
    # The login page opened from an unlock link: the lock is lifted, and this login carries the pass.
    login_notice: str = ""
    _unlock_token: str = ""
    # The password was right and the account asks for a one-time code: the form shows its field.
    otp_needed: bool = False
    register_error: str = ""
    # The register form's "I organize events" choice: it asks for the organization's name too.
    register_organizing: bool = False
    password_error: str = ""

    # -- helpers (not events) -------------------------------------------------------------

    def _remember(self, session: Session, user: User) -> None:
        self._user_id = str(user.id)
        self.email = user.email
        self.full_name = user.full_name
        self.role = str(user.role)
        self.is_authenticated = True
        self.can_admin = is_allowed(session, user, Permission.ADMIN)
        self.can_organize = is_allowed(session, user, Permission.ORGANIZER_AREA)
        self.email_verified = user.email_verified_at is not None

    def _forget(self) -> None:
        self._user_id = ""
        self.email = ""
        self.full_name = ""
        self.role = ""
        self.is_authenticated = False
        self.can_admin = False
        self.can_organize = False
        self.email_verified = False

    def _current_user(self, session: Session, now: datetime) -> User | None:
        """The user of this browser's session, refreshing (or clearing) the public facts about them."""
        self._session_token = session_token_from_cookie_header(self.router.headers.cookie)
        user = accounts.user_for_web_session(session, token=self._session_token, now=now)
        if user is None:
            self._forget()
        else:
            self._remember(session, user)
        return user

    def _client(self) -> dict[str, str]:
        return {"user_agent": self.router.headers.user_agent, "client_address": tab_client_address(self)}

    # -- events ---------------------------------------------------------------------------

    @rx.event
    def refresh(self):
        """on_load of public pages: who is signed in (for the navbar)."""
        with session_scope() as session:
            self._current_user(session, clock.now())
        self.denied = False
        self.checked = True

    @rx.event
    async def load_login(self):
        """on_load of the login and register pages: signed-in visitors go where they wanted to be.
        `/login?unlock=<token>` (the link emailed with a lock) lifts the lock first;
        `&registered=1` (after signing up) says what to do next."""
        self.login_error = ""
        self.login_notice = ""
        self.register_error = ""
        query = self.router.url.query_parameters
        unlock_token = (query.get("unlock") or "")[:200]
        if query.get("registered"):
            self.login_notice = translate("login.after_register", await current_locale(self))
        self.otp_needed = False
        with session_scope() as session:
            user = self._current_user(session, clock.now())
            if user is None and unlock_token:
                locale = await current_locale(self)
                try:
                    email = login_guard.unlock_login(session, token=unlock_token, now=clock.now())
                except BiltenError:
                    self.login_error = translate("login.unlock_invalid", locale)
                else:
                    self._unlock_token = unlock_token
                    self.login_notice = translate("login.unlocked", locale, email=email)
            landing = self._landing(session, user) if user is not None else ""
        self.denied = False
        self.checked = True
        if user is not None:
            return rx.redirect(landing, replace=True)
        return None

    @rx.event
    async def login(self, form_data: dict[str, str]):
        locale = await current_locale(self)
        self.login_error = ""
        if refused := await refused_by_limit(self, ratelimit.LOGIN, account=form_data.get("email", "")):
            return refused
        locale_state = await self.get_state(LocaleState)
        try:
            with session_scope() as session:
                user, grant = accounts.start_web_login(
                    session,
                    email=form_data.get("email", ""),
                    password=form_data.get("password", ""),
                    otp=form_data.get("otp", "") if self.otp_needed else "",
                    now=clock.now(),
                    unlock_token=self._unlock_token,
                    **self._client(),
                )
                # The latest explicit choice wins: one made in this browser goes to the account,
                # else the account's language comes to this browser.
                if locale_state.locale and locale_state.lang != user.locale:
                    accounts.set_user_locale(session, user_id=user.id, locale=locale_state.lang)
                landing = self._landing(session, user)
        except TwoFactorRequired:
            self.otp_needed = True
            return None
        except BiltenError as exc:
            self.login_error = error_text(exc, locale)
            return None
        self._unlock_token = ""
        self.login_notice = ""
        if not locale_state.locale:
            locale_state.locale = user.locale
        # The endpoint sets the cookie and sends the browser on; the page reloads signed in.
        return navigate(routes.web_session_start_url(grant, landing))

    @rx.event
    async def choose_language(self, locale: str):
        """The language switch: this browser's language, remembered on the signed-in account too
        (here, not in LocaleState: the reader's language knows nothing of accounts)."""
        chosen = await (await self.get_state(LocaleState))._choose(locale)
        if self.is_authenticated and self._user_id:
            with session_scope() as session:
                accounts.set_user_locale(session, user_id=parse_id(self._user_id), locale=chosen)

    @rx.event
    def set_register_organizing(self, organizing: bool):
        self.register_organizing = bool(organizing)

    @rx.event
    async def register(self, form_data: dict[str, str]):
        locale = await current_locale(self)
        self.register_error = ""
        organization_name = form_data.get("organization_name", "") if self.register_organizing else None
        password = form_data.get("password", "")
        if password != form_data.get("password_confirm", ""):
            self.register_error = translate("error.passwords_differ", locale)
            return None
        if refused := await refused_by_limit(self, ratelimit.REGISTER):
            return refused
        try:
            with session_scope() as session:
                accounts.register_user(
                    session,
                    email=form_data.get("email", ""),
                    password=password,
                    full_name=form_data.get("full_name", ""),
                    locale=locale,
                    now=clock.now(),
                    organization_name=organization_name,
                )
        except BiltenError as exc:
            self.register_error = error_text(exc, locale)
            return None
        # New address or one with an account (whose owner was just emailed): the same answer, so
        # the form reveals nobody. The visitor signs in next, then goes where they were headed.
        login = routes.login_url(self.router.url.query_parameters.get(routes.NEXT_PARAM, ""))
        return rx.redirect(login + ("&" if "?" in login else "?") + "registered=1", replace=True)

    @rx.event
    async def resend_verification(self):
        locale = await current_locale(self)
        if not self._user_id:
            return rx.redirect(routes.login_url(routes.ACCOUNT))
        try:
            with session_scope() as session:
                sent = verification.resend_verification(session, user_id=parse_id(self._user_id), now=clock.now())
        except BiltenError as exc:
            return rx.toast.error(error_text(exc, locale))
        if not sent:
            self.email_verified = True
            return rx.toast.info(translate("account.already_verified", locale))
        return rx.toast.success(translate("account.verification_sent", locale))

    @rx.event
    async def logout(self):
        with session_scope() as session:
            accounts.log_out_web(
                session, token=session_token_from_cookie_header(self.router.headers.cookie), now=clock.now()
            )
        await self._forget_everything()
        # The endpoint clears the HttpOnly cookie (no script here can).
        return navigate(routes.web_session_end_url(routes.HOME))

    async def _forget_everything(self) -> None:
        self._session_token = ""
        self._forget()
        for state_cls in _PRIVATE_STATES:
            (await self.get_state(state_cls)).reset()

    @rx.event
    async def change_password(self, form_data: dict[str, str]):
        locale = await current_locale(self)
        self.password_error = ""
        new_password = form_data.get("new_password", "")
        if new_password != form_data.get("new_password_confirm", ""):
            self.password_error = translate("error.passwords_differ", locale)
            return None
        if not self._user_id:
            return rx.redirect(routes.login_url(routes.ACCOUNT))
        try:
            with session_scope() as session:
                accounts.change_password(
                    session,
                    user_id=parse_id(self._user_id),
                    current_password=form_data.get("current_password", ""),
                    new_password=new_password,
                    now=clock.now(),
                    keep_web_session_token=session_token_from_cookie_header(self.router.headers.cookie),
                )
        except BiltenError as exc:
            self.password_error = error_text(exc, locale)
            return None
        return [
            rx.toast.success(translate("account.password_changed", locale)),
            rx.call_script("document.getElementById('change-password-form')?.reset()"),
        ]

    def _landing(self, session: Session, user: User) -> str:
        """After signing in: the page the person came from, else where they work (organizers
        their organizer home, door staff the scanner, buyers their tickets)."""
        workplace = workplace_of(session, user, now=clock.now())
        default = routes.WORKPLACE_PAGES[workplace]
        return routes.safe_next(self.router.url.query_parameters.get(routes.NEXT_PARAM), default=default)


class PageAccess(NamedTuple):
    """What the guard decided: the user when allowed, else maybe an event to return (the login redirect)."""

    user: User | None
    redirect: EventSpec | None = None


async def guard(
    state: rx.State,
    session: Session,
    permission: Permission,
    *,
    now: datetime,
    organization_id: uuid.UUID | None = None,
    event_id: uuid.UUID | None = None,
) -> PageAccess:
    """The one guard of protected pages, called first in their on_load.

    Asks `services.access.authorize`. Nobody signed in: a redirect to the login page that comes
    back here. Signed in but not allowed: `AuthState.denied`, which the page shows as a translated
    "not allowed" box instead of its content. A NotFound (unknown event) propagates to the page.
    """
    auth = await state.get_state(AuthState)
    return await guard_user(
        state, session, auth._current_user(session, now), permission, organization_id=organization_id, event_id=event_id
    )


async def guard_user(
    state: rx.State,
    session: Session,
    user: User | None,
    permission: Permission,
    *,
    organization_id: uuid.UUID | None = None,
    event_id: uuid.UUID | None = None,
) -> PageAccess:
    """`guard` for a user this event already looked up (`service_call` did): one lookup, not two."""
    auth = await state.get_state(AuthState)
    auth.checked = True
    try:
        allowed = authorize(session, user, permission, organization_id=organization_id, event_id=event_id)
    except NotAuthenticated:
        auth.denied = False
        url = state.router.url
        here = url.path + (f"?{url.query}" if url.query else "")
        return PageAccess(None, rx.redirect(routes.login_url(here), replace=True))
    except Forbidden:
        auth.denied = True
        return PageAccess(None)
    auth.denied = False
    if permission not in _NO_TWO_FACTOR_NEEDED and two_factor.must_enrol(session, allowed):
        # Admins and owners set up two-factor sign-in (REQUIRE_2FA) before they use these areas.
        return PageAccess(None, rx.redirect(routes.ACCOUNT + "?two_factor=required", replace=True))
    return PageAccess(allowed)


# Pages any signed-in user needs, and the door, which must keep working while someone enrols.
_NO_TWO_FACTOR_NEEDED = frozenset({Permission.ACCOUNT, Permission.EVENT_SCAN})


async def acting_user(state: rx.State, session: Session, now: datetime) -> User | None:
    """The signed-in user for an action handler (services authorize the action themselves)."""
    auth = await state.get_state(AuthState)
    return auth._current_user(session, now)


def error_text(exc: BiltenError, locale: str) -> str:
    return translate(exc.key, locale, **exc.params)
