"""What admins see of notifications that could not be delivered, and the "retry" button behind it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, SQLModel, select

from bilten.models import Notification, NotificationStatus, User
from bilten.services.access import Permission, authorize
from bilten.services.audit import record_audit
from bilten.services.errors import BiltenError, NotFound


class NotificationNotFailed(BiltenError):
    code = "notification_not_failed"
    key = "error.notification_not_failed"
    status = 409


class NotificationPublic(SQLModel):
    """A notification as an admin page shows it: never its payload (it may hold a reset link)."""

    id: uuid.UUID
    topic: str
    channel: str
    status: NotificationStatus
    recipient: str
    subject: str
    attempts: int
    last_error: str
    created_at: datetime
    failed_at: datetime | None
    sent_at: datetime | None

    @classmethod
    def of(cls, notification: Notification) -> NotificationPublic:
        return cls.model_validate(notification, from_attributes=True)


def list_failed_notifications(session: Session, *, actor: User | None, limit: int = 200) -> list[NotificationPublic]:
    authorize(session, actor, Permission.ADMIN)
    failed = session.exec(
        select(Notification)
        .where(Notification.status == NotificationStatus.FAILED)
        .order_by(Notification.failed_at.desc(), Notification.id)
        .limit(limit)
    ).all()
    return [NotificationPublic.of(notification) for notification in failed]


def retry_notification(
    session: Session, *, actor: User | None, notification_id: uuid.UUID, now: datetime
) -> NotificationPublic:
    """Give a failed notification a fresh round of attempts, starting now."""
    admin = authorize(session, actor, Permission.ADMIN)
    notification = session.exec(
        select(Notification).where(Notification.id == notification_id).with_for_update()
    ).first()
    if notification is None:
        raise NotFound()
    if notification.status != NotificationStatus.FAILED:
        raise NotificationNotFailed()
    record_audit(
        session,
        action="notification.retried",
        object_type="notification",
        object_id=notification.id,
        now=now,
        actor_user_id=admin.id,
        data={"attempts": notification.attempts, "last_error": notification.last_error},
    )
    notification.status = NotificationStatus.PENDING
    notification.attempts = 0
    notification.next_attempt_at = now
    notification.failed_at = None
    session.add(notification)
    session.commit()
    return NotificationPublic.of(notification)
