"""Audit entries and outbox events, written inside the caller's transaction (never committed here)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bilten.models import AuditEntry, OutboxEvent


def record_audit(
    session: Session,
    *,
    action: str,
    object_type: str,
    object_id: uuid.UUID | str,
    now: datetime,
    actor_user_id: uuid.UUID | None = None,
    organization_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            actor_user_id=actor_user_id,
            organization_id=organization_id,
            data=data or {},
            created_at=now,
        )
    )


def emit_event(session: Session, *, topic: str, payload: dict[str, Any], now: datetime) -> None:
    session.add(OutboxEvent(topic=topic, payload=payload, created_at=now))
