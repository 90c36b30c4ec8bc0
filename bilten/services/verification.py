"""Email verification: a new account proves it reads its mailbox before it acts in public.

Until then it may buy tickets and browse, but not found an organization or publish an event
(`require_verified`), so nobody creates organizations or puts events on sale in
someone else's name, and bots cannot squat organization names by the thousand.

Signing up as an organizer keeps the organization's name with the verification link, and the
organization is created when the link is followed (not before): an unconfirmed address owns
nothing, and the slug stays free for whoever really runs the organization. Links are one-time,
only their hash is stored, and work for `EMAIL_VERIFICATION_HOURS`; asking for a new one at most
once a minute. Accepting a team invitation confirms the address too (its link came by email to
that address). Accounts that existed before verification was introduced count as verified.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bilten.models import EmailVerification, Organization, User
from bilten.services import teams
from bilten.services.audit import emit_event, record_audit
from bilten.services.errors import InvalidToken, NotAuthenticated, TooManyRequests
from bilten.services.security import hash_token, new_opaque_token
from bilten.services.transaction import transaction
from bilten.settings import get_settings

RESEND_COOLDOWN = timedelta(minutes=1)


@dataclass(frozen=True)
class Verified:
    user: User
    organization: Organization | None  # founded now, when the account signed up as an organizer


def new_verification_link(session: Session, *, user: User, now: datetime, organization_name: str | None = None) -> str:
    """A fresh link for `user` (inside the caller's transaction; never commits)."""
    token = new_opaque_token()
    session.add(
        EmailVerification(
            user_id=user.id,
            token_hash=hash_token(token),
            organization_name=organization_name,
            created_at=now,
            expires_at=now + timedelta(hours=get_settings().email_verification_hours),
        )
    )
    return f"{get_settings().public_url.rstrip('/')}/verify-email?token={token}"


def resend_verification(session: Session, *, user_id: uuid.UUID, now: datetime) -> bool:
    """Email a new verification link; False when the address is confirmed already."""
    with transaction(session):
        user = session.get(User, user_id)
        if user is None or not user.is_active:
            raise NotAuthenticated()
        if user.email_verified_at is not None:
            return False
        pending = session.exec(
            select(EmailVerification)
            .where(EmailVerification.user_id == user.id, col(EmailVerification.used_at).is_(None))
            .order_by(col(EmailVerification.created_at).desc())
        ).first()
        if pending is not None and pending.created_at > now - RESEND_COOLDOWN:
            raise TooManyRequests(minutes=int(RESEND_COOLDOWN.total_seconds() // 60))
        # A pending organization name travels to the new link (the old links keep working too).
        organization_name = pending.organization_name if pending is not None else None
        verify_url = new_verification_link(session, user=user, now=now, organization_name=organization_name)
        emit_event(
            session,
            topic="user.verification_requested",
            payload={"user_id": str(user.id), "verify_url": verify_url},
            now=now,
        )
        record_audit(
            session,
            action="user.verification_requested",
            object_type="user",
            object_id=user.id,
            now=now,
            actor_user_id=user.id,
        )
        return True


def verify_email(session: Session, *, token: str, now: datetime) -> Verified:
    """Follow a verification link: the address is confirmed, and a pending organization founded."""
    with transaction(session):
        link = session.exec(
            select(EmailVerification).where(EmailVerification.token_hash == hash_token(token or "")).with_for_update()
        ).first()
        if link is None or link.used_at is not None or link.expires_at <= now:
            raise InvalidToken()
        user = session.get(User, link.user_id)
        if user is None or not user.is_active:
            raise InvalidToken()
        link.used_at = now
        session.add(link)
        if user.email_verified_at is None:
            user.email_verified_at = now
            session.add(user)
            record_audit(
                session,
                action="user.email_verified",
                object_type="user",
                object_id=user.id,
                now=now,
                actor_user_id=user.id,
            )
        organization = None
        if link.organization_name:
            organization = teams.add_owned_organization(session, owner=user, name=link.organization_name, now=now)
            # Every other pending link forgets the name: the organization is founded once.
            for other in session.exec(
                select(EmailVerification).where(
                    EmailVerification.user_id == user.id, col(EmailVerification.organization_name).is_not(None)
                )
            ).all():
                other.organization_name = None
                session.add(other)
        return Verified(user=user, organization=organization)
