"""Deliver notifications at least once, record them as sent at most once.

A worker first *claims* a due notification: one conditional UPDATE turns it to SENDING with a lease
(`claimed_until`) and a fresh `claim_token`, and counts the attempt. Only then does it render and
send, and it records the outcome only while it still holds that token. A worker that dies mid-send
leaves the row SENDING; when the lease runs out the row is due again and another worker takes it.
Each step is its own short transaction, so no lock is held while talking to the SMTP server.

The in-process worker claims a *batch* (`claim_due`: one statement, SKIP LOCKED on PostgreSQL, one
token for the batch), has it rendered (in this process, or by the render pool on other cores while
it sends) and sends it over one SMTP connection. Before each send it renews the lease of what is
left when half of it has passed, and it sends only what it still holds: a batch that outlives its
lease is taken over by another worker, never sent by both. Just before each chunk of a batch goes out
it reads, in one query, whether the orders of the chunk's tickets emails are still paid: an order
cancelled since the batch was claimed (and rendered) gets no tickets email; that notification is
marked failed for good, as when its order was already cancelled at rendering.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import and_, bindparam, or_, update
from sqlmodel import Session, col, select

from bilten.models import Notification, NotificationStatus, Order, OrderStatus
from bilten.notifications.config import DeliveryConfig
from bilten.notifications.email_layout import MissingData
from bilten.notifications.rendering import PreparedEmail, RenderFailure, prefetch, prepare_email
from bilten.notifications.senders import DeliveryError, Sender
from bilten.notifications.ticket_emails import ORDER_TICKET_TOPICS, not_paid_error, payload_uuid
from bilten.observability import metrics

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
SECRET_PAYLOAD_FIELDS = (
    "reset_url",
    "accept_url",
    "verify_url",
    "unlock_url",
)  # removed from the stored payload once the email is out
PAID_CHECK_CHUNK = 10  # claims whose tickets emails' orders are re-read together, just before they go out


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
    metrics.count_notification_failed(result.rowcount)
    return result.rowcount


def claim_due(
    session: Session,
    *,
    now: datetime,
    config: DeliveryConfig,
    limit: int = 1,
    notification_id: uuid.UUID | None = None,
) -> list[Claim]:
    """Take up to `limit` due notifications (or the given one, if due) for this worker, in one
    round trip: an UPDATE of the rows a locking sub-select picked, returning them. One token for the
    batch, so its lease is renewed with one statement."""
    due = select(Notification.id).where(due_condition(now, config))
    if notification_id is not None:
        due = due.where(Notification.id == notification_id)
    # SKIP LOCKED on PostgreSQL: concurrent workers take different rows instead of queueing up.
    # SQLite ignores it; it has a single writer and the repeated due condition decides there.
    due = due.order_by(Notification.next_attempt_at).limit(limit).with_for_update(skip_locked=True)
    # A materialized CTE runs the locking pick exactly once; as a plain IN (sub-select) PostgreSQL
    # may run it again during the update and take more than `limit` rows.
    picked = due.cte("picked").prefix_with("MATERIALIZED", dialect="postgresql")
    token = str(uuid.uuid4())
    claimed = (
        session.execute(
            update(Notification)
            .where(Notification.id.in_(select(picked.c.id)), due_condition(now, config))
            .values(
                status=NotificationStatus.SENDING,
                claimed_until=now + config.lease,
                claim_token=token,
                attempts=Notification.attempts + 1,
            )
            .returning(Notification)
            .execution_options(populate_existing=True, synchronize_session=False)
        )
        .scalars()
        .all()
    )
    for notification in claimed:
        session.expunge(notification)  # snapshots: the commit and later rollbacks must not expire them
    session.commit()
    claimed = sorted(claimed, key=lambda notification: (notification.next_attempt_at, str(notification.id)))
    return [Claim(notification=notification, token=token) for notification in claimed]


def claim_next(
    session: Session, *, now: datetime, config: DeliveryConfig, notification_id: uuid.UUID | None = None
) -> Claim | None:
    """Take the next due notification (or the given one, if due) for this worker; None if none is."""
    claims = claim_due(session, now=now, config=config, limit=1, notification_id=notification_id)
    return claims[0] if claims else None


def renew_lease(session: Session, token: str, *, now: datetime, config: DeliveryConfig) -> set[uuid.UUID]:
    """Extend the lease of what this worker still holds under `token`; returns those ids."""
    held = session.execute(
        update(Notification)
        .where(Notification.claim_token == token, Notification.status == NotificationStatus.SENDING)
        .values(claimed_until=now + config.lease)
        .returning(Notification.id)
    ).scalars()
    held_ids = set(held)
    session.commit()
    return held_ids


_TABLE = Notification.__table__  # type: ignore[attr-defined]
# "Sent", as one prepared Core statement: the ORM's bulk-update path costs several times the
# statement itself, and this runs once per email.
_RECORD_SENT = (
    update(_TABLE)
    .where(
        _TABLE.c.id == bindparam("notification_id"),
        _TABLE.c.claim_token == bindparam("token"),
        _TABLE.c.status == NotificationStatus.SENDING,
    )
    .values(
        status=NotificationStatus.SENT,
        sent_at=bindparam("sent", type_=_TABLE.c.sent_at.type),
        claimed_until=None,
        claim_token="",
        last_error="",
        subject=bindparam("new_subject", type_=_TABLE.c.subject.type),
        content=bindparam("new_content", type_=_TABLE.c.content.type),
        payload=bindparam("new_payload", type_=_TABLE.c.payload.type),
    )
)


def record_sent(session: Session, claim: Claim, *, now: datetime, prepared: PreparedEmail) -> bool:
    """Mark the notification sent, if this worker still holds it: one statement (and, on a lane's
    autocommit connection, no separate commit)."""
    notification = claim.notification
    payload = {key: value for key, value in notification.payload.items() if key not in SECRET_PAYLOAD_FIELDS}
    result = session.connection().execute(
        _RECORD_SENT,
        {
            "notification_id": notification.id,
            "token": claim.token,
            "sent": now,
            "new_subject": prepared.subject[:300],
            "new_content": prepared.stored_text,
            "new_payload": payload,
        },
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
    prepared: PreparedEmail | None = None,
) -> NotificationStatus:
    """Schedule the next attempt after the back-off delay, or mark failed when none is left."""
    notification = claim.notification
    delay = None if permanent else config.delay_after(notification.attempts)
    values: dict[str, object] = {
        "last_error": error[:1000],
        "claimed_until": None,
        "claim_token": "",
    }
    if delay is None:
        values |= {"status": NotificationStatus.FAILED, "failed_at": now}
    else:
        values |= {"status": NotificationStatus.PENDING, "next_attempt_at": now + delay}
    if prepared is not None:
        values |= {"subject": prepared.subject[:300], "content": prepared.stored_text}
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
    if status == NotificationStatus.FAILED:
        metrics.count_notification_failed()
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


def send_prepared(
    session: Session,
    claim: Claim,
    outcome: PreparedEmail | RenderFailure,
    sender: Sender,
    *,
    clock: Clock,
    config: DeliveryConfig,
) -> NotificationStatus:
    """Send one rendered, claimed notification and record the outcome. Never raises for a delivery fault."""
    notification = claim.notification
    if isinstance(outcome, RenderFailure):
        return record_failure(
            session, claim, now=clock(), error=outcome.error, permanent=outcome.permanent, config=config
        )
    try:
        sender.send(outcome.message, idempotency_key=notification.idempotency_key)
    except DeliveryError as exc:
        return record_failure(
            session, claim, now=clock(), error=str(exc), permanent=exc.permanent, config=config, prepared=outcome
        )
    record_sent(session, claim, now=clock(), prepared=outcome)
    logger.info("notification %s (%s) sent to %s", notification.id, notification.topic, notification.recipient)
    return NotificationStatus.SENT


def no_longer_paid(session: Session, claims: list[Claim]) -> dict[uuid.UUID, str]:
    """The tickets emails among `claims` whose order is no longer paid (or gone), by notification
    id, with the reason: one query for all of them, its read transaction ended before any send."""
    order_of: dict[uuid.UUID, uuid.UUID] = {}
    for claim in claims:
        if claim.notification.topic in ORDER_TICKET_TOPICS:
            try:
                order_of[claim.notification.id] = payload_uuid(claim.notification.payload, "order_id")
            except MissingData:
                continue  # its rendering failed for good already
    if not order_of:
        return {}
    rows = session.exec(select(Order.id, Order.status).where(col(Order.id).in_(set(order_of.values())))).all()
    session.rollback()
    status_of = {order_id: OrderStatus(status) for order_id, status in rows}
    reasons = {}
    for notification_id, order_id in order_of.items():
        status = status_of.get(order_id)
        if status != OrderStatus.PAID:
            reasons[notification_id] = "order not found" if status is None else not_paid_error(status)
    return reasons


class Preparer(Protocol):
    """Renders claimed notifications, in order, as they are needed: in this process or a pool."""

    def prepare(
        self, session: Session, claims: list[Claim], *, mail_from: str, public_url: str, now: datetime
    ) -> Iterable[PreparedEmail | RenderFailure]: ...


class InProcessPreparer:
    """Renders each notification just before it is sent, in this process, from what was loaded
    for all of them at once (rendering.prefetch)."""

    def prepare(
        self, session: Session, claims: list[Claim], *, mail_from: str, public_url: str, now: datetime
    ) -> Iterator[PreparedEmail | RenderFailure]:
        prefetched = prefetch(session, [claim.notification for claim in claims])
        session.rollback()  # end the read transaction before the (slow) sends
        for claim in claims:
            outcome = prepare_email(
                session, claim.notification, mail_from=mail_from, public_url=public_url, now=now, prefetched=prefetched
            )
            session.rollback()
            yield outcome


def send_due_notifications(
    session: Session,
    sender: Sender,
    *,
    clock: Clock,
    config: DeliveryConfig,
    mail_from: str,
    public_url: str,
    limit: int | None = None,
    preparer: Preparer | None = None,
) -> DeliveryReport:
    """Claim up to `limit` due notifications at once, render them (here or in the render pool) and
    send them over the sender's one connection."""
    fail_abandoned(session, now=clock(), config=config)
    claimed_at = clock()
    claims = claim_due(session, now=claimed_at, config=config, limit=limit or config.batch_size)
    return send_claimed(
        session,
        sender,
        claims,
        claimed_at=claimed_at,
        clock=clock,
        config=config,
        mail_from=mail_from,
        public_url=public_url,
        preparer=preparer,
    )


