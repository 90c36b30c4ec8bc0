"""`/api/v1/auth/...`: register, confirm the email address, log in (and unlock), rotate tokens, log out,
who am I, sessions; and the two browser endpoints that set and clear the HttpOnly session cookie of the web UI."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import Depends, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from sqlmodel import Session

from bilten import ratelimit, routes
from bilten.api.deps import Caller, get_caller, get_client_address, get_now, get_session, rate_limited
from bilten.api.errors import error_responses, request_locale
from bilten.api.routing import api_router
from bilten.models import UserPublic
from bilten.services import accounts, login_guard, sessions, two_factor, verification
from bilten.services.accounts import TokenPair
from bilten.services.errors import InvalidToken
from bilten.services.two_factor import Enrolment
from bilten.settings import get_settings

router = api_router(prefix="/api/v1/auth", tags=["auth"], responses=error_responses(401, 409, 422, 429))


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
    # Accounts with two-factor sign-in: a first try without it answers 401 `two_factor_required`.
    otp: str = Field(default="", max_length=40, description="one-time code or recovery code")


class TwoFactorConfirmIn(BaseModel):
    code: str = Field(max_length=40)


class TwoFactorDisableIn(BaseModel):
    password: str = Field(max_length=1000)
    code: str = Field(max_length=40, description="one-time code or recovery code")


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str]


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


async def _login_within_limits(body: LoginIn, address: str = Depends(get_client_address)) -> None:
    await ratelimit.check(ratelimit.LOGIN, address=address, account=body.email)


async def _reset_within_limits(body: ResetRequestIn, address: str = Depends(get_client_address)) -> None:
    await ratelimit.check(ratelimit.PASSWORD_RESET, address=address, account=body.email)


@router.post("/register", status_code=201, response_model=UserPublic, dependencies=[rate_limited(ratelimit.REGISTER)])
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


@router.post("/login", response_model=TokenPair, dependencies=[Depends(_login_within_limits)])
def login(
    body: LoginIn,
    request: Request,
    address: str = Depends(get_client_address),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> TokenPair:
    return accounts.log_in_api(
        session,
        email=body.email,
        password=body.password,
        now=now,
        user_agent=request.headers.get("user-agent", ""),
        client_address=address,
        otp=body.otp,
        unlock_token=body.unlock_token,
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


@router.post("/refresh", response_model=TokenPair)
def refresh(body: RefreshIn, session: Session = Depends(get_session), now: datetime = Depends(get_now)) -> TokenPair:
    return accounts.refresh_api_tokens(session, refresh_token=body.refresh_token, now=now)


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


@router.get("/sessions", response_model=list[sessions.SessionView])
def list_sessions(
    caller: Caller = Depends(get_caller), session: Session = Depends(get_session)
) -> list[sessions.SessionView]:
    """The caller's live sessions, browsers and API logins; `current` marks the one asking."""
    user = caller.require(session)
    return sessions.active_sessions(
        session, user=user, now=caller.now, current_api_session_id=accounts.access_token_session_id(caller.token)
    )


@router.get("/sign-ins", response_model=list[sessions.SignInView])
def list_sign_ins(
    caller: Caller = Depends(get_caller), session: Session = Depends(get_session)
) -> list[sessions.SignInView]:
    return sessions.recent_sign_ins(session, user=caller.require(session))


@router.delete("/sessions/{session_id}", status_code=204)
def end_session(session_id: uuid.UUID, caller: Caller = Depends(get_caller), session: Session = Depends(get_session)):
    sessions.end_session(session, user=caller.require(session), session_id=session_id, now=caller.now)


@router.post("/logout-all", status_code=204)
def log_out_everywhere(caller: Caller = Depends(get_caller), session: Session = Depends(get_session)) -> None:
    """Sign out every browser and API login of the caller, this access token included."""
    sessions.end_all_sessions(session, user=caller.require(session), now=caller.now)


@router.post("/two-factor/setup", response_model=Enrolment)
def set_up_two_factor(caller: Caller = Depends(get_caller), session: Session = Depends(get_session)) -> Enrolment:
    """A new TOTP secret for the caller (not in force until confirmed with a code)."""
    return two_factor.begin_enrolment(session, user=caller.require(session), now=caller.now)


