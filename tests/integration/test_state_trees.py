"""With Redis, a tab's states are freed as soon as its event is done, not at the garbage
collector's next full pass (bilten/state_trees.py), and nothing else changes: the event's changes
are saved, and a background handler keeps the tree it reads."""

from __future__ import annotations

import gc
import uuid
import weakref
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis
from reflex.event import Event
from reflex.istate.manager.memory import StateManagerMemory
from reflex.istate.manager.redis import StateManagerRedis
from reflex.istate.manager.token import BaseStateToken
from reflex.state import BaseState, State

import bilten.bilten  # noqa: F401 - registers every state and event handler of the app
from bilten.state.event import EventState
from bilten.state.organizer import OrganizerState
from bilten.state_trees import TreeReleasingStateManager, releasing_trees

PAGE_LOAD = Event(name=f"{EventState.get_full_name()}.load")  # an ordinary (foreground) handler
DASHBOARD_LOOP = Event(name=f"{OrganizerState.get_full_name()}.watch_dashboard")  # a background one

pytestmark = pytest.mark.anyio


@pytest.fixture
def collector_off() -> Iterator[None]:
    """Only reference counting frees anything while the test looks."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.fixture
async def releasing(redis_url: str) -> AsyncIterator[StateManagerRedis]:
    manager = releasing_trees(StateManagerRedis(redis=aioredis.Redis.from_url(redis_url)))
    assert isinstance(manager, TreeReleasingStateManager)
    yield manager
    await manager.close()


@pytest.fixture
async def plain(redis_url: str) -> AsyncIterator[StateManagerRedis]:
    manager = StateManagerRedis(redis=aioredis.Redis.from_url(redis_url))
    yield manager
    await manager.close()


def _tree(state: BaseState) -> list[BaseState]:
    found, pending = [], [state._get_root_state()]
    while pending:
        node = pending.pop()
        found.append(node)
        pending.extend(node.substates.values())
    return found


async def _run_event(manager: StateManagerRedis, token: BaseStateToken, event: Event, name: str) -> list[weakref.ref]:
    """What Reflex does for one event of the event page: load, change, save; weak references to
    every state the event loaded."""
    async with manager.modify_state(token, event=event) as state:
        page = await state.get_state(EventState)
        page.buyer_name = name
        loaded = [weakref.ref(node) for node in _tree(state)]
    del state, page
    return loaded


async def test_a_finished_events_states_are_freed_at_once(releasing, collector_off):
    token = BaseStateToken(ident=str(uuid.uuid4()), cls=EventState)
    loaded = await _run_event(releasing, token, PAGE_LOAD, "Leila Haddad")
    assert len(loaded) >= 3  # the root, LocaleState and the event page's own state
    assert [ref for ref in loaded if ref() is not None] == []


async def test_without_it_they_wait_for_the_collector(plain, collector_off):
    # The check above can see the difference: Reflex's own manager leaves the cycle behind.
    token = BaseStateToken(ident=str(uuid.uuid4()), cls=EventState)
    loaded = await _run_event(plain, token, PAGE_LOAD, "Leila Haddad")
    assert all(ref() is not None for ref in loaded)
    gc.collect()
    assert all(ref() is None for ref in loaded)


async def test_the_events_changes_are_saved_before_its_states_are_let_go(releasing):
    token = BaseStateToken(ident=str(uuid.uuid4()), cls=EventState)
    await _run_event(releasing, token, PAGE_LOAD, "ليلى حداد")
    await _run_event(releasing, token, PAGE_LOAD, "Leila Haddad, again")
    reloaded = await releasing.get_state(token)
    assert (await reloaded.get_state(EventState)).buyer_name == "Leila Haddad, again"


async def test_a_background_handler_keeps_the_tree_it_reads_after_its_lock(releasing):
    token = BaseStateToken(ident=str(uuid.uuid4()), cls=OrganizerState)
    async with releasing.modify_state(token, event=DASHBOARD_LOOP) as state:
        organizer = await state.get_state(OrganizerState)
    # As after `async with self` in a background task: the state is still read, parents included.
    root = organizer._get_root_state()
    assert isinstance(root, State) and root is not organizer
    assert organizer.parent_state is not None
    assert root.substates


async def test_other_state_managers_are_left_as_they_are(redis_url):
    memory = StateManagerMemory()
    assert releasing_trees(memory) is memory  # it keeps its trees between events on purpose
    redis_manager = StateManagerRedis(
        redis=aioredis.Redis.from_url(redis_url), token_expiration=1234, lock_expiration=5000
    )
    releasing = releasing_trees(redis_manager)
    assert type(releasing) is TreeReleasingStateManager
    assert (releasing.token_expiration, releasing.lock_expiration) == (1234, 5000)
    assert releasing.redis is redis_manager.redis
    await releasing.close()
