"""A user's own sign-ins and sessions: the history, the live sessions, ending one or all of them.

A session is either a browser login (`WebSession`) or an API login (`ApiSession`, one per refresh
family). Every function takes the acting user and only ever reads or ends that user's rows: another
user's session id answers "not found", exactly like an unknown one.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlmodel import Session, col, select, update

from bilten.models import ApiSession, RefreshToken, SignInMethod, SignInRecord, User, WebSession
from bilten.services.accounts import revoke_all_user_sessions
from bilten.services.audit import record_audit
from bilten.services.errors import NotFound
from bilten.services.security import hash_token
from bilten.services.transaction import transaction
from bilten.settings import get_settings

SIGN_IN_HISTORY_LIMIT = 20


class SignInView(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    method: SignInMethod
    client_address: str
    user_agent: str


class SessionView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    kind: Literal["web", "api"]
    created_at: datetime
    last_seen_at: datetime
    client_address: str
    user_agent: str
    current: bool = False


def recent_sign_ins(session: Session, *, user: User, limit: int = SIGN_IN_HISTORY_LIMIT) -> list[SignInView]:
    rows = session.exec(
        select(SignInRecord)
        .where(SignInRecord.user_id == user.id)
        .order_by(col(SignInRecord.at).desc(), col(SignInRecord.id))
        .limit(limit)
    ).all()
    return [
        SignInView(at=r.at, method=r.method, client_address=r.client_address, user_agent=r.user_agent) for r in rows
    ]


def active_sessions(
    session: Session,
    *,
    user: User,
    now: datetime,
    current_web_token: str = "",
    current_api_session_id: uuid.UUID | None = None,
) -> list[SessionView]:
    """The user's live sessions, newest activity first; `current` marks the caller's own."""
    settings = get_settings()
    current_hash = hash_token(current_web_token) if current_web_token else ""
    web_rows = session.exec(
        select(WebSession).where(
            WebSession.user_id == user.id,
            col(WebSession.revoked_at).is_(None),
            col(WebSession.grant_hash).is_(None),  # a login whose browser never collected its cookie
            WebSession.expires_at > now,
            WebSession.last_seen_at > now - timedelta(minutes=settings.session_idle_minutes),
        )
    ).all()
    api_rows = session.exec(
        select(ApiSession).where(
            ApiSession.user_id == user.id,
            col(ApiSession.revoked_at).is_(None),
            ApiSession.last_seen_at > now - timedelta(days=settings.refresh_token_days),
        )
    ).all()
    views = [
        SessionView(
            id=w.id,
            kind="web",
            created_at=w.created_at,
            last_seen_at=w.last_seen_at,
            client_address=w.client_address,
            user_agent=w.user_agent,
            current=bool(current_hash) and w.token_hash == current_hash,
        )
        for w in web_rows
    ] + [
        SessionView(
            id=a.id,
            kind="api",
            created_at=a.created_at,
            last_seen_at=a.last_seen_at,
            client_address=a.client_address,
            user_agent=a.user_agent,
            current=a.id == current_api_session_id,
        )
        for a in api_rows
    ]
    return sorted(views, key=lambda v: (v.last_seen_at, v.created_at), reverse=True)


def end_session(session: Session, *, user: User, session_id: uuid.UUID, now: datetime) -> Literal["web", "api"]:
    """Sign one of the user's own sessions out; returns its kind. Commits."""
    with transaction(session):
        web_session = session.exec(
            select(WebSession).where(WebSession.id == session_id, WebSession.user_id == user.id)
        ).first()
        if web_session is not None:
            kind: Literal["web", "api"] = "web"
            if web_session.revoked_at is None:
                web_session.revoked_at = now
                session.add(web_session)
        else:
            api_session = session.exec(
                select(ApiSession).where(ApiSession.id == session_id, ApiSession.user_id == user.id)
            ).first()
            if api_session is None:
                raise NotFound()  # unknown, or someone else's: the same answer
            kind = "api"
            session.exec(
                update(RefreshToken)
                .where(col(RefreshToken.family_id) == api_session.id, col(RefreshToken.revoked_at).is_(None))
                .values(revoked_at=now)
            )
            if api_session.revoked_at is None:
                api_session.revoked_at = now
                session.add(api_session)
        record_audit(
            session,
            action="user.session_ended",
            object_type="user",
            object_id=user.id,
            now=now,
            actor_user_id=user.id,
            data={"session_id": str(session_id), "kind": kind},
        )
        return kind


def end_all_sessions(session: Session, *, user: User, now: datetime) -> None:
    """Sign out everywhere: every browser session, refresh token and access token of the user. Commits."""
    with transaction(session):
        revoke_all_user_sessions(session, user_id=user.id, now=now)
        record_audit(
            session,
            action="user.logged_out_everywhere",
            object_type="user",
            object_id=user.id,
            now=now,
            actor_user_id=user.id,
        )
