"""Deliver outgoing webhooks: at least once, retried with backoff, in order per order.

The worker loop (notifications/worker.py) calls `deliver_due_webhooks` each cycle. It *claims* due
deliveries in one short transaction (SENDING with a lease; SKIP LOCKED so several workers split
them), POSTs each outside any transaction, and records the outcome in another. A delivery is due
only when no earlier delivery with the same sequence key (one order) is still pending or sending:
order.refunded never overtakes an order.paid that is being retried. A delivery whose worker died is
due again when its lease ends.

Every POST re-checks the target (DNS may have changed since registration) and connects to the
address it checked, so a name cannot be re-pointed at an internal address in between. Redirects are
not followed; a redirect counts as a failure.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import and_, exists, or_
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bilten.models import WebhookAttempt, WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from bilten.services import webhooks
from bilten.services.errors import ValidationFailed
from bilten.services.transaction import lock_row, transaction
from bilten.webhook_settings import WebhookSettings, get_webhook_settings

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
EXCERPT_BYTES = 1024
USER_AGENT = "Bilten-Webhooks/1"


@dataclass(frozen=True)
class ClaimedDelivery:
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_type: str
    payload: dict
    url: str
    secret: str
    claimed_until: datetime


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    status_code: int | None
    duration_ms: int
    error: str
    response_excerpt: str


def _due(now: datetime):  # noqa: ANN202 (an SQL expression)
    delivery = WebhookDelivery
    earlier = aliased(WebhookDelivery)
    blocked = exists().where(
        col(earlier.endpoint_id) == col(delivery.endpoint_id),
        col(earlier.sequence_key) == col(delivery.sequence_key),
        col(earlier.status).in_([WebhookDeliveryStatus.PENDING, WebhookDeliveryStatus.SENDING]),
        or_(
            col(earlier.created_at) < col(delivery.created_at),
            and_(col(earlier.created_at) == col(delivery.created_at), col(earlier.position) < col(delivery.position)),
        ),
    )
    waiting = or_(
        and_(col(delivery.status) == WebhookDeliveryStatus.PENDING, col(delivery.next_attempt_at) <= now),
        and_(col(delivery.status) == WebhookDeliveryStatus.SENDING, col(delivery.claimed_until) <= now),
    )
    return and_(waiting, ~blocked)


def claim_due(session: Session, *, now: datetime, config: WebhookSettings) -> list[ClaimedDelivery]:
    """Take up to a batch of due deliveries of active endpoints for this worker."""
    with transaction(session):
        rows = session.exec(
            select(WebhookDelivery, WebhookEndpoint)
            .join(WebhookEndpoint, col(WebhookEndpoint.id) == WebhookDelivery.endpoint_id)
            .where(col(WebhookEndpoint.active).is_(True), _due(now))
            .order_by(col(WebhookDelivery.created_at), col(WebhookDelivery.position))
            .limit(config.batch_size)
            .with_for_update(skip_locked=True, of=WebhookDelivery)
        ).all()
        claimed: list[ClaimedDelivery] = []
        taken: set[tuple[uuid.UUID, str]] = set()
        for delivery, endpoint in rows:
            sequence = (delivery.endpoint_id, delivery.sequence_key)
            if sequence in taken:  # a re-claimed SENDING one and its successor: one at a time
                continue
            taken.add(sequence)
            delivery.status = WebhookDeliveryStatus.SENDING
            delivery.claimed_until = now + timedelta(seconds=config.lease_seconds)
            delivery.attempts += 1
            delivery.round_attempts += 1
            session.add(delivery)
            claimed.append(
                ClaimedDelivery(
                    id=delivery.id,
                    endpoint_id=delivery.endpoint_id,
                    event_type=delivery.event_type,
                    payload=dict(delivery.payload),
                    url=endpoint.url,
                    secret=endpoint.secret,
                    claimed_until=delivery.claimed_until,
                )
            )
    return claimed


def raw_body(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def post(
    claim: ClaimedDelivery, *, now: datetime, config: WebhookSettings, transport: httpx.BaseTransport | None = None
) -> Outcome:
    """POST one delivery, signed; never raises. Connects only to addresses that passed the check."""
    started = time.monotonic()

    def outcome(succeeded: bool, code: int | None, error: str, excerpt: str = "") -> Outcome:
        duration = int((time.monotonic() - started) * 1000)
        return Outcome(succeeded, code, duration, error[:500], excerpt[:EXCERPT_BYTES])

    try:
        addresses = webhooks.resolve_target(claim.url, allow_private=config.private_targets_allowed)
    except ValidationFailed as refused:
        return outcome(False, None, f"refused: {refused.key}")
    body = raw_body(claim.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        webhooks.SIGNATURE_HEADER: webhooks.sign(claim.secret, int(now.timestamp()), body),
        webhooks.EVENT_HEADER: claim.event_type,
        webhooks.DELIVERY_HEADER: str(claim.id),
    }
    url = httpx.URL(claim.url)
    headers["Host"] = url.netloc.decode("ascii")
    timeout = httpx.Timeout(config.timeout_seconds, connect=config.connect_timeout_seconds)
    deadline = started + config.timeout_seconds
    last_error = ""
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, transport=transport) as client:
        for address in addresses:
            pinned = url.copy_with(host=address)
            try:
                with client.stream(
                    "POST", pinned, content=body, headers=headers, extensions={"sni_hostname": url.host}
                ) as response:
                    excerpt = b""
                    for chunk in response.iter_bytes():
                        excerpt += chunk
                        if len(excerpt) >= EXCERPT_BYTES or time.monotonic() > deadline:
                            break
                    text = excerpt[:EXCERPT_BYTES].decode("utf-8", errors="replace")
                    if 200 <= response.status_code < 300:
                        return outcome(True, response.status_code, "", text)
                    error = f"HTTP {response.status_code}"
                    if response.is_redirect:
                        error += " (redirects are not followed)"
                    return outcome(False, response.status_code, error, text)
            except httpx.ConnectError as exc:
                last_error = f"connection failed: {exc}"
                continue  # the next address of the name
            except httpx.TimeoutException as exc:
                return outcome(False, None, f"timed out: {type(exc).__name__}")
            except httpx.HTTPError as exc:
                return outcome(False, None, f"{type(exc).__name__}: {exc}")
    return outcome(False, None, last_error or "no address to connect to")


def record(
    session: Session, claim: ClaimedDelivery, result: Outcome, *, now: datetime, config: WebhookSettings
) -> bool:
    """Log the attempt and move the delivery on: sent, retry later, or given up. Counts the
    endpoint's failures in a row and switches it off (telling its owners) at the limit."""
    with transaction(session):
        endpoint = lock_row(session, WebhookEndpoint, claim.endpoint_id)  # endpoint first, as `redeliver`
        delivery = lock_row(session, WebhookDelivery, claim.id)
        if endpoint is None or delivery is None:
            return False  # deleted meanwhile
        session.add(
            WebhookAttempt(
                delivery_id=delivery.id,
                attempted_at=now,
                succeeded=result.succeeded,
                status_code=result.status_code,
                duration_ms=result.duration_ms,
                error=result.error,
                response_excerpt=result.response_excerpt,
            )
        )
        if delivery.status != WebhookDeliveryStatus.SENDING or delivery.claimed_until != claim.claimed_until:
            return endpoint.active  # another worker took it over after our lease ran out: the log keeps our attempt
        delivery.last_status_code = result.status_code
        delivery.last_error = result.error
        delivery.claimed_until = None
        if result.succeeded:
            delivery.status = WebhookDeliveryStatus.SUCCEEDED
            delivery.delivered_at = now
            endpoint.consecutive_failures = 0
        else:
            delay = config.delay_after(delivery.round_attempts)
            if delay is None:
                delivery.status = WebhookDeliveryStatus.FAILED
                delivery.next_attempt_at = None
            else:
                delivery.status = WebhookDeliveryStatus.PENDING
                delivery.next_attempt_at = now + delay
            endpoint.consecutive_failures += 1
            if endpoint.active and endpoint.consecutive_failures >= config.disable_after_failures:
                endpoint.active = False
                endpoint.disabled_at = now
                webhooks.notify_disabled(session, endpoint, now=now)
                logger.warning(
                    "webhook endpoint %s disabled after %s failures", endpoint.id, endpoint.consecutive_failures
                )
        session.add(delivery)
        session.add(endpoint)
    return endpoint.active


