"""The reader's language: kept in a cookie, mirrored on the signed-in account, read by every page."""

from __future__ import annotations

import reflex as rx
from reflex_base.vars.base import Var, VarData

from bilten.i18n import PLURAL_CATEGORIES, PLURAL_SEPARATOR, catalog, normalize_locale, text_direction
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

    def __getstate__(self) -> dict[str, object]:
        """What Redis keeps of this tab's state: without the catalog that `t` caches. It is the same
        dict for every reader of a language (`catalog` is cached), recomputed for free, and pickled
        with each tab it took 65 KB of Redis per open page and an unpickling of it for every event
        of every page (each event loads this state)."""
        fields = dict(super().__getstate__())
        fields.pop(_CATALOG_CACHE, None)
        return fields

    async def _choose(self, locale: str) -> str:
        """Switch this browser to `locale` (a supported one) and return it. The switch itself is
        `AuthState.choose_language`, which also remembers the choice on the signed-in account: the
        reader's language knows nothing of accounts, so this module imports no other state."""
        chosen = normalize_locale(locale, default_locale())
        self.locale = chosen
        # The states that format values keep their own copy of the locale (see LocalizedState):
        # a switch is rare, so it may load them all once and reformat whatever the page shows.
        for state_cls in localized_states():
            (await self.get_state(state_cls))._locale = chosen
        return chosen


_CATALOG_CACHE = LocaleState.computed_vars["t"]._cache_attr  # where Reflex caches `t` on the instance


async def current_locale(state: rx.State) -> str:
    """The locale to translate messages and format values in, from any state's handler.

    Handlers only: a computed var that awaits `get_state(LocaleState)` makes Reflex load its
    state together with LocaleState, that is with every event of every page. Computed vars
    read `LocalizedState._display_locale()` instead.
    """
    return (await state.get_state(LocaleState)).lang


class LocalizedState(rx.State, mixin=True):
    """Mixed into a state whose computed vars format text in the reader's language.

    The state keeps the locale as a backend var: its handlers set it (`await
    self._remember_locale()`) when they load what the computed vars show, and
    a language switch (`AuthState.choose_language`) updates it on every such state. So its computed vars depend on
    this state only, and an event of this page loads the root, LocaleState and this state.
    """

    _locale: str = ""

    def _display_locale(self) -> str:
        """For computed vars: the locale to format in (the default one before any load)."""
        return self._locale or default_locale()

    async def _remember_locale(self) -> str:
        """For handlers: the reader's locale, kept for this state's computed vars."""
        self._locale = await current_locale(self)
        return self._locale


def localized_states() -> list[type[rx.State]]:
    """Every state class of the app that mixes in LocalizedState."""
    found: list[type[rx.State]] = []
    pending = list(rx.State.get_substates())
    while pending:
        state_cls = pending.pop()
        pending.extend(state_cls.get_substates())
        if issubclass(state_cls, LocalizedState):
            found.append(state_cls)
    return sorted(found, key=lambda cls: cls.get_full_name())


def plural_forms(key: str) -> Var:
    """A counted text's forms for the browser, `{category: text}` (a language's missing categories
    are undefined): for counts that change in the browser (live "N left"), whose component picks
    the form with `Intl.PluralRules`, the same CLDR rules `translate_plural` applies on the server."""
    texts = LocaleState.t
    categories = ", ".join(f'"{category}"' for category in PLURAL_CATEGORIES)
    expr = f"Object.fromEntries([{categories}].map((c) => [c, ({texts!s})[`{key}{PLURAL_SEPARATOR}${{c}}`]]))"
    return Var(_js_expr=f"({expr})", _var_type=dict, _var_data=texts._get_all_var_data())


def plural_text(key: str, count: Var) -> Var:
    """A counted text filled in the browser from a count the page already holds (see plural_forms)."""
    forms, lang = plural_forms(key), LocaleState.lang
    expr = (
        f"((forms, n, lang) => (forms[new Intl.PluralRules(lang).select(n)] ?? forms.other ?? '{{count}}')"
        f".replaceAll('{{count}}', new Intl.NumberFormat(lang, {{numberingSystem: 'latn'}}).format(n)))"
        f"({forms!s}, Number({count!s}), {lang!s})"
    )
    data = VarData.merge(forms._get_all_var_data(), count._get_all_var_data(), lang._get_all_var_data())
    return Var(_js_expr=f"({expr})", _var_type=str, _var_data=data)
