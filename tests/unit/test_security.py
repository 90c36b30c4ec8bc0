import uuid
from datetime import timedelta

import jwt
import pytest

from bilten.services.errors import InvalidToken
from bilten.services.security import decode_access_token, encode_access_token, hash_token

SECRET = "s" * 48


def _token(now, **overrides):
    return encode_access_token(
        user_id=uuid.uuid4(),
        session_id=uuid.uuid4(),
        password_epoch=1,
        now=now,
        lifetime=timedelta(minutes=15),
        secret=overrides.get("secret", SECRET),
    )


def test_valid_token_decodes(now):
    assert decode_access_token(_token(now), secret=SECRET, now=now)["typ"] == "access"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
        lambda t: t.split(".")[0] + ".e30." + t.split(".")[2],  # payload swapped
        lambda t: "garbage",
    ],
)
def test_forged_tokens_are_refused(now, mangle):
    with pytest.raises(InvalidToken):
        decode_access_token(mangle(_token(now)), secret=SECRET, now=now)


def test_token_signed_with_another_key_is_refused(now):
    with pytest.raises(InvalidToken):
        decode_access_token(_token(now, secret="x" * 48), secret=SECRET, now=now)


def test_unsigned_alg_none_token_is_refused(now):
    token = jwt.encode(
        {"sub": str(uuid.uuid4()), "typ": "access", "iat": int(now.timestamp()), "exp": int(now.timestamp()) + 600},
        None,
        algorithm="none",
    )
    with pytest.raises(InvalidToken):
        decode_access_token(token, secret=SECRET, now=now)


def test_expired_token_is_refused(now):
    with pytest.raises(InvalidToken):
        decode_access_token(_token(now), secret=SECRET, now=now + timedelta(minutes=16))


def test_tokens_are_stored_as_sha256():
    assert len(hash_token("abc")) == 64 and hash_token("abc") != "abc"