@router.post("/two-factor/confirm", response_model=RecoveryCodesOut)
def confirm_two_factor(
    body: TwoFactorConfirmIn, caller: Caller = Depends(get_caller), session: Session = Depends(get_session)
) -> RecoveryCodesOut:
    """Turn two-factor sign-in on with a first code; the recovery codes are shown this once."""
    codes = two_factor.confirm_enrolment(session, user=caller.require(session), code=body.code, now=caller.now)
    return RecoveryCodesOut(recovery_codes=codes)


# Both take a code: the login limit per address stops guessing codes with a stolen session.
@router.post(
    "/two-factor/recovery-codes",
    response_model=RecoveryCodesOut,
    responses=error_responses(409),
    dependencies=[rate_limited(ratelimit.LOGIN)],
)
def regenerate_recovery_codes(
    body: TwoFactorConfirmIn, caller: Caller = Depends(get_caller), session: Session = Depends(get_session)
) -> RecoveryCodesOut:
    """Replace every recovery code with ten new ones (shown this once) after a current code from the app."""
    codes = two_factor.regenerate_recovery_codes(session, user=caller.require(session), code=body.code, now=caller.now)
    return RecoveryCodesOut(recovery_codes=codes)


@router.post(
    "/two-factor/disable",
    status_code=204,
    responses=error_responses(403, 409),
    dependencies=[rate_limited(ratelimit.LOGIN)],
)
def disable_two_factor(
    body: TwoFactorDisableIn, caller: Caller = Depends(get_caller), session: Session = Depends(get_session)
) -> None:
    """Turn two-factor sign-in off with the password and a current code; 403 `two_factor_mandatory`
    when REQUIRE_2FA covers the caller."""
    two_factor.disable(session, user=caller.require(session), password=body.password, code=body.code, now=caller.now)


# -- the web UI's session cookie ----------------------------------------------------------------


def _from_this_site(request: Request) -> bool:
    """A navigation from one of this site's pages, or typed in (browsers say so in Sec-Fetch-Site;
    clients that send no such header are not browsers another site could steer)."""
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


def _cookie_options() -> dict:
    settings = get_settings()
    return {
        "key": routes.WEB_SESSION_COOKIE,
        "path": "/",
        "httponly": True,  # no script on the page can read it
        "secure": settings.public_url.startswith("https://"),
        "samesite": "lax",
    }


@router.get(routes.WEB_SESSION_START.removeprefix("/api/v1/auth"), include_in_schema=False)
def start_web_session(
    request: Request,
    grant: str = Query("", max_length=100),
    next_path: str = Query("", alias=routes.NEXT_PARAM, max_length=2000),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> RedirectResponse:
    """The login page sends the browser here with a one-time grant: set the cookie, go on to `next`
    (a path on this site only). A used, expired or forged grant goes back to the login page, and so
    does a navigation from another site (it could sign the visitor in to someone else's account)."""
    target = routes.safe_next(next_path)
    if not _from_this_site(request):
        return RedirectResponse(routes.login_url(target), status_code=303)
    try:
        token = accounts.redeem_web_login_grant(session, grant=grant, now=now)
    except InvalidToken:
        return RedirectResponse(routes.login_url(target), status_code=303)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(value=token, max_age=get_settings().session_max_days * 24 * 60 * 60, **_cookie_options())
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(routes.WEB_SESSION_END.removeprefix("/api/v1/auth"), include_in_schema=False)
def end_web_session(
    request: Request,
    next_path: str = Query("", alias=routes.NEXT_PARAM, max_length=2000),
    session: Session = Depends(get_session),
    now: datetime = Depends(get_now),
) -> RedirectResponse:
    """Logging out of the web UI: revoke the cookie's session and clear the cookie.

    Only for navigations from this site (or typed in): another site linking here cannot sign
    the visitor out (the browser's Sec-Fetch-Site header says where the navigation came from)."""
    response = RedirectResponse(routes.safe_next(next_path, default=routes.HOME), status_code=303)
    if _from_this_site(request):
        accounts.log_out_web(session, token=request.cookies.get(routes.WEB_SESSION_COOKIE, ""), now=now)
        response.delete_cookie(**_cookie_options())
    response.headers["Cache-Control"] = "no-store"
    return response
