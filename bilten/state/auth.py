"""Who is signed in to this tab, logging in and out, and the one guard of protected pages."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

import reflex as rx
from reflex_base.event import EventSpec
from sqlmodel import Session

from bilten import clock, ratelimit, routes
from bilten.db import session_scope
from bilten.i18n import translate
from bilten.models import User
from bilten.services import accounts
from bilten.services.access import Permission, authorize, is_allowed
from bilten.services.errors import BiltenError, Forbidden, NotAuthenticated
from bilten.settings import get_settings
from bilten.state.i18n import LocaleState, current_locale
from bilten.state.ratelimits import refused_by_limit

SESSION_COOKIE = "bilten_session"

# States holding what only the signed-in user may see; logging out resets them in this tab.
_PRIVATE_STATES: list[type[rx.State]] = []


def private_state(cls: type[rx.State]) -> type[rx.State]:
    """Class decorator: forget this state's data when the user logs out."""
    _PRIVATE_STATES.append(cls)
    return cls


def _session_cookie() -> rx.Cookie:
    settings = get_settings()
    return rx.Cookie(
        "",
        name=SESSION_COOKIE,
        same_site="strict",
        max_age=settings.session_max_days * 24 * 60 * 60,
        secure=settings.public_url.startswith("https://"),
    )


class AuthState(rx.State):
    """The browser keeps an opaque session token; the user behind it is looked up on every page load.

    Only public facts about the user reach the browser (email, name, role, what the navbar may
    link to). The user id stays on the server.
    """

    session_token: str = _session_cookie()
    _user_id: str = ""

    email: str = ""
    full_name: str = ""
    role: str = ""
    is_authenticated: bool = False
    can_admin: bool = False
    can_organize: bool = False

    # The page guard's verdict for the current page: signed in but not allowed.
    denied: bool = False
    # The session lookup of the current page finished (login and register pages wait on it).
    checked: bool = False

    login_error: str = ""
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

    def _forget(self) -> None:
        self._user_id = ""
        self.email = ""
        self.full_name = ""
        self.role = ""
        self.is_authenticated = False
        self.can_admin = False
        self.can_organize = False

    def _current_user(self, session: Session, now: datetime) -> User | None:
        """The user of this browser's session, refreshing (or clearing) the public facts about them."""
        user = accounts.user_for_web_session(session, token=self.session_token, now=now)
        if user is None:
            if self.session_token:
                self.session_token = ""  # expired or revoked: drop the dead cookie
            self._forget()
        else:
            self._remember(session, user)
        return user

    # -- events ---------------------------------------------------------------------------

    @rx.event
    def refresh(self):
        """on_load of public pages: who is signed in (for the navbar)."""
        with session_scope() as session:
            self._current_user(session, clock.now())
        self.denied = False
        self.checked = True

    @rx.event
    def load_login(self):
        """on_load of the login and register pages: signed-in visitors go where they wanted to be."""
        self.login_error = ""
        self.register_error = ""
        with session_scope() as session:
            user = self._current_user(session, clock.now())
        self.denied = False
        self.checked = True
        if user is not None:
            return rx.redirect(self._next_path(), replace=True)
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
                user, token = accounts.log_in_web(
                    session,
                    email=form_data.get("email", ""),
                    password=form_data.get("password", ""),
                    now=clock.now(),
                    user_agent=self.router.headers.user_agent,
                )
                self._remember(session, user)
                # The latest explicit choice wins: one made in this browser goes to the account,
                # else the account's language comes to this browser.
                if locale_state.locale and locale_state.lang != user.locale:
                    accounts.set_user_locale(session, user_id=user.id, locale=locale_state.lang)
        except BiltenError as exc:
            self.login_error = error_text(exc, locale)
            return None
        self.session_token = token
        if not locale_state.locale:
            locale_state.locale = user.locale
        return [
            rx.toast.success(translate("login.welcome", locale_state.lang)),
            rx.redirect(self._next_path(), replace=True),
        ]

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
        now = clock.now()
        try:
            with session_scope() as session:
                user = accounts.register_user(
                    session,
                    email=form_data.get("email", ""),
                    password=password,
                    full_name=form_data.get("full_name", ""),
                    locale=locale,
                    now=now,
                    organization_name=organization_name,
                )
                user, token = accounts.log_in_web(
                    session, email=user.email, password=password, now=now, user_agent=self.router.headers.user_agent
                )
                self._remember(session, user)
        except BiltenError as exc:
            self.register_error = error_text(exc, locale)
            return None
        self.session_token = token
        # Back where they came from (e.g. an invitation), else to what they signed up for.
        default = routes.ORGANIZER if organization_name is not None else routes.ACCOUNT
        target = routes.safe_next(self.router.url.query_parameters.get(routes.NEXT_PARAM), default=default)
        return [rx.toast.success(translate("register.welcome", locale)), rx.redirect(target, replace=True)]

    @rx.event
    async def logout(self):
        locale = await current_locale(self)
        with session_scope() as session:
            accounts.log_out_web(session, token=self.session_token, now=clock.now())
        self.session_token = ""
        self._forget()
        for state_cls in _PRIVATE_STATES:
            (await self.get_state(state_cls)).reset()
        return [rx.toast.info(translate("account.logged_out", locale)), rx.redirect(routes.HOME)]

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
                    user_id=uuid.UUID(self._user_id),
                    current_password=form_data.get("current_password", ""),
                    new_password=new_password,
                    now=clock.now(),
                    keep_web_session_token=self.session_token,
                )
        except BiltenError as exc:
            self.password_error = error_text(exc, locale)
            return None
        return [
            rx.toast.success(translate("account.password_changed", locale)),
            rx.call_script("document.getElementById('change-password-form')?.reset()"),
        ]

    def _next_path(self) -> str:
        return routes.safe_next(self.router.url.query_parameters.get(routes.NEXT_PARAM))


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
    user = auth._current_user(session, now)
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
    return PageAccess(allowed)


async def acting_user(state: rx.State, session: Session, now: datetime) -> User | None:
    """The signed-in user for an action handler (services authorize the action themselves)."""
    auth = await state.get_state(AuthState)
    return auth._current_user(session, now)


def error_text(exc: BiltenError, locale: str) -> str:
    return translate(exc.key, locale, **exc.params)