def send_due_in_lanes(
    open_lane: Callable[[], AbstractContextManager[tuple[Session, Sender]]],
    *,
    lanes: int,
    clock: Clock,
    config: DeliveryConfig,
    mail_from: str,
    public_url: str,
    preparer: Preparer | None = None,
) -> DeliveryReport:
    """Claim a batch and send it over `lanes` SMTP connections at once, each lane with its own
    database connection: a send spends most of its time waiting for the SMTP server and the
    database, and the lanes wait side by side."""
    with open_lane() as (session, _sender):
        fail_abandoned(session, now=clock(), config=config)
        claimed_at = clock()
        claims = claim_due(session, now=claimed_at, config=config, limit=config.batch_size)
    shares = [claims[lane::lanes] for lane in range(lanes) if claims[lane::lanes]]
    if len(shares) <= 1:
        with open_lane() as (session, sender):
            return send_claimed(
                session,
                sender,
                claims,
                claimed_at=claimed_at,
                clock=clock,
                config=config,
                mail_from=mail_from,
                public_url=public_url,
                preparer=preparer,
            )

    def send_share(share: list[Claim]) -> DeliveryReport:
        with open_lane() as (session, sender):
            return send_claimed(
                session,
                sender,
                share,
                claimed_at=claimed_at,
                clock=clock,
                config=config,
                mail_from=mail_from,
                public_url=public_url,
                preparer=preparer,
            )

    report = DeliveryReport()
    with ThreadPoolExecutor(max_workers=len(shares), thread_name_prefix="send-lane") as pool:
        for share_report in pool.map(send_share, shares):
            report.sent += share_report.sent
            report.retrying += share_report.retrying
            report.failed += share_report.failed
    return report


