"""Input rules shared by pages and the API. Each failure names a translatable message key."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from bilten.services.errors import ValidationFailed
from bilten.services.text import clean_text, refuse_hidden_characters

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 128  # argon2 would take more, but nobody types 200 characters: reject
COMMON_PASSWORDS = frozenset(
    {
        "password12",
        "password123",
        "1234567890",
        "12345678910",
        "qwertyuiop",
        "iloveyou123",
        "passw0rd123",
        "letmein123",
        "welcome123",
        "administrator",
        "abcdefghij",
        "0987654321",
    }
)
PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9 ()\-]{5,19}$")


def clean_email(raw: str) -> str:
    """A normalized email address (lower-case domain and local part), or a validation error."""
    value = refuse_hidden_characters(raw or "").strip()
    if not value or len(value) > 254:
        raise ValidationFailed("error.email_invalid")
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed("error.email_invalid") from exc
    return result.normalized.lower()


def check_password_strength(password: str, *, email: str = "") -> None:
    if len(password) > PASSWORD_MAX_LENGTH:
        raise ValidationFailed("error.password_too_long", max=PASSWORD_MAX_LENGTH)
    if len(password) < PASSWORD_MIN_LENGTH:
        raise ValidationFailed("error.password_too_short", min=PASSWORD_MIN_LENGTH)
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(password)) < 4:
        raise ValidationFailed("error.password_too_common")
    local_part = email.split("@")[0].lower()
    if local_part and len(local_part) >= 4 and local_part in lowered:
        raise ValidationFailed("error.password_contains_email")


def clean_phone(raw: str, *, required: bool = False) -> str:
    value = (raw or "").strip()
    if not value:
        if required:
            raise ValidationFailed("error.phone_invalid")
        return ""
    if not PHONE_PATTERN.match(value) or sum(ch.isdigit() for ch in value) < 6:
        raise ValidationFailed("error.phone_invalid")
    return value


def clean_name(raw: str, *, max_length: int = 200) -> str:
    """One line of display text (a person's, organization's, event's or ticket type's name, a
    place): hidden characters dropped, NFC, spaces collapsed (see `services/text.py`)."""
    return clean_text(raw, max_length=max_length)
