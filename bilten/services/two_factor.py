"""Two-factor sign-in: TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps) and recovery codes.

- The secret is sealed with the app key (`ticket_codes.seal`, as event signing keys are) and shown
  to the user once, while enrolling, as an otpauth URI (a QR code) and as text.
- A code is accepted for the current step and one step either side (phone clocks drift), and each
  step works once: the newest accepted step is stored and nothing at or before it passes again.
- Ten recovery codes of 80 random bits each are shown once and stored as SHA-256 hashes; each
  works once in place of a code.
- Who must use it is a platform setting (REQUIRE_2FA: admins, organization owners); they cannot
  turn it off themselves; an admin can reset it (a lost phone, `users.reset_two_factor`), and
  then they enrol again.
- Managing it (new recovery codes, turning it off) needs a current code from the app: a stolen
  browser session alone cannot weaken the account.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
import struct
import uuid
from datetime import datetime
from urllib.parse import quote

import qrcode
import qrcode.image.svg
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, delete, select

from bilten.models import Membership, RecoveryCode, Role, TeamRole, TwoFactor, User
from bilten.services.audit import emit_event, record_audit
from bilten.services.errors import (
    InvalidCredentials,
    InvalidOneTimeCode,
    TwoFactorAlreadyOn,
    TwoFactorMandatory,
    TwoFactorNotOn,
)
from bilten.services.security import verify_password
from bilten.services.ticket_codes import seal, unseal
from bilten.services.transaction import transaction
from bilten.settings import get_settings

ISSUER = "Bilten"
STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
_SEAL_PURPOSE = b"totp"


class Enrolment(BaseModel):
    """A two-factor secret being set up (`/api/v1/auth/two-factor/setup` returns it, without the picture)."""

    model_config = ConfigDict(frozen=True)

    secret: str  # base32, as authenticator apps take it by hand
    otpauth_uri: str
    qr_svg_data_uri: str = Field(exclude=True)  # an inline image for the account page: no CDN, no request


def time_step(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def totp_code(secret: str, step: int) -> str:
    """The code of `step` for a base32 secret (RFC 6238 over RFC 4226's HOTP)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**DIGITS).zfill(DIGITS)


def matching_step(secret: str, code: str, now: datetime, *, after_step: int = 0) -> int | None:
    """The time step `code` belongs to (within the drift window, newer than `after_step`), or None."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    current = time_step(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if step > after_step and hmac.compare_digest(totp_code(secret, step), code):
            return step
    return None


def _recovery_hash(code: str) -> str:
    normalized = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(normalized.encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()  # 80 bits, 16 characters
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _qr_svg_data_uri(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def is_enrolled(session: Session, user: User) -> bool:
    row = session.get(TwoFactor, user.id)
    return row is not None and row.confirmed_at is not None


def must_enrol(session: Session, user: User) -> bool:
    """The platform requires two-factor sign-in of this user and they have not set it up yet."""
    return not is_enrolled(session, user) and is_required(session, user)


def is_required(session: Session, user: User) -> bool:
    """REQUIRE_2FA covers this user (whether or not they have set it up)."""
    groups = get_settings().two_factor_groups
    if not groups:
        return False
    if "admins" in groups and user.role == Role.ADMIN:
        return True
    if "owners" in groups:
        owner = session.exec(
            select(Membership.id).where(Membership.user_id == user.id, Membership.team_role == TeamRole.OWNER)
        ).first()
        return owner is not None
    return False


def begin_enrolment(session: Session, *, user: User, now: datetime) -> Enrolment:
    """A new secret, not in force until confirmed with a code from it. Commits."""
    with transaction(session):
        row = session.get(TwoFactor, user.id)
        if row is not None and row.confirmed_at is not None:
            raise TwoFactorAlreadyOn()
        secret = base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")
        sealed = seal(secret.encode(), purpose=_SEAL_PURPOSE)
        if row is None:
            row = TwoFactor(user_id=user.id, secret_sealed=sealed, created_at=now)
        else:
            row.secret_sealed, row.created_at, row.last_used_step = sealed, now, 0
        session.add(row)
    uri = (
        f"otpauth://totp/{quote(ISSUER)}:{quote(user.email)}?secret={secret}&issuer={quote(ISSUER)}"
        f"&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}"
    )
    return Enrolment(secret=secret, otpauth_uri=uri, qr_svg_data_uri=_qr_svg_data_uri(uri))


def confirm_enrolment(session: Session, *, user: User, code: str, now: datetime) -> list[str]:
    """Turn two-factor sign-in on with a first code; returns the recovery codes (shown once). Commits."""
    with transaction(session):
        row = session.get(TwoFactor, user.id)
        if row is not None and row.confirmed_at is not None:
            raise TwoFactorAlreadyOn()
        step = matching_step(_secret_of(row), code, now) if row is not None else None
        if row is None or step is None:
            raise InvalidOneTimeCode()
        row.confirmed_at = now
        row.last_used_step = step
        session.add(row)
        for old in session.exec(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all():
            session.delete(old)
        codes = _replace_recovery_codes(session, user=user, now=now)
        record_audit(
            session,
            action="user.two_factor_enabled",
            object_type="user",
            object_id=user.id,
            now=now,
            actor_user_id=user.id,
        )
        return codes


def _replace_recovery_codes(session: Session, *, user: User, now: datetime) -> list[str]:
    """Delete every recovery code of the user and store ten new ones (hashed); the caller commits."""
    session.exec(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(code), created_at=now) for code in codes)
    return codes


def _locked_enrolment(session: Session, user: User) -> TwoFactor:
    """The user's confirmed enrolment, its row locked so two requests cannot both use one code."""
    row = session.exec(select(TwoFactor).where(TwoFactor.user_id == user.id).with_for_update()).first()
    if row is None or row.confirmed_at is None:
        raise TwoFactorNotOn()
    return row


def regenerate_recovery_codes(session: Session, *, user: User, code: str, now: datetime) -> list[str]:
    """Replace all recovery codes with ten new ones (shown once) after a current code from the
    app; the old ones stop working. Commits."""
    with transaction(session):
        row = _locked_enrolment(session, user)
        step = matching_step(_secret_of(row), code, now, after_step=row.last_used_step)
        if step is None:
            raise InvalidOneTimeCode()
        row.last_used_step = step  # the code is used up, as at sign-in
        session.add(row)
        codes = _replace_recovery_codes(session, user=user, now=now)
        record_audit(
            session,
            action="user.recovery_codes_regenerated",
            object_type="user",
            object_id=user.id,
            now=now,
            actor_user_id=user.id,
        )
        return codes


def disable(session: Session, *, user: User, password: str, code: str, now: datetime) -> None:
    """Turn the user's own two-factor sign-in off, with the password and a current code (or a
    recovery code). Refused while REQUIRE_2FA covers the user. Commits."""
    with transaction(session):
        if is_required(session, user):
            raise TwoFactorMandatory()
        _locked_enrolment(session, user)
        if not verify_password(password, user.password_hash):
            raise InvalidCredentials()
        if not accept_second_factor(session, user=user, code=code, now=now):
            raise InvalidOneTimeCode()
        remove_enrolment(session, user_id=user.id)
        record_audit(
            session,
            action="user.two_factor_disabled",
            object_type="user",
            object_id=user.id,
            now=now,
            actor_user_id=user.id,
        )
        emit_event(session, topic="user.two_factor_off", payload={"user_id": str(user.id), "by_admin": False}, now=now)


def remove_enrolment(session: Session, *, user_id: uuid.UUID) -> None:
    """Delete the enrolment and every recovery code; the caller audits and commits."""
    session.exec(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user_id))
    session.exec(delete(TwoFactor).where(col(TwoFactor.user_id) == user_id))


def accept_second_factor(session: Session, *, user: User, code: str, now: datetime) -> bool:
    """Check a sign-in's one-time code or recovery code and use it up (the caller commits).

    False when it is wrong, already used, or the user has no two-factor sign-in."""
    row = session.get(TwoFactor, user.id)
    if row is None or row.confirmed_at is None or not code:
        return False
    # A replayed code (same step, or an older one) fails here, even within its 90 seconds.
    step = matching_step(_secret_of(row), code, now, after_step=row.last_used_step)
    if step is not None:
        row.last_used_step = step
        session.add(row)
        return True
    recovery = session.exec(
        select(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _recovery_hash(code))
        .with_for_update()
    ).first()
    if recovery is None or recovery.used_at is not None:
        return False
    recovery.used_at = now
    session.add(recovery)
    return True


def recovery_codes_left(session: Session, *, user: User) -> int:
    return len(
        session.exec(
            select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, col(RecoveryCode.used_at).is_(None))
        ).all()
    )


def _secret_of(row: TwoFactor) -> str:
    return unseal(row.secret_sealed, purpose=_SEAL_PURPOSE).decode()
