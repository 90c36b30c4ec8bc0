"""Scanning devices: a staff member signs a phone in once and it scans all event long.

The phone keeps a long-lived random token (only its hash is stored here) and can be revoked by its
owner, the event's organizers or an admin; a revoked or expired device is refused at once.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from bilten.models import Role, ScanDevice, User
from bilten.services.accounts import check_credentials
from bilten.services.audit import record_audit
from bilten.services.errors import Forbidden, InvalidToken, NotFound
from bilten.services.security import hash_token, new_opaque_token
from bilten.services.transaction import transaction
from bilten.services.validation import clean_name

DEVICE_TOKEN_PREFIX = "bdv_"
DEVICE_LIFETIME = timedelta(days=7)
SEEN_TOUCH_INTERVAL = timedelta(minutes=5)


class DeviceSignIn(BaseModel):
    """A device just signed in; its token is shown this once (`/api/v1/devices` returns it)."""

    model_config = ConfigDict(frozen=True)

    device_id: uuid.UUID
    token: str = Field(serialization_alias="device_token")
    expires_at: datetime
    email: str


def is_device_token(token: str) -> bool:
    return token.startswith(DEVICE_TOKEN_PREFIX)


def sign_in_device(
    session: Session, *, email: str, password: str, name: str, now: datetime, otp: str = ""
) -> DeviceSignIn:
    with transaction(session):
        user = check_credentials(session, email=email, password=password, now=now, otp=otp)
        token = DEVICE_TOKEN_PREFIX + new_opaque_token()
        device = ScanDevice(
            user_id=user.id,
            name=clean_name(name, max_length=100) or "Scanner",
            token_hash=hash_token(token),
            created_at=now,
            last_seen_at=now,
            expires_at=now + DEVICE_LIFETIME,
        )
        session.add(device)
        record_audit(
            session,
            action="device.signed_in",
            object_type="device",
            object_id=device.id,
            now=now,
            actor_user_id=user.id,
            data={"name": device.name},
        )
        return DeviceSignIn(device_id=device.id, token=token, expires_at=device.expires_at, email=user.email)


# Every scan authenticates its device: one prebuilt query for the device and its user.
_DEVICE_WITH_USER = (
    select(ScanDevice, User)
    .join(User, col(User.id) == ScanDevice.user_id)
    .where(ScanDevice.token_hash == bindparam("token_hash"))
)


def user_for_device_token(session: Session, *, token: str, now: datetime) -> tuple[User, ScanDevice]:
    row = session.execute(_DEVICE_WITH_USER, {"token_hash": hash_token(token)}).first()
    if row is None:
        raise InvalidToken()
    device, user = row
    if device.revoked_at is not None or device.expires_at <= now or not user.is_active:
        raise InvalidToken()
    if now - device.last_seen_at >= SEEN_TOUCH_INTERVAL:
        with transaction(session):  # the read above belongs to it: a read alone needs no commit
            device.last_seen_at = now
            session.add(device)
    return user, device


def revoke_device(session: Session, *, actor: User | None, device_id: uuid.UUID, now: datetime) -> None:
    """The device's owner or an admin may revoke it."""
    with transaction(session):
        device = session.get(ScanDevice, device_id)
        if device is None:
            raise NotFound()
        if actor is None or (actor.id != device.user_id and actor.role != Role.ADMIN):
            raise Forbidden()
        if device.revoked_at is None:
            device.revoked_at = now
            session.add(device)
            record_audit(
                session,
                action="device.revoked",
                object_type="device",
                object_id=device.id,
                now=now,
                actor_user_id=actor.id,
            )


def list_devices(session: Session, *, actor: User) -> list[ScanDevice]:
    return list(
        session.exec(
            select(ScanDevice).where(ScanDevice.user_id == actor.id).order_by(col(ScanDevice.created_at).desc())
        ).all()
    )
