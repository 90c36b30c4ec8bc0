"""Password hashing, opaque token hashing and signed access tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta

import jwt
from passlib.context import CryptContext

from bilten.services.errors import InvalidToken

# Argon2id with OWASP's minimum (19 MiB, 2 passes, 1 lane): strong and about 20 ms per hash.
password_context = CryptContext(
    schemes=["argon2"],
    argon2__type="ID",
    argon2__memory_cost=19456,
    argon2__time_cost=2,
    argon2__parallelism=1,
)

JWT_ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "access"
CLOCK_SKEW_SECONDS = 60


def hash_password(password: str) -> str:
    return password_context.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return password_context.verify(password, password_hash)
    except (ValueError, TypeError):
        return False


# Verified against for unknown emails, so "no such user" costs as much time as "wrong password".
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def burn_password_check(password: str) -> None:
    verify_password(password, _DUMMY_HASH)


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Tokens are stored hashed: a leaked table gives no working token."""
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_equal(a: str, b: str) -> bool:
    """Constant-time comparison of any two strings. (compare_digest refuses str with non-ASCII
    characters with a TypeError, which a crafted `?token=é` turned into a server error.)"""
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


def encode_access_token(
    *,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    password_epoch: int,
    now: datetime,
    lifetime: timedelta,
    secret: str,
) -> str:
    claims = {
        "sub": str(user_id),
        "sid": str(session_id),  # the API session (refresh family): ending it ends this token
        "typ": ACCESS_TOKEN_TYPE,
        "pwd": password_epoch,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


def decode_access_token(token: str, *, secret: str, now: datetime) -> dict:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[JWT_ALGORITHM],
            options={"require": ["sub", "sid", "exp", "iat", "typ"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken("malformed or forged token") from exc
    # Times are checked against the given clock so tests (and the API) agree on "now".
    moment = int(now.timestamp())
    if claims.get("typ") != ACCESS_TOKEN_TYPE or claims["exp"] <= moment or claims["iat"] > moment + CLOCK_SKEW_SECONDS:
        raise InvalidToken("expired or wrong token type")
    return claims
