"""Request dependencies: a database session per request, the clock, the caller and its address.

All of them are `async` and do no I/O, so FastAPI resolves them on the event loop: the only trip to
a worker thread is the endpoint itself (each trip costs about half a millisecond of CPU here, more
than the endpoint's own database work). The caller's token is checked inside the endpoint, on its
thread, by `caller.user(session)` or `caller.require(session)`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from fastapi import Depends, Header, Query, Request
from sqlmodel import Session

from bilten import clock, ratelimit, routes
from bilten.db import get_engine
from bilten.models import User
from bilten.observability.context import note_user
from bilten.services.accounts import user_for_access_token, user_for_web_session
from bilten.services.devices import is_device_token, user_for_device_token
from bilten.services.errors import InvalidToken, NotAuthenticated


async def get_session() -> AsyncIterator[Session]:
    # Creating a session connects to nothing; the endpoint's thread does the database work.
    session = Session(get_engine(), expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()


async def get_now() -> datetime:
    return clock.now()


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@dataclass(frozen=True)
class Caller:
    """Who is asking: a bearer token (an access token, or a scanning device's token), or nobody."""

    token: str
    now: datetime

    def user(self, session: Session) -> User | None:
        """The signed-in user, None for anonymous callers; a bad token is refused, not ignored.

        A scanning device's token is refused here: a phone left at the door checks tickets in
        (`scanner`), it does not manage the organization, its orders or its team."""
        if not self.token:
            return None
        if is_device_token(self.token):
            raise InvalidToken()
        return note_user(user_for_access_token(session, token=self.token, now=self.now))

    def require(self, session: Session) -> User:
        user = self.user(session)
        if user is None:
            raise NotAuthenticated()
        return user

    def scanner(self, session: Session) -> User:
        """For the door's endpoints: the user behind a scanning device's token or an access token."""
        if is_device_token(self.token):
            return note_user(user_for_device_token(session, token=self.token, now=self.now)[0])
        return self.require(session)


async def get_caller(request: Request, now: datetime = Depends(get_now)) -> Caller:
    return Caller(token=bearer_token(request), now=now)


def client_address_of(request: Request) -> str:
    """The client's address for rate limits: the socket's peer, or behind TRUSTED_PROXIES the
    right-most untrusted X-Forwarded-For entry (see bilten/ratelimit.py)."""
    peer = request.client.host if request.client else ""
    return ratelimit.client_address(peer, request.headers.get("x-forwarded-for"))


async def get_client_address(request: Request) -> str:
    return client_address_of(request)


def rate_limited(limit: ratelimit.Limit) -> Any:
    """A route dependency counting each request against `limit` per client address, on the event
    loop before the endpoint takes a worker thread: refused requests cost no thread or connection.
    Per-account limits need the body: such routes declare their own dependency (see api/auth.py)."""

    async def within_limit(address: str = Depends(get_client_address)) -> None:
        await ratelimit.check(limit, address=address)

    return Depends(within_limit)


async def get_order_link(
    token: str | None = Query(None, max_length=100, description="the order's signed link token"),
    x_order_token: str | None = Header(None, max_length=100),
) -> str:
    """A guest's proof of an order: the signed link token, as a query parameter or a header."""
    return (x_order_token or token or "").strip()


def token_or_cookie_user(request: Request, caller: Caller, session: Session) -> User:
    """A bearer token when given, else the browser's web session (a link in the back office)."""
    if caller.token:
        return caller.require(session)
    cookie = unquote(request.cookies.get(routes.WEB_SESSION_COOKIE, ""))
    user = user_for_web_session(session, token=cookie, now=caller.now)
    if user is None:
        raise NotAuthenticated()
    return user
