"""Every page's event loads only its own small state (plus the root and LocaleState).

With Redis, Reflex loads for each event the handler's state, its parents, and every state whose
computed vars depend on them ("potentially dirty"). A computed var that awaits another state's
`get_state` (LocaleState, AuthState, a page's parent state) ties the two together, and before this
test every event of every page loaded 21 states. Formatting states keep their own locale
(`LocalizedState`); a language switch updates them all.
"""

from __future__ import annotations

import pytest
from reflex.istate.manager.redis import StateManagerRedis
from reflex.state import BaseState, State

import bilten.bilten  # noqa: F401 - registers every page and so every state of the app
from bilten.back_office.orders import OfficeOrdersState
from bilten.i18n import catalog, translate_plural
from bilten.state.auth import AuthState
from bilten.state.event import EventState
from bilten.state.home import HomeState
from bilten.state.i18n import LocaleState, localized_states

# A state may need more than root + LocaleState + itself only for a reason written here.
JUSTIFIED_EXTRA_STATES: dict[str, set[str]] = {}


async def _switch_language(root: State, locale: str) -> None:
    """The navbar's language switch (nobody signed in)."""
    auth = await root.get_state(AuthState)
    await type(auth).event_handlers["choose_language"].fn(auth, locale)


def _every_state(parent: type[BaseState] = State) -> list[type[BaseState]]:
    found = []
    for state_cls in parent.get_substates():
        found.append(state_cls)
        found.extend(_every_state(state_cls))
    return found


def _required(state_cls: type[BaseState]) -> set[type[BaseState]]:
    # The same computation Reflex's Redis state manager runs for every event (it reads no Redis).
    manager = object.__new__(StateManagerRedis)
    return manager._get_required_state_classes(state_cls, subclasses=True)


def test_the_app_has_its_states_registered():
    names = {state_cls.__name__ for state_cls in _every_state()}
    assert {"EventState", "HomeState", "AuthState", "BackOfficeState", "AdminUsersState"} <= names
    assert len(names) > 20


@pytest.mark.parametrize("state_cls", _every_state(), ids=lambda cls: cls.__name__)
def test_an_event_of_any_state_loads_only_the_root_locale_and_itself(state_cls: type[BaseState]):
    allowed = {State, LocaleState, state_cls}
    extra = {cls.__name__ for cls in _required(state_cls) - allowed}
    assert extra <= JUSTIFIED_EXTRA_STATES.get(state_cls.__name__, set()), (
        f"an event of {state_cls.__name__} would also load {sorted(extra)}: a computed var reads "
        "another state (use a backend var set by a handler instead)"
    )


def test_the_event_page_loads_three_states_not_twenty_one():
    assert _required(EventState) == {State, LocaleState, EventState}


def test_every_state_that_formats_keeps_its_locale():
    localized = {cls.__name__ for cls in localized_states()}
    assert {"EventState", "HomeState", "OrderState", "OfficeOrdersState", "AdminUsersState"} <= localized
    assert "LocaleState" not in localized and "AuthState" not in localized


@pytest.mark.anyio
async def test_a_language_switch_reformats_every_state_that_formats():
    root = State(_reflex_internal_init=True)
    orders = await root.get_state(OfficeOrdersState)
    orders.page, orders.pages, orders.total = 2, 3, 60
    assert orders.range_text == translate_plural("office.page_of", 60, "en", page=2, pages=3)

    locale = await root.get_state(LocaleState)
    await _switch_language(root, "ar")

    assert locale.locale == "ar"
    for state_cls in localized_states():
        assert (await root.get_state(state_cls))._locale == "ar", state_cls.__name__
    assert orders.range_text == translate_plural("office.page_of", 60, "ar", page=2, pages=3)
    assert orders.range_text != translate_plural("office.page_of", 60, "en", page=2, pages=3)


@pytest.mark.anyio
async def test_a_page_load_takes_the_readers_locale_and_an_unknown_choice_falls_back():
    root = State(_reflex_internal_init=True)
    locale = await root.get_state(LocaleState)
    locale.locale = "ar"
    home = await root.get_state(HomeState)
    assert home._display_locale() == "en"  # before any load: the default locale
    assert await home._remember_locale() == "ar"
    assert home._display_locale() == "ar"

    await _switch_language(root, "xx-not-a-language")
    assert locale.locale == "en" and home._display_locale() == "en"


@pytest.mark.anyio
async def test_a_tabs_saved_language_is_small_and_reads_its_whole_catalog_again():
    # Every event of every page loads LocaleState from Redis: it must not carry the catalog.
    root = State(_reflex_internal_init=True)
    locale = await root.get_state(LocaleState)
    locale.locale = "ar"
    assert locale.t["app.name"] == catalog("ar")["app.name"]  # `t` computed and cached, as on a page load
    saved = locale._serialize()
    assert len(saved) < 2_000  # the catalog alone pickles to about 65 KB
    loaded = BaseState._deserialize(data=saved)
    assert loaded.locale == "ar"
    assert loaded.t == catalog("ar")
    assert loaded.t["home.title"] == "الفعاليات القادمة"
