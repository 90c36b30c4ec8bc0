"""Deliver notifications at least once, record them as sent at most once.

A worker first *claims* a due notification: one conditional UPDATE turns it to SENDING with a lease
(`claimed_until`) and a fresh `claim_token`, and counts the attempt. Only then does it render and
send, and it records the outcome only while it still holds that token. A worker that dies mid-send
leaves the row SENDING; when the lease runs out the row is due again and another worker takes it.
Each step is its own short transaction, so no lock is held while talking to the SMTP server.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, update
from sqlmodel import Session, select

from bilten.models import Notification, NotificationStatus
from bilten.notifications.config import DeliveryConfig
from bilten.notifications.rendering import MissingData, RenderedEmail, build_message, render_notification
from bilten.notifications.senders import DeliveryError, Sender

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
SECRET_PAYLOAD_FIELDS = (
    "reset_url",
    "accept_url",
    "verify_url",
    "unlock_url",
)  # removed from the stored payload once the email is out


@dataclass(frozen=True)
class Claim:
    """A notification this worker may send now, as it was when claimed."""

    notification: Notification
    token: str


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.sent + self.retrying + self.failed


def due_condition(now: datetime, config: DeliveryConfig):  # noqa: ANN201 (an SQL expression)
    """Waiting and due, or claimed by a worker whose lease ran out (with attempts left)."""
    return or_(
        and_(Notification.status == NotificationStatus.PENDING, Notification.next_attempt_at <= now),
        and_(
            Notification.status == NotificationStatus.SENDING,
            Notification.claimed_until <= now,
            Notification.attempts < config.max_attempts,
        ),
    )


def fail_abandoned(session: Session, *, now: datetime, config: DeliveryConfig) -> int:
    """Give up on notifications whose last allowed attempt died with its worker."""
    result = session.execute(
        update(Notification)
        .where(
            Notification.status == NotificationStatus.SENDING,
            Notification.claimed_until <= now,
            Notification.attempts >= config.max_attempts,
        )
        .values(
            status=NotificationStatus.FAILED,
            failed_at=now,
            claimed_until=None,
            claim_token="",
            last_error="the worker stopped during the last attempt",
        )
    )
    session.commit()
    return result.rowcount


def claim_next(
    session: Session, *, now: datetime, config: DeliveryConfig, notification_id: uuid.UUID | None = None
) -> Claim | None:
    """Take the next due notification (or the given one, if due) for this worker; None if none is."""
    query = select(Notification.id).where(due_condition(now, config))
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    # SKIP LOCKED on PostgreSQL: concurrent workers take different rows instead of queueing up.
    # SQLite ignores it; it has a single writer and the conditional UPDATE below decides there.
    query = query.order_by(Notification.next_attempt_at).limit(1).with_for_update(skip_locked=True)
    found = session.exec(query).first()
    if found is None:
        session.rollback()
        return None
    token = str(uuid.uuid4())
    result = session.execute(
        update(Notification)
        .where(Notification.id == found, due_condition(now, config))
        .values(
            status=NotificationStatus.SENDING,
            claimed_until=now + config.lease,
            claim_token=token,
            attempts=Notification.attempts + 1,
        )
    )
    session.commit()
    if result.rowcount != 1:  # another worker was faster
        return None
    notification = session.get(Notification, found, populate_existing=True)
    session.expunge(notification)  # a snapshot: later rollbacks must not expire it
    session.rollback()
    return Claim(notification=notification, token=token)


def record_sent(session: Session, claim: Claim, *, now: datetime, rendered: RenderedEmail) -> bool:
    notification = claim.notification
    payload = {key: value for key, value in notification.payload.items() if key not in SECRET_PAYLOAD_FIELDS}
    result = session.execute(
        update(Notification)
        .where(
            Notification.id == notification.id,
            Notification.claim_token == claim.token,
            Notification.status == NotificationStatus.SENDING,
        )
        .values(
            status=NotificationStatus.SENT,
            sent_at=now,
            claimed_until=None,
            claim_token="",
            last_error="",
            subject=rendered.subject[:300],
            content=rendered.text_to_store(),
            payload=payload,
        )
    )
    session.commit()
    if result.rowcount != 1:
        # The lease ran out while sending and another worker took over: it may send a second copy.
        logger.warning("notification %s was sent after its lease had run out", notification.id)
    return result.rowcount == 1


def record_failure(
    session: Session,
    claim: Claim,
    *,
    now: datetime,
    error: str,
    permanent: bool,
    config: DeliveryConfig,
    rendered: RenderedEmail | None = None,
) -> NotificationStatus:
    """Schedule the next attempt after the back-off delay, or mark failed when none is left."""
    notification = claim.notification
    delay = None if permanent else config.delay_after(notification.attempts)
    values: dict[str, object] = {
        "last_error": error[:1000],
        "claimed_until": None,
        "claim_token": "",
        "enqueued_at": None,
    }
    if delay is None:
        values |= {"status": NotificationStatus.FAILED, "failed_at": now}
    else:
        values |= {"status": NotificationStatus.PENDING, "next_attempt_at": now + delay}
    if rendered is not None:
        values |= {"subject": rendered.subject[:300], "content": rendered.text_to_store()}
    session.execute(
        update(Notification)
        .where(
            Notification.id == notification.id,
            Notification.claim_token == claim.token,
            Notification.status == NotificationStatus.SENDING,
        )
        .values(**values)
    )
    session.commit()
    status = values["status"]
    log = logger.error if status == NotificationStatus.FAILED else logger.warning
    log(
        "notification %s (%s to %s) attempt %d failed: %s%s",
        notification.id,
        notification.topic,
        notification.recipient,
        notification.attempts,
        error,
        "; giving up" if status == NotificationStatus.FAILED else f"; next attempt in {delay}",
    )
    return status  # type: ignore[return-value]


def deliver_claimed(
    session: Session,
    claim: Claim,
    sender: Sender,
    *,
    clock: Clock,
    config: DeliveryConfig,
    mail_from: str,
    public_url: str,
) -> NotificationStatus:
    """Render, send and record one claimed notification. Never raises for a delivery fault."""
    notification = claim.notification
    rendered = None
    try:
        rendered = render_notification(session, notification, public_url=public_url)
        session.rollback()  # end the read transaction before the (slow) send
        message = build_message(
            rendered,
            mail_from=mail_from,
            recipient=notification.recipient,
            idempotency_key=notification.idempotency_key,
            locale=notification.locale,
            now=clock(),
        )
        sender.send(message, idempotency_key=notification.idempotency_key)
    except MissingData as exc:
        session.rollback()
        return record_failure(session, claim, now=clock(), error=str(exc), permanent=True, config=config)
    except DeliveryError as exc:
        return record_failure(
            session, claim, now=clock(), error=str(exc), permanent=exc.permanent, config=config, rendered=rendered
        )
    except Exception as exc:  # a bug or a database hiccup while rendering: retried like any fault
        logger.exception("notification %s could not be prepared", notification.id)
        session.rollback()
        return record_failure(
            session,
            claim,
            now=clock(),
            error=f"{type(exc).__name__}: {exc}",
            permanent=False,
            config=config,
            rendered=rendered,
        )
    record_sent(session, claim, now=clock(), rendered=rendered)
    logger.info("notification %s (%s) sent to %s", notification.id, notification.topic, notification.recipient)
    return NotificationStatus.SENT


def send_due_notifications(
    session: Session,
    sender: Sender,
    *,
    clock: Clock,
    config: DeliveryConfig,
    mail_from: str,
    public_url: str,
    limit: int | None = None,
) -> DeliveryReport:
    """Send up to `limit` due notifications, one claim at a time, over the sender's one connection."""
    report = DeliveryReport()
    fail_abandoned(session, now=clock(), config=config)
    for _ in range(limit or config.batch_size):
        claim = claim_next(session, now=clock(), config=config)
        if claim is None:
            break
        status = deliver_claimed(
            session, claim, sender, clock=clock, config=config, mail_from=mail_from, public_url=public_url
        )
        if status == NotificationStatus.SENT:
            report.sent += 1
        elif status == NotificationStatus.FAILED:
            report.failed += 1
        else:
            report.retrying += 1
    return report