def release(session: Session, claim: ClaimedDelivery) -> None:
    """Hand back a claimed delivery unsent (its endpoint was switched off during the batch)."""
    with transaction(session):
        delivery = lock_row(session, WebhookDelivery, claim.id)
        if delivery is None or delivery.claimed_until != claim.claimed_until:
            return
        delivery.status = WebhookDeliveryStatus.PENDING
        delivery.claimed_until = None
        delivery.attempts -= 1
        delivery.round_attempts -= 1
        session.add(delivery)


def deliver_due_webhooks(
    engine: Engine,
    *,
    clock: Clock,
    config: WebhookSettings | None = None,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """One worker cycle: claim what is due, POST it, record it. Returns how many were attempted."""
    config = config or get_webhook_settings()
    with Session(engine, expire_on_commit=False) as session:
        claims = claim_due(session, now=clock(), config=config)
    switched_off: set[uuid.UUID] = set()
    attempted = 0
    for claim in claims:
        with Session(engine, expire_on_commit=False) as session:
            if claim.endpoint_id in switched_off:
                release(session, claim)
                continue
            result = post(claim, now=clock(), config=config, transport=transport)
            attempted += 1
            if not record(session, claim, result, now=clock(), config=config):
                switched_off.add(claim.endpoint_id)
    return attempted
