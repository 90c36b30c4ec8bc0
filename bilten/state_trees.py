"""Reflex's Redis state manager, letting go of a tab's states as soon as its event is done.

For every event, Reflex loads the tab's states from Redis into a tree whose nodes point both ways
(each state at its parent, each parent at its substates), runs the handler and saves the tree.
The tree is then garbage, but a cycle: reference counting cannot free it, so it waits for the
garbage collector, and the collector's older passes are rare (bilten.py lets the young one run
every 50,000 allocations, and a tree that lives across a Redis round trip is promoted past it).
Opening event pages, that was 126 KB of unpickled states per page left in the workers' heap
(tracemalloc); with the links cut, `bench_live_pages` at 2,000 pages measured 272 KB of worker
memory per page instead of 388-395 KB (bench/README.md). So once an event has saved its tree and
released its lock, the tree's links are cut and it is freed at once.

A background handler (`@rx.event(background=True)`) keeps reading its state after `async with
self`, through the tree it was given: its trees are left alone, for the collector. So are the
trees of the memory and disk managers, which keep them between events on purpose, and those of
Reflex's opportunistic locks (REFLEX_OPLOCK_ENABLED), which cache them.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

from reflex.istate.manager import StateManager
from reflex.istate.manager.redis import StateManagerRedis
from reflex.state import BaseState
from reflex_base.registry import RegistrationContext


class TreeReleasingStateManager(StateManagerRedis):
    """`StateManagerRedis`, cutting each event's state tree apart once it is saved (module doc)."""

    @contextlib.asynccontextmanager
    async def _try_modify_state(self, token: Any, **context: Any) -> AsyncIterator[Any]:
        async with super()._try_modify_state(token, **context) as state:
            yield state
        # Here the tree is saved and its lock released: nothing else holds it, unless a
        # background handler reads it on, or the opportunistic lock keeps it for the next event.
        if isinstance(state, BaseState) and not self._oplock_enabled and not _in_background(context.get("event")):
            release_tree(state)


def release_tree(state: BaseState) -> None:
    """Cut every link between the states of `state`'s tree, so reference counting frees them."""
    root = state
    while root.parent_state is not None:
        root = root.parent_state
    pending = [root]
    while pending:
        node = pending.pop()
        pending.extend(node.substates.values())
        node.substates = {}
        node.parent_state = None


def _in_background(event: Any) -> bool:
    """Whether the event is a background handler's (or cannot be told apart: then keep the tree)."""
    if event is None:
        return False  # Reflex's own bookkeeping (a tab connecting): done with the tree on exit
    try:
        registered = RegistrationContext.get().event_handlers.get(event.name)
    except LookupError:
        return True
    return registered is None or registered.handler.is_background


def releasing_trees(manager: StateManager) -> StateManager:
    """The same manager, releasing its trees, when it is Reflex's Redis manager; any other as it is."""
    if type(manager) is not StateManagerRedis:
        return manager
    settings = {field.name: getattr(manager, field.name) for field in dataclasses.fields(manager) if field.init}
    return TreeReleasingStateManager(**settings)
