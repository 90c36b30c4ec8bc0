"""Reading ids from outside (routes, forms, query strings, payloads): the one parser."""

from __future__ import annotations

import uuid


def parse_id(value: object) -> uuid.UUID | None:
    """The UUID `value` names, or None when it names none (empty, malformed, or not text)."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None
