"""`/api/v1/auth/...`: register, log in, rotate tokens, log out, who am I."""

from __future__ import annotations

from datetime import datetime

from fastapi import Depends, Request
from pydantic import BaseModel, Field
from sqlmodel import Session

from bilten import ratelimit
from bilten.api.deps import Caller, get_caller, get_client_address, get_now, get_session, rate_limited
from bilten.api.errors import request_locale
from bilten.api.routing import api_router
from bilten.models import UserPublic
from bilten.services import accounts

router = api_router(prefix="/api/v1/auth", tags=["auth"])


class RegisterIn(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1000)
    full_name: str = Field(default="", max_length=1000)
    locale: str | None = None


class LoginIn(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1000)


class RefreshIn(BaseModel):
    refresh_token: str = Field(max_length=200)


class ResetRequestIn(BaseModel):
    email: str = Field(max_length=320)


class ResetConfirmIn(BaseModel):
    token: str = Field(max_length=200)
    password: str = Field(max_length=1000)


class TokenPairOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


async def _login_within_limits(body: LoginIn, address: str = Depends(get_client_address)) -> None:
    await ratelimit.check(ratelimit.LOGIN, address=address, account=body.email)


async def _reset_within_limits(body: ResetRequestIn, address: str = Depends(get_client_address)) -> None:
    await ratelimit.check(ratelimit.PASSWORD_RESET, address=address, account=body.email)


def _token_out(pair: accounts.TokenPair) -> TokenPairOut:
    return TokenPairOut(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        token_type=pair.token_type,
        expires_in=pair.expires_in,
    )


@router.post("/register", status_code=201, response_model=UserPublic, dependencies=[rate_limited(ratelimit.REGISTER)])
def register(
    body: RegisterIn, request: Request, session: Session = Depends(get_session), now: datetime = Depends(get_now)
) -> UserPublic:
    user = accounts.register_user(
        session,
        email=body.email,
        password=body.password,
        full_name=body.full_name,
        locale=body.locale or request_locale(request),
        now=now,
    )
    return UserPublic.of(user)


@router.post("/login", response_model=TokenPairOut, dependencies=[Depends(_login_within_limits)])
def login(body: LoginIn, session: Session = Depends(get_session), now: datetime = Depends(get_now)) -> TokenPairOut:
    return _token_out(accounts.log_in_api(session, email=body.email, password=body.password, now=now))


@router.post("/refresh", response_model=TokenPairOut)
def refresh(body: RefreshIn, session: Session = Depends(get_session), now: datetime = Depends(get_now)) -> TokenPairOut:
    return _token_out(accounts.refresh_api_tokens(session, refresh_token=body.refresh_token, now=now))


@router.post("/logout", status_code=204)
def logout(body: RefreshIn, session: Session = Depends(get_session), now: datetime = Depends(get_now)) -> None:
    accounts.log_out_api(session, refresh_token=body.refresh_token, now=now)


@router.get("/me", response_model=UserPublic)
def me(caller: Caller = Depends(get_caller), session: Session = Depends(get_session)) -> UserPublic:
    user = caller.require(session)
    return UserPublic.of(user)


@router.post("/password-reset/request", status_code=202, dependencies=[Depends(_reset_within_limits)])
def request_password_reset(
    body: ResetRequestIn, session: Session = Depends(get_session), now: datetime = Depends(get_now)
) -> dict:
    """Always 202, whether or not the address has an account."""
    accounts.request_password_reset(session, email=body.email, now=now)
    return {"status": "accepted"}


@router.post("/password-reset/confirm", status_code=204)
def confirm_password_reset(
    body: ResetConfirmIn, session: Session = Depends(get_session), now: datetime = Depends(get_now)
) -> None:
    accounts.reset_password(session, token=body.token, new_password=body.password, now=now)
