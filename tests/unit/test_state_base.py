"""The one way state handlers call services (bilten/state/base.py) and the one id parser."""

from __future__ import annotations

import uuid

import pytest
from reflex.istate.data import RouterData
from sqlmodel import select

from bilten import clock
from bilten.i18n import translate
from bilten.ids import parse_id
from bilten.models import User
from bilten.services import accounts
from bilten.services.errors import NotFound
from bilten.state.auth import SESSION_COOKIE, AuthState
from bilten.state.base import service_call
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