def send_notification(
    session: Session,
    notification_id: uuid.UUID,
    sender: Sender,
    *,
    clock: Clock,
    config: DeliveryConfig,
    mail_from: str,
    public_url: str,
) -> NotificationStatus | None:
    """Deliver one notification if it is due (a queue job); None when it is not (sent, or someone has it)."""
    claim = claim_next(session, now=clock(), config=config, notification_id=notification_id)
    if claim is None:
        return None
    return deliver_claimed(
        session, claim, sender, clock=clock, config=config, mail_from=mail_from, public_url=public_url
    )


def enqueue_due(
    session: Session, *, now: datetime, config: DeliveryConfig, enqueue: Callable[[uuid.UUID], None], limit: int = 500
) -> int:
    """Put due notifications on the Redis queue, unless one was queued recently.

    A job may be lost (Redis restarted without persistence, a worker killed): after
    `requeue_after` the same notification is queued again. A duplicate job does no harm: only
    one of them can claim the notification.
    """
    stale = now - config.requeue_after
    query = (
        select(Notification.id)
        .where(due_condition(now, config), or_(Notification.enqueued_at.is_(None), Notification.enqueued_at <= stale))
        .order_by(Notification.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.exec(query).all())
    if ids:
        session.execute(update(Notification).where(Notification.id.in_(ids)).values(enqueued_at=now))
    # Commit before queueing: a job that starts at once must find its row unlocked (SKIP LOCKED
    # would pass it over, leaving it until the next requeue).
    session.commit()
    queued = 0
    try:
        for notification_id in ids:
            enqueue(notification_id)
            queued += 1
    except Exception:
        # Not queued after all (Redis is down): due again at the next round.
        session.execute(update(Notification).where(Notification.id.in_(ids[queued:])).values(enqueued_at=None))
        session.commit()
        raise
    return len(ids)
