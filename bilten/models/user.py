"""Accounts, web sessions, API refresh tokens and login throttling."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from bilten.models.base import UTCDateTime, enum_type, new_uuid, utcnow


class Role(StrEnum):
    """A user's platform role. Organizer and staff rights are further scoped by
    organization membership and event staff assignments."""

    ADMIN = "admin"
    ORGANIZER = "organizer"
    STAFF = "staff"
    ATTENDEE = "attendee"


class User(SQLModel, table=True):
    __tablename__ = "user_account"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    full_name: str = Field(default="", max_length=200)
    role: Role = Field(default=Role.ATTENDEE, sa_type=enum_type(Role))
    locale: str = Field(default="en", max_length=10)
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    password_changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Set when the owner followed the verification link; founding and publishing wait for it.
    email_verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebSession(SQLModel, table=True):
    """A browser login. The browser holds a random token; only its hash is stored here."""

    __tablename__ = "web_session"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    user_agent: str = Field(default="", max_length=300)
    client_address: str = Field(default="", max_length=64)
    # Set at login, cleared when the browser trades it (once, within a minute) for its cookie: the
    # session token itself never travels through the page or its websocket.
    grant_hash: str | None = Field(default=None, max_length=64, unique=True, index=True)
    grant_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiSession(SQLModel, table=True):
    """An API login: one per refresh-token family (same id). Its access tokens name it in their
    `sid` claim, so logging out, revoking the family or "sign out everywhere" ends them at once."""

    __tablename__ = "api_session"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    user_agent: str = Field(default="", max_length=300)
    client_address: str = Field(default="", max_length=64)


class SignInMethod(StrEnum):
    PASSWORD = "password"
    TWO_FACTOR = "two_factor"
    API = "api"


class SignInRecord(SQLModel, table=True):
    """One successful sign-in, for the account page's history."""

    __tablename__ = "sign_in"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    at: datetime = Field(sa_type=UTCDateTime)
    method: SignInMethod = Field(sa_type=enum_type(SignInMethod))
    client_address: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=300)


class TwoFactor(SQLModel, table=True):
    """A user's TOTP (RFC 6238) secret, sealed with the app key; in force once confirmed with a code."""

    __tablename__ = "two_factor"

    user_id: uuid.UUID = Field(foreign_key="user_account.id", primary_key=True, ondelete="CASCADE")
    secret_sealed: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The newest time step accepted: a code works once, an older one never again.
    last_used_step: int = Field(default=0, sa_type=BigInteger)


class RecoveryCode(SQLModel, table=True):
    """A one-time recovery code for two-factor sign-in; only its SHA-256 is stored (80 random bits)."""

    __tablename__ = "recovery_code"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    code_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RefreshToken(SQLModel, table=True):
    """An API refresh token. Each works once; tokens rotated from one login share a family,
    and presenting a used token revokes the whole family (stolen-token detection)."""

    __tablename__ = "refresh_token"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    family_id: uuid.UUID = Field(index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PasswordResetToken(SQLModel, table=True):
    """A one-time password reset link; only the token's hash is stored."""

    __tablename__ = "password_reset_token"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginThrottle(SQLModel, table=True):
    """Failed logins per email address, known or not, so a lock reveals nothing."""

    __tablename__ = "login_throttle"

    email: str = Field(primary_key=True, max_length=254)
    failures: int = Field(default=0)
    last_failure_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginUnlock(SQLModel, table=True):
    """The link emailed to an account's owner when their address gets locked: following it lifts
    the lock, and the token then lets one correct password in despite any new lock (only its
    hash is stored; a few wrong passwords with it use it up)."""

    __tablename__ = "login_unlock"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failures: int = Field(default=0)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EmailVerification(SQLModel, table=True):
    """A one-time link proving the account's owner reads its mailbox; only the token's hash is
    stored. Signing up as an organizer keeps the organization's name here until then."""

    __tablename__ = "email_verification"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    organization_name: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class UserPublic(SQLModel):
    """What may leave the server about a user: never the password hash."""

    id: uuid.UUID
    email: str
    full_name: str
    role: Role
    locale: str
    email_verified: bool = False

    @classmethod
    def of(cls, user: User) -> UserPublic:
        return cls(
            id=user.id,
            email=user.email,
            full_name=user.full_name,
            role=user.role,
            locale=user.locale,
            email_verified=user.email_verified_at is not None,
        )
