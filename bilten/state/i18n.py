"""The reader's language: kept in a cookie, mirrored on the signed-in account, read by every page."""

from __future__ import annotations

import uuid

import reflex as rx

from bilten.db import session_scope
from bilten.i18n import catalog, normalize_locale, text_direction
from bilten.services.accounts import set_user_locale
from bilten.settings import get_settings

LOCALE_COOKIE = "bilten_locale"
LOCALE_COOKIE_MAX_AGE = 365 * 24 * 60 * 60  # one year


def default_locale() -> str:
    return get_settings().default_locale


class LocaleState(rx.State):
    """`locale` is the reader's explicit choice, kept in a cookie ("" until they choose).

    Without a choice the browser's Accept-Language picks, then DEFAULT_LOCALE. `lang`, `t` and
    `dir` always name a supported locale, whatever the cookie holds.
    """

    locale: str = rx.Cookie("", name=LOCALE_COOKIE, same_site="lax", max_age=LOCALE_COOKIE_MAX_AGE)

    @rx.var
    def lang(self) -> str:
        """The supported locale in use."""
        return normalize_locale(self.locale or self.router.headers.accept_language, default_locale())

    @rx.var
    def t(self) -> dict[str, str]:
        """The whole message catalog of the current locale: pages write `LocaleState.t["home.title"]`."""
        return catalog(normalize_locale(self.locale or self.router.headers.accept_language, default_locale()))

    @rx.var
    def dir(self) -> str:
        return text_direction(normalize_locale(self.locale or self.router.headers.accept_language, default_locale()))

    @rx.event
    async def set_locale(self, locale: str):
        """Switch the language of this browser and remember it on the signed-in account."""
        chosen = normalize_locale(locale, default_locale())
        self.locale = chosen
        from bilten.state.auth import AuthState  # noqa: PLC0415 - AuthState imports this module

        auth = await self.get_state(AuthState)
        if auth.is_authenticated and auth._user_id:
            with session_scope() as session:
                set_user_locale(session, user_id=uuid.UUID(auth._user_id), locale=chosen)


async def current_locale(state: rx.State) -> str:
    """The locale to translate messages and format values in, from any state's handler."""
    return (await state.get_state(LocaleState)).lang
