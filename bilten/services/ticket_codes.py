"""Signed ticket codes, checkable offline with only the event's public key (like pretix's signed secrets).

A code is base32 (QR alphanumeric mode, so the QR stays small) of:

    version (1 byte) | event tag (first 4 bytes of the event id) | ticket id (16 bytes) | Ed25519 signature (64 bytes)

85 bytes -> 136 characters. The signature covers the first 21 bytes. Each event has its own key
pair; the private half is stored encrypted with a key derived from SECRET_KEY and never leaves the server.
"""

from __future__ import annotations

import base64
import binascii
import os
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bilten.settings import get_secret_key

CODE_VERSION = 1
PAYLOAD_LENGTH = 1 + 4 + 16
SIGNATURE_LENGTH = 64
CODE_LENGTH = 136  # base32 characters


class InvalidCode(ValueError):
    """Not one of our codes, or its signature does not verify."""


@dataclass(frozen=True)
class ParsedCode:
    event_tag: bytes
    ticket_id: uuid.UUID
    payload: bytes
    signature: bytes


@dataclass(frozen=True)
class EventKeys:
    public_key: str  # base64url, 32 raw bytes
    encrypted_private_key: str  # base64url of nonce | AES-GCM ciphertext


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _wrapping_key() -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"bilten event signing keys").derive(
        get_secret_key().encode()
    )


def generate_event_keys() -> EventKeys:
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    raw_public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return EventKeys(public_key=_b64(raw_public), encrypted_private_key=seal(raw_private, purpose=b"ed25519"))


def seal(raw: bytes, *, purpose: bytes) -> str:
    """Encrypt a server-side secret (event signing keys, TOTP secrets) with the key derived from
    SECRET_KEY: base64url of nonce | AES-GCM ciphertext; `purpose` binds it to its use."""
    nonce = os.urandom(12)
    return _b64(nonce + AESGCM(_wrapping_key()).encrypt(nonce, raw, purpose))


def unseal(sealed: str, *, purpose: bytes) -> bytes:
    blob = _unb64(sealed)
    try:
        return AESGCM(_wrapping_key()).decrypt(blob[:12], blob[12:], purpose)
    except InvalidTag as exc:
        raise RuntimeError("a sealed secret cannot be decrypted: was SECRET_KEY changed?") from exc


def load_private_key(encrypted_private_key: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(unseal(encrypted_private_key, purpose=b"ed25519"))


def load_public_key(public_key: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(_unb64(public_key))


def event_tag(event_id: uuid.UUID) -> bytes:
    return event_id.bytes[:4]


def sign_ticket_code(private_key: Ed25519PrivateKey, *, event_id: uuid.UUID, ticket_id: uuid.UUID) -> str:
    payload = bytes([CODE_VERSION]) + event_tag(event_id) + ticket_id.bytes
    return base64.b32encode(payload + private_key.sign(payload)).decode()


def parse_code(code: str) -> ParsedCode:
    """Split a code into its parts without checking the signature."""
    text = (code or "").strip().upper()
    if len(text) != CODE_LENGTH:
        raise InvalidCode("wrong length")
    try:
        raw = base64.b32decode(text)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCode("not base32") from exc
    payload, signature = raw[:PAYLOAD_LENGTH], raw[PAYLOAD_LENGTH:]
    if payload[0] != CODE_VERSION:
        raise InvalidCode("unknown version")
    return ParsedCode(
        event_tag=payload[1:5], ticket_id=uuid.UUID(bytes=payload[5:21]), payload=payload, signature=signature
    )


def verify_ticket_code(code: str, public_key: Ed25519PublicKey) -> ParsedCode:
    """The code's parts when the event's key signed it; InvalidCode otherwise."""
    parsed = parse_code(code)
    try:
        public_key.verify(parsed.signature, parsed.payload)
    except InvalidSignature as exc:
        raise InvalidCode("bad signature") from exc
    return parsed
