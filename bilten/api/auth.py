"""`/api/v1/auth/...`: register, confirm the email address, log in (and unlock), rotate tokens, log out, who am I."""

from __future__ import annotations

from datetime import datetime

from fastapi import Depends, Request
from pydantic import BaseModel, Field
from sqlmodel import Session

from bilten.api.deps import Caller, get_caller, get_now, get_session
from bilten.api.errors import request_locale
from bilten.api.routing import api_router
from bilten.models import UserPublic
from bilten.services import accounts, login_guard, verification

router = api_router(prefix="/api/v1/auth", tags=["auth"])


class RegisterIn(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1000)
    full_name: str = Field(default="", max_length=1000)
    locale: str | None = None


class LoginIn(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1000)
    # From the link emailed when failed logins locked the address: lets its owner in despite the lock.
    unlock_token: str = Field(default="", max_length=200)


class TokenIn(BaseModel):
    token: str = Field(max_length=200)


class UnlockOut(BaseModel):
    email: str


class VerifiedOut(BaseModel):
    email_verified: bool
    organization_id: str | None = None


class ResendOut(BaseModel):
    status: str  # "sent" or "already_verified"


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


def _token_out(pair: accounts.TokenPair) -> TokenPairOut:
    return TokenPairOut(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        token_type=pair.token_type,
        expires_in=pair.expires_in,
    )


@router.post("/register", status_code=201, response_model=UserPublic)
def register(
    body: RegisterIn, request: Request, session: Session = Depends(get_session), now: datetime = Depends(get_now)
) -> UserPublic:
    """201 with the account, the same whether or not the address had one (its owner is emailed)."""
    signup = accounts.register_user(
        session,
        email=body.email,
        password=body.password,
        full_name=body.full_name,
        locale=body.locale or request_locale(request),
        now=now,
    )
    return signup.public


@router.post("/login", response_model=TokenPairOut)
def login(body: LoginIn, session: Session = Depends(get_session), now: datetime = Depends(get_now)) -> TokenPairOut:
    return _token_out(
        accounts.log_in_api(session, email=body.email, password=body.password, now=now, unlock_token=body.unlock_token)
    )


@router.post("/unlock", response_model=UnlockOut)
def unlock(body: TokenIn, session: Session = Depends(get_session), now: datetime = Depends(get_now)) -> UnlockOut:
    """Follow an unlock link: the lock is lifted; log in with `unlock_token` set to the same token."""
    return UnlockOut(email=login_guard.unlock_login(session, token=body.token, now=now))


@router.post("/verify-email", response_model=VerifiedOut)
def verify_email(
    body: TokenIn, session: Session = Depends(get_session), now: datetime = Depends(get_now)
) -> VerifiedOut:
    verified = verification.verify_email(session, token=body.token, now=now)
    organization = verified.organization
    return VerifiedOut(email_verified=True, organization_id=str(organization.id) if organization else None)


@router.post("/verify-email/resend", status_code=202, response_model=ResendOut)
def resend_verification(
    caller: Caller = Depends(get_caller), session: Session = Depends(get_session), now: datetime = Depends(get_now)
) -> ResendOut:
    user = caller.require(session)
    sent = verification.resend_verification(session, user_id=user.id, now=now)
    return ResendOut(status="sent" if sent else "already_verified")


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


@router.post("/password-reset/request", status_code=202)
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
