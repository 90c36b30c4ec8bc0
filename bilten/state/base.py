"""The one way a state handler calls a service.

    async with service_call(self) as call:
        order = orders.cancel_order(call.session, actor=call.user, order_id=..., now=call.now)
    if call.failed:
        return call.error_toast()
    return rx.toast.success(...)

`service_call` gives the handler a database session, the acting user (None when nobody is signed
in: services authorize every action themselves; looked up only when the handler asks), the reader's locale and `now` from the app clock
(`bilten.clock`, which tests set). A `BiltenError` raised inside the block rolls the session back
and ends the block; `call.error` then holds its translated message. Any other exception
propagates: it is a bug, not a user's mistake.

A background handler (`@rx.event(background=True)`) passes `background=True`: the locale and the
user are then read under the state's lock (`async with self`), and the block itself runs without
it, so slow work (refunds over the network) leaves the tab responsive. Inside such a block, write
state only within `async with self:`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import reflex as rx
from reflex_base.event import EventSpec
from sqlmodel import Session

from bilten import clock
from bilten.db import session_scope
from bilten.i18n import translate
from bilten.models import User
from bilten.observability import context
from bilten.services.access import Permission
from bilten.services.errors import BiltenError
from bilten.state.auth import AuthState, PageAccess, error_text, guard_user
from bilten.state.i18n import LocalizedState, current_locale


@dataclass
class ServiceCall:
    state: rx.State
    session: Session
    auth: AuthState
    locale: str
    now: datetime
    failure: BiltenError | None = None
    error: str = ""  # the failure's message in the reader's language
    _user: User | None = None
    _user_known: bool = False

    @property
    def user(self) -> User | None:
        """The signed-in user, looked up on first use (a handler that needs none costs no query);
        the lookup refreshes AuthState's public facts as every page load does."""
        if not self._user_known:
            self._user = context.note_user(self.auth._current_user(self.session, self.now))
            self._user_known = True
        return self._user

    @property
    def failed(self) -> bool:
        return self.failure is not None

    def error_toast(self) -> EventSpec:
        return rx.toast.error(self.error)

    def text(self, key: str, **params: object) -> str:
        """A message in the reader's language."""
        return translate(key, self.locale, **params)

    async def guard(
        self,
        permission: Permission,
        *,
        organization_id: uuid.UUID | None = None,
        event_id: uuid.UUID | None = None,
    ) -> PageAccess:
        """The page guard (bilten.state.auth.guard) within this call's session, for its user."""
        return await guard_user(
            self.state, self.session, self.user, permission, organization_id=organization_id, event_id=event_id
        )


async def _start(state: rx.State, session: Session, now: datetime) -> ServiceCall:
    # The reader's locale is kept by a LocalizedState for its computed vars.
    if isinstance(state, LocalizedState):
        locale = await state._remember_locale()
    else:
        locale = await current_locale(state)
    return ServiceCall(state=state, session=session, auth=await state.get_state(AuthState), locale=locale, now=now)


@asynccontextmanager
async def service_call(state: rx.State, *, background: bool = False) -> AsyncIterator[ServiceCall]:
    """A session, the acting user, the locale and `now` for one handler; see the module's doc."""
    now = clock.now()
    with session_scope() as session:
        if background:
            async with state:
                call = await _start(state, session, now)
                _ = call.user  # looked up under the lock: it refreshes AuthState
        else:
            call = await _start(state, session, now)
        try:
            yield call
        except BiltenError as exc:
            session.rollback()
            call.failure = exc
            context.note_failure(exc.code)
            call.error = error_text(exc, call.locale)
