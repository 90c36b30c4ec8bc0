"""Web login grants, API sessions and the account page's sessions, on SQLite."""

from __future__ import annotations

from datetime import timedelta

import pytest
from reflex.istate.data import RouterData
from reflex_base.utils.format import json_dumps
from sqlmodel import select

from bilten.models import SignInMethod, SignInRecord, WebSession
from bilten.services import accounts, sessions
from bilten.services.errors import InvalidToken, NotFound
from bilten.state.account import AccountState
from bilten.state.auth import SESSION_COOKIE, AuthState, session_token_from_cookie_header
from tests.factories import DEFAULT_PASSWORD, make_user


def test_a_login_grant_works_once_and_only_for_a_minute(session, now):
    user = make_user(session, email="a@example.org", now=now)
    _, grant = accounts.start_web_login(
        session, email=user.email, password=DEFAULT_PASSWORD, now=now, user_agent="UA", client_address="1.2.3.4"
    )
    assert accounts.user_for_web_session(session, token=grant, now=now) is None  # a grant is no session token
    token = accounts.redeem_web_login_grant(session, grant=grant, now=now + timedelta(seconds=30))
    assert accounts.user_for_web_session(session, token=token, now=now + timedelta(seconds=31)).id == user.id
    with pytest.raises(InvalidToken):
        accounts.redeem_web_login_grant(session, grant=grant, now=now + timedelta(seconds=31))

    _, late = accounts.start_web_login(session, email=user.email, password=DEFAULT_PASSWORD, now=now)
    with pytest.raises(InvalidToken):
        accounts.redeem_web_login_grant(session, grant=late, now=now + timedelta(minutes=1))
    with pytest.raises(InvalidToken):
        accounts.redeem_web_login_grant(session, grant="", now=now)


def test_an_uncollected_login_is_no_active_session(session, now):
    user = make_user(session, email="a@example.org", now=now)
    accounts.start_web_login(session, email=user.email, password=DEFAULT_PASSWORD, now=now)
    assert sessions.active_sessions(session, user=user, now=now) == []
    assert [r.method for r in sessions.recent_sign_ins(session, user=user)] == [SignInMethod.PASSWORD]


def test_sign_ins_are_recorded_newest_first_with_method_and_client(session, now):
    user = make_user(session, email="a@example.org", now=now)
    accounts.log_in_web(session, email=user.email, password=DEFAULT_PASSWORD, now=now, client_address="10.0.0.1")
    accounts.log_in_api(
        session, email=user.email, password=DEFAULT_PASSWORD, now=now + timedelta(minutes=1), user_agent="curl/8"
    )
    history = sessions.recent_sign_ins(session, user=user)
    assert [(r.method, r.client_address, r.user_agent) for r in history] == [
        (SignInMethod.API, "", "curl/8"),
        (SignInMethod.PASSWORD, "10.0.0.1", ""),
    ]
    # Wrong passwords are no sign-ins.
    with pytest.raises(Exception):  # noqa: B017, PT011 - InvalidCredentials; the point is no record
        accounts.log_in_web(session, email=user.email, password="Wrong-password-9", now=now)
    assert len(session.exec(select(SignInRecord)).all()) == 2


def test_ending_sessions_is_limited_to_ones_own(session, now):
    lina = make_user(session, email="lina@example.org", now=now)
    omar = make_user(session, email="omar@example.org", now=now)
    _, lina_web = accounts.log_in_web(session, email=lina.email, password=DEFAULT_PASSWORD, now=now)
    lina_row = session.exec(select(WebSession).where(WebSession.user_id == lina.id)).one()
    with pytest.raises(NotFound):
        sessions.end_session(session, user=omar, session_id=lina_row.id, now=now)
    assert accounts.user_for_web_session(session, token=lina_web, now=now).id == lina.id
    assert sessions.active_sessions(session, user=omar, now=now) == []

    listed = sessions.active_sessions(session, user=lina, now=now, current_web_token=lina_web)
    assert [(s.kind, s.current) for s in listed] == [("web", True)]
    assert sessions.end_session(session, user=lina, session_id=lina_row.id, now=now) == "web"
    assert accounts.user_for_web_session(session, token=lina_web, now=now) is None


def test_the_session_cookie_is_read_from_the_handshake_header():
    assert session_token_from_cookie_header(f"a=1; {SESSION_COOKIE}=tok-en_1; b=2") == "tok-en_1"
    assert session_token_from_cookie_header("a=1") == ""
    assert session_token_from_cookie_header("") == ""
    assert session_token_from_cookie_header('bad"cookie; =;;') == ""


@pytest.fixture
def tab(fresh_tab):
    return fresh_tab


async def run(state, handler: str, *args):  # noqa: ANN001, ANN201
    return await type(state).event_handlers[handler].fn(state, *args)


@pytest.mark.anyio
async def test_the_account_page_lists_and_ends_sessions_and_no_token_reaches_the_browser(tab, session, now):
    user = make_user(session, email="lina@example.org", now=now)
    _, token = accounts.log_in_web(session, email=user.email, password=DEFAULT_PASSWORD, now=now, user_agent="Mine")
    _, other = accounts.log_in_web(session, email=user.email, password=DEFAULT_PASSWORD, now=now, user_agent="Theirs")
    tab.router = RouterData.from_router_data({"headers": {"cookie": f"{SESSION_COOKIE}={token}"}})

    page = await tab.get_state(AccountState)
    await run(page, "load")
    auth = await tab.get_state(AuthState)
    assert page.loaded and auth.is_authenticated and auth._session_token == token
    assert sorted((row["user_agent"], row["current"]) for row in page.sessions) == [("Mine", "1"), ("Theirs", "")]
    assert [row["method"] for row in page.sign_ins] == ["Password", "Password"]
    # What the browser receives (the state serialized as Reflex sends it): no token anywhere.
    sent = json_dumps(tab.dict())
    assert "Mine" in sent
    assert token not in sent and other not in sent

    theirs = next(row["id"] for row in page.sessions if row["user_agent"] == "Theirs")
    await run(page, "end_session", theirs)
    assert [row["user_agent"] for row in page.sessions] == ["Mine"]
    assert accounts.user_for_web_session(session, token=other, now=now) is None

    await run(page, "end_all_sessions")
    assert not auth.is_authenticated and page.sessions == []
    assert accounts.user_for_web_session(session, token=token, now=now) is None
