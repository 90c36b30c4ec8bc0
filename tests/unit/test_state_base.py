"""The one way state handlers call services (bilten/state/base.py) and the one id parser."""

from __future__ import annotations

import ast
import uuid
from pathlib import Path

import pytest
from reflex.istate.data import RouterData
from reflex.istate.manager.memory import StateManagerMemory
from reflex.istate.manager.token import BaseStateToken
from reflex.istate.proxy import StateProxy
from reflex_base.event.context import EventContext
from reflex_base.utils.exceptions import ImmutableStateError
from sqlmodel import select

import bilten.state.i18n
from bilten import clock
from bilten.i18n import translate
from bilten.ids import parse_id
from bilten.models import User
from bilten.services import accounts
from bilten.services.errors import NotFound
from bilten.state.auth import SESSION_COOKIE, AuthState
from bilten.state.base import service_call
from bilten.state.home import HomeState
from bilten.state.i18n import LocaleState
from tests.factories import DEFAULT_PASSWORD, make_user


def test_parse_id_reads_a_uuid_and_refuses_everything_else():
    known = uuid.uuid4()
    assert parse_id(str(known)) == known
    assert parse_id(f"  {known}  ") == known
    assert parse_id(known) == known
    for hostile in ["", "nope", "1" * 65, None, 42, ["x"], str(known)[:-1]]:
        assert parse_id(hostile) is None


@pytest.mark.anyio
async def test_a_service_error_becomes_the_readers_message_and_rolls_back(fresh_tab, session, now):
    state = await fresh_tab.get_state(AuthState)
    async with service_call(state) as call:
        call.session.add(User(email="ghost@example.org", password_hash="x", full_name="Ghost"))
        call.session.flush()
        raise NotFound()
    assert call.failed
    assert call.error == translate("error.not_found", call.locale)
    assert call.user is None and call.now == clock.now()
    assert session.exec(select(User).where(User.email == "ghost@example.org")).first() is None


@pytest.mark.anyio
async def test_the_call_knows_the_signed_in_user(fresh_tab, session, now):
    user = make_user(session, email="sami@example.org", now=now)
    _, token = accounts.log_in_web(session, email=user.email, password=DEFAULT_PASSWORD, now=now, user_agent="t")
    fresh_tab.router = RouterData.from_router_data({"headers": {"cookie": f"{SESSION_COOKIE}={token}"}})
    async with service_call(await fresh_tab.get_state(AuthState)) as call:
        assert call.user is not None and call.user.id == user.id
    assert not call.failed and call.error == ""


@pytest.mark.anyio
async def test_a_bug_is_not_turned_into_a_message(fresh_tab):
    with pytest.raises(ZeroDivisionError):
        async with service_call(await fresh_tab.get_state(AuthState)):
            _ = 1 / 0


@pytest.fixture
def background_tab(app_database):
    """A background handler's view of a tab: a StateProxy over the event page's state, with the
    in-memory state manager Reflex uses without Redis."""
    manager = StateManagerMemory()

    async def enqueue(token: str, *events: object) -> None:
        return None

    with EventContext(token="tab-1", state_manager=manager, enqueue_impl=enqueue):
        yield manager


async def _proxy_of_home(manager: StateManagerMemory) -> StateProxy:
    async with manager.modify_state_with_links(token=BaseStateToken(ident="tab-1", cls=HomeState)) as root:
        home = await root.get_state(HomeState)
    return StateProxy(home)


@pytest.mark.anyio
async def test_a_background_call_reads_the_tab_under_its_lock_and_works_without_it(background_tab, now):
    home = await _proxy_of_home(background_tab)
    with pytest.raises(ImmutableStateError):  # outside the lock a handler may not even read the locale
        async with service_call(home):
            pass

    async with service_call(home, background=True) as call:
        assert call.user is None and call.locale == "en" and call.now == now
        with pytest.raises(ImmutableStateError):  # the block itself runs without the lock
            home.loaded = True
        async with home:
            home.loaded = True
        raise NotFound()
    assert call.error == translate("error.not_found", "en")
    async with home:
        assert home.loaded and home._locale == "en"


@pytest.mark.anyio
async def test_the_language_switch_is_remembered_on_the_signed_in_account(fresh_tab, session, now):
    user = make_user(session, email="lina@example.org", now=now)
    _, token = accounts.log_in_web(session, email=user.email, password=DEFAULT_PASSWORD, now=now, user_agent="t")
    fresh_tab.router = RouterData.from_router_data({"headers": {"cookie": f"{SESSION_COOKIE}={token}"}})
    auth = await fresh_tab.get_state(AuthState)
    type(auth).event_handlers["refresh"].fn(auth)
    assert auth.is_authenticated

    await type(auth).event_handlers["choose_language"].fn(auth, "ar")

    assert (await fresh_tab.get_state(LocaleState)).locale == "ar"
    session.expire_all()
    assert session.get(User, user.id).locale == "ar"


def test_the_readers_language_imports_no_account_state():
    """state/i18n.py sits below state/auth.py: no import back, not even inside a function."""
    tree = ast.parse(Path(bilten.state.i18n.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not {name for name in imported if name and name.startswith("bilten.state.") and name != "bilten.state.i18n"}