def send_claimed(
    session: Session,
    sender: Sender,
    claims: list[Claim],
    *,
    claimed_at: datetime,
    clock: Clock,
    config: DeliveryConfig,
    mail_from: str,
    public_url: str,
    preparer: Preparer | None = None,
) -> DeliveryReport:
    """Render and send claimed notifications in order, renewing their lease when half of it has
    passed, sending only what this worker still holds, and no tickets email whose order stopped
    being paid (re-read once per chunk of PAID_CHECK_CHUNK claims, just before the chunk's sends)."""
    report = DeliveryReport()
    if not claims:
        return report
    token = claims[0].token
    renew_after = claimed_at + config.lease / 2
    held = {claim.notification.id for claim in claims}
    outcomes = (preparer or InProcessPreparer()).prepare(
        session, claims, mail_from=mail_from, public_url=public_url, now=claimed_at
    )
    unpaid: dict[uuid.UUID, str] = {}
    for index, (claim, outcome) in enumerate(zip(claims, outcomes, strict=True)):
        if clock() >= renew_after:
            renewed_at = clock()
            held = renew_lease(session, token, now=renewed_at, config=config)
            renew_after = renewed_at + config.lease / 2
        if index % PAID_CHECK_CHUNK == 0:
            # After the first of the chunk is rendered, before any of it is sent: an order cancelled
            # since the batch was claimed (its email perhaps rendered already) gets no tickets.
            unpaid = no_longer_paid(session, claims[index : index + PAID_CHECK_CHUNK])
        if claim.notification.id not in held:
            # The lease ran out before we got here and another worker took the notification over.
            logger.warning("notification %s: lease lost before sending, left to its new worker", claim.notification.id)
            continue
        if claim.notification.id in unpaid:
            status = record_failure(
                session, claim, now=clock(), error=unpaid[claim.notification.id], permanent=True, config=config
            )
        else:
            status = send_prepared(session, claim, outcome, sender, clock=clock, config=config)
        if status == NotificationStatus.SENT:
            report.sent += 1
        elif status == NotificationStatus.FAILED:
            report.failed += 1
        else:
            report.retrying += 1
    return report
