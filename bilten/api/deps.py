"""Request dependencies: a database session per request, the clock, and the caller."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from fastapi import Depends, Request
from sqlmodel import Session

from bilten.db import get_engine
from bilten.models import User
from bilten.services.accounts import user_for_access_token
from bilten.services.devices import is_device_token, user_for_device_token
from bilten.services.errors import NotAuthenticated


def get_session() -> Iterator[Session]:
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


async def get_now() -> datetime:
    # async: FastAPI runs it on the event loop instead of sending it to a worker thread
    return datetime.now(UTC)


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _user_for_token(session: Session, token: str, now: datetime) -> User:
    """A short-lived access token (JWT), or a scanning device's long-lived token."""
    if is_device_token(token):
        return user_for_device_token(session, token=token, now=now)[0]
    return user_for_access_token(session, token=token, now=now)


def current_user(
    request: Request, session: Session = Depends(get_session), now: datetime = Depends(get_now)
) -> User:
    token = bearer_token(request)
    if not token:
        raise NotAuthenticated()
    return _user_for_token(session, token, now)


def optional_user(
    request: Request, session: Session = Depends(get_session), now: datetime = Depends(get_now)
) -> User | None:
    token = bearer_token(request)
    return _user_for_token(session, token, now) if token else None
