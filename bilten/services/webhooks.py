"""Outgoing webhooks: organizations register endpoints; domain events become signed deliveries.

Only an organization's owners (and platform admins) manage its endpoints: each holds a secret that
lets its holder pose as Bilten. Events reach the webhooks through the transactional outbox: the
business change writes an `OutboxEvent` in its own transaction, and `enqueue_deliveries` turns the
outbox events into `WebhookDelivery` rows in the transaction that marks them dispatched
(notifications/outbox.py). bilten.notifications.webhooks sends them.

SSRF: a target must be http(s), carry no credentials and resolve only to public addresses, checked
here at registration and again before every delivery (DNS may change in between), unless
WEBHOOK_ALLOW_PRIVATE_TARGETS=1 or BILTEN_DEMO=1.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import socket
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bilten.models import (
    Event,
    Membership,
    Order,
    OutboxEvent,
    TeamRole,
    Ticket,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
)
from bilten.services.access import Permission, authorize
from bilten.services.audit import emit_event, record_audit
from bilten.services.errors import NotFound, ValidationFailed
from bilten.services.transaction import lock_row, transaction
from bilten.webhook_settings import WebhookSettings, get_webhook_settings

EVENT_TYPES = (
    "order.paid",
    "order.cancelled",
    "order.refunded",
    "ticket.checked_in",
    "event.published",
    "event.cancelled",
)
MAX_ENDPOINTS_PER_ORGANIZATION = 20
MAX_URL_LENGTH = 2000
SIGNATURE_HEADER = "X-Bilten-Signature"
EVENT_HEADER = "X-Bilten-Event"
DELIVERY_HEADER = "X-Bilten-Delivery"
RECENT_DELIVERIES = 20


# ---------------------------------------------------------------------------------------------
# Signing


def sign(secret: str, timestamp: int, raw_body: bytes) -> str:
    """The `X-Bilten-Signature` value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


# ---------------------------------------------------------------------------------------------
# SSRF guard


def _forbidden_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def resolve_target(url: str, *, allow_private: bool) -> list[str]:
    """Check a webhook URL and return the addresses its host resolves to (all allowed), or raise
    ValidationFailed with a message key saying what is wrong."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationFailed("error.webhook_url_invalid") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL_LENGTH:
        raise ValidationFailed("error.webhook_url_invalid")
    if parts.username is not None or parts.password is not None:
        raise ValidationFailed("error.webhook_url_credentials")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise ValidationFailed("error.webhook_url_unresolvable") from None
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone id
        ip = ipaddress.ip_address(address)
        if not allow_private and _forbidden_address(ip):
            raise ValidationFailed("error.webhook_url_private")
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise ValidationFailed("error.webhook_url_unresolvable")
    return addresses


def _clean_url(url: str, config: WebhookSettings) -> str:
    url = (url or "").strip()
    if not url:
        raise ValidationFailed("error.webhook_url_invalid")
    resolve_target(url, allow_private=config.private_targets_allowed)
    return url


def _clean_events(events: Iterable[str]) -> list[str]:
    wanted = [str(name).strip() for name in events]
    if not wanted:
        raise ValidationFailed("error.webhook_events_empty")
    unknown = sorted({name for name in wanted if name not in EVENT_TYPES})
    if unknown:
        raise ValidationFailed("error.webhook_event_unknown", name=", ".join(unknown)[:200])
    return [name for name in EVENT_TYPES if name in wanted]


# ---------------------------------------------------------------------------------------------
# Shapes


class AttemptRow(BaseModel):
    """One try at a delivery, as the delivery log shows it."""

    model_config = ConfigDict(frozen=True)

    attempted_at: datetime
    succeeded: bool
    status_code: int | None
    duration_ms: int
    error: str
    response_excerpt: str


class DeliveryRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_type: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str
    payload: dict[str, Any]
    log: tuple[AttemptRow, ...] = ()


class EndpointRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    url: str
    events: tuple[str, ...]
    active: bool
    consecutive_failures: int
    disabled_at: datetime | None
    created_at: datetime


class EndpointWithSecret(EndpointRow):
    """Right after creating or rotating: the only answers that carry the signing secret."""

    secret: str


def _endpoint_row(endpoint: WebhookEndpoint) -> EndpointRow:
    return EndpointRow(**_endpoint_fields(endpoint))


def _endpoint_with_secret(endpoint: WebhookEndpoint) -> EndpointWithSecret:
    return EndpointWithSecret(**_endpoint_fields(endpoint), secret=endpoint.secret)


def _endpoint_fields(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return dict(
        id=endpoint.id,
        organization_id=endpoint.organization_id,
        url=endpoint.url,
        events=tuple(endpoint.events),
        active=endpoint.active,
        consecutive_failures=endpoint.consecutive_failures,
        disabled_at=endpoint.disabled_at,
        created_at=endpoint.created_at,
    )


def _attempt_row(attempt: WebhookAttempt) -> AttemptRow:
    return AttemptRow(
        attempted_at=attempt.attempted_at,
        succeeded=attempt.succeeded,
        status_code=attempt.status_code,
        duration_ms=attempt.duration_ms,
        error=attempt.error,
        response_excerpt=attempt.response_excerpt,
    )


def _delivery_row(delivery: WebhookDelivery, log: Sequence[WebhookAttempt] = ()) -> DeliveryRow:
    return DeliveryRow(
        id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        event_type=delivery.event_type,
        status=delivery.status.value,
        attempts=delivery.attempts,
        created_at=delivery.created_at,
        next_attempt_at=delivery.next_attempt_at,
        delivered_at=delivery.delivered_at,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        payload=dict(delivery.payload),
        log=tuple(_attempt_row(attempt) for attempt in log),
    )


# ---------------------------------------------------------------------------------------------
# Managing endpoints (owners only)


def _manager(session: Session, actor: User | None, organization_id: uuid.UUID) -> User:
    return authorize(session, actor, Permission.ORGANIZATION_TEAM, organization_id=organization_id)


def _endpoint_of(session: Session, organization_id: uuid.UUID, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = lock_row(session, WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.organization_id != organization_id:
        raise NotFound()
    return endpoint


def create_endpoint(
    session: Session,
    *,
    actor: User | None,
    organization_id: uuid.UUID,
    url: str,
    events: Iterable[str],
    now: datetime,
    config: WebhookSettings | None = None,
) -> EndpointWithSecret:
    """Register an endpoint; the answer carries its secret (shown this once)."""
    config = config or get_webhook_settings()
    with transaction(session):
        user = _manager(session, actor, organization_id)
        clean_url = _clean_url(url, config)
        clean_events = _clean_events(events)
        count = len(
            session.exec(select(WebhookEndpoint.id).where(WebhookEndpoint.organization_id == organization_id)).all()
        )
        if count >= MAX_ENDPOINTS_PER_ORGANIZATION:
            raise ValidationFailed("error.webhook_too_many", limit=MAX_ENDPOINTS_PER_ORGANIZATION)
        endpoint = WebhookEndpoint(
            organization_id=organization_id,
            url=clean_url,
            events=clean_events,
            secret=new_secret(),
            created_at=now,
            updated_at=now,
        )
        session.add(endpoint)
        _audit(session, "webhook.created", endpoint, user=user, now=now)
    return _endpoint_with_secret(endpoint)


def list_endpoints(session: Session, *, actor: User | None, organization_id: uuid.UUID) -> list[EndpointRow]:
    _manager(session, actor, organization_id)
    query = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.organization_id == organization_id)
        .order_by(col(WebhookEndpoint.created_at), col(WebhookEndpoint.id))
    )
    return [_endpoint_row(endpoint) for endpoint in session.exec(query).all()]


def get_endpoint(
    session: Session, *, actor: User | None, organization_id: uuid.UUID, endpoint_id: uuid.UUID
) -> EndpointRow:
    _manager(session, actor, organization_id)
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.organization_id != organization_id:
        raise NotFound()
    return _endpoint_row(endpoint)


def update_endpoint(
    session: Session,
    *,
    actor: User | None,
    organization_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    now: datetime,
    url: str | None = None,
    events: Iterable[str] | None = None,
    active: bool | None = None,
    config: WebhookSettings | None = None,
) -> EndpointRow:
    """Change the URL, the events or switch it on/off; switching on forgets the failures counted."""
    config = config or get_webhook_settings()
    with transaction(session):
        user = _manager(session, actor, organization_id)
        endpoint = _endpoint_of(session, organization_id, endpoint_id)
        if url is not None:
            endpoint.url = _clean_url(url, config)
        if events is not None:
            endpoint.events = _clean_events(events)
        if active is not None and active != endpoint.active:
            endpoint.active = active
            endpoint.consecutive_failures = 0
            endpoint.disabled_at = None if active else now
        endpoint.updated_at = now
        session.add(endpoint)
        _audit(session, "webhook.updated", endpoint, user=user, now=now)
    return _endpoint_row(endpoint)


def rotate_secret(
    session: Session, *, actor: User | None, organization_id: uuid.UUID, endpoint_id: uuid.UUID, now: datetime
) -> EndpointWithSecret:
    """A new secret at once (the old one stops signing); the answer carries it."""
    with transaction(session):
        user = _manager(session, actor, organization_id)
        endpoint = _endpoint_of(session, organization_id, endpoint_id)
        endpoint.secret = new_secret()
        endpoint.updated_at = now
        session.add(endpoint)
        _audit(session, "webhook.secret_rotated", endpoint, user=user, now=now)
    return _endpoint_with_secret(endpoint)


def delete_endpoint(
    session: Session, *, actor: User | None, organization_id: uuid.UUID, endpoint_id: uuid.UUID, now: datetime
) -> None:
    with transaction(session):
        user = _manager(session, actor, organization_id)
        endpoint = _endpoint_of(session, organization_id, endpoint_id)
        deliveries = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id)
        session.execute(delete(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(deliveries)))
        session.execute(delete(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint.id))
        _audit(session, "webhook.deleted", endpoint, user=user, now=now)
        session.delete(endpoint)


def list_deliveries(
    session: Session,
    *,
    actor: User | None,
    organization_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    limit: int = RECENT_DELIVERIES,
) -> list[DeliveryRow]:
    """The endpoint's most recent deliveries, newest first, each with its attempts (oldest first)."""
    _manager(session, actor, organization_id)
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.organization_id != organization_id:
        raise NotFound()
    deliveries = session.exec(
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.position).desc())
        .limit(max(1, min(limit, 200)))
    ).all()
    logs: dict[uuid.UUID, list[WebhookAttempt]] = {delivery.id: [] for delivery in deliveries}
    if logs:
        attempts = session.exec(
            select(WebhookAttempt)
            .where(col(WebhookAttempt.delivery_id).in_(list(logs)))
            .order_by(col(WebhookAttempt.attempted_at), col(WebhookAttempt.id))
        ).all()
        for attempt in attempts:
            logs[attempt.delivery_id].append(attempt)
    return [_delivery_row(delivery, logs[delivery.id]) for delivery in deliveries]


def redeliver(
    session: Session,
    *,
    actor: User | None,
    organization_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    delivery_id: uuid.UUID,
    now: datetime,
) -> DeliveryRow:
    """ "Send again": the same delivery (same id, so receivers can deduplicate) is due now, with a
    fresh round of attempts."""
    with transaction(session):
        user = _manager(session, actor, organization_id)
        endpoint = _endpoint_of(session, organization_id, endpoint_id)
        delivery = lock_row(session, WebhookDelivery, delivery_id)
        if delivery is None or delivery.endpoint_id != endpoint.id:
            raise NotFound()
        if not endpoint.active:
            raise ValidationFailed("error.webhook_endpoint_disabled")
        if delivery.status == WebhookDeliveryStatus.SENDING:
            raise ValidationFailed("error.webhook_delivery_in_progress")
        delivery.status = WebhookDeliveryStatus.PENDING
        delivery.round_attempts = 0
        delivery.next_attempt_at = now
        delivery.claimed_until = None
        session.add(delivery)
        record_audit(
            session,
            action="webhook.redelivered",
            object_type="webhook_delivery",
            object_id=delivery.id,
            now=now,
            actor_user_id=user.id,
            organization_id=organization_id,
        )
    return _delivery_row(delivery)


def _audit(session: Session, action: str, endpoint: WebhookEndpoint, *, user: User, now: datetime) -> None:
    record_audit(
        session,
        action=action,
        object_type="webhook_endpoint",
        object_id=endpoint.id,
        now=now,
        actor_user_id=user.id,
        organization_id=endpoint.organization_id,
        data={"url": endpoint.url, "events": list(endpoint.events), "active": endpoint.active},
    )


# ---------------------------------------------------------------------------------------------
# From the outbox to deliveries


SOURCE_TOPICS = frozenset({"order.paid", "order.cancelled", "ticket.checked_in", "event.published", "event.cancelled"})


@dataclass(frozen=True)
class _Fact:
    organization_id: uuid.UUID
    sequence_key: str
    items: tuple[tuple[str, dict[str, Any]], ...]  # (event type, data)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _order_data(order: Order) -> dict[str, Any]:
    return {
        "order_id": str(order.id),
        "event_id": str(order.event_id),
        "buyer_email": order.buyer_email,
        "buyer_name": order.buyer_name,
        "total_minor": order.total_minor,
        "currency": order.currency,
        "paid_at": _iso(order.paid_at),
        "cancelled_at": _iso(order.cancelled_at),
    }


def _fact(session: Session, event: OutboxEvent) -> _Fact | None:
    payload = event.payload
    if event.topic in ("order.paid", "order.cancelled"):
        order = session.get(Order, uuid.UUID(str(payload["order_id"])))
        shop = session.get(Event, order.event_id) if order is not None else None
        if order is None or shop is None:
            return None
        data = _order_data(order)
        items: list[tuple[str, dict[str, Any]]] = [(event.topic, data)]
        if event.topic == "order.cancelled" and payload.get("refunded"):
            items.append(("order.refunded", data))
        return _Fact(shop.organization_id, f"order:{order.id}", tuple(items))
    if event.topic == "event.cancelled":  # one outbox event per open order: one webhook per event
        order = session.get(Order, uuid.UUID(str(payload["order_id"])))
        shop = session.get(Event, uuid.UUID(str(payload["event_id"])))
        if shop is None:
            return None
        data = {"event_id": str(shop.id), "order_id": str(payload["order_id"]), "title": shop.title}
        key = f"order:{order.id}" if order is not None else f"event:{shop.id}"
        return _Fact(shop.organization_id, key, (("event.cancelled", data),))
    if event.topic == "ticket.checked_in":
        ticket = session.get(Ticket, uuid.UUID(str(payload["ticket_id"])))
        shop = session.get(Event, uuid.UUID(str(payload["event_id"])))
        if ticket is None or shop is None:
            return None
        data = {
            "ticket_id": str(ticket.id),
            "order_id": str(ticket.order_id),
            "event_id": str(shop.id),
            "checkin_id": str(payload.get("checkin_id", "")),
            "gate": payload.get("gate") or "",
            "checked_in_at": event.created_at.isoformat(),
        }
        return _Fact(shop.organization_id, f"order:{ticket.order_id}", (("ticket.checked_in", data),))
    if event.topic == "event.published":
        shop = session.get(Event, uuid.UUID(str(payload["event_id"])))
        if shop is None:
            return None
        data = {
            "event_id": str(shop.id),
            "title": shop.title,
            "slug": shop.slug,
            "starts_at": _iso(shop.starts_at),
            "ends_at": _iso(shop.ends_at),
        }
        return _Fact(shop.organization_id, f"event:{shop.id}", (("event.published", data),))
    return None


def enqueue_deliveries(session: Session, events: Sequence[OutboxEvent], *, now: datetime) -> int:
    """Queue a delivery per subscribed active endpoint for each outbox event, in the caller's
    transaction (the one that marks the events dispatched). Returns how many were queued."""
    relevant = [event for event in events if event.topic in SOURCE_TOPICS]
    if not relevant:
        return 0
    if session.exec(select(WebhookEndpoint.id).where(col(WebhookEndpoint.active).is_(True)).limit(1)).first() is None:
        return 0  # nobody listens: one cheap query per batch
    endpoints_of: dict[uuid.UUID, list[WebhookEndpoint]] = {}
    base = time.time_ns()  # ties on created_at (one clock tick) keep the dispatch order
    queued = 0
    for index, event in enumerate(relevant):
        try:
            fact = _fact(session, event)
        except (KeyError, ValueError):
            fact = None
        if fact is None:
            continue
        if fact.organization_id not in endpoints_of:
            endpoints_of[fact.organization_id] = list(
                session.exec(
                    select(WebhookEndpoint).where(
                        WebhookEndpoint.organization_id == fact.organization_id, col(WebhookEndpoint.active).is_(True)
                    )
                ).all()
            )
        for offset, (event_type, data) in enumerate(fact.items):
            for endpoint in endpoints_of[fact.organization_id]:
                if event_type not in endpoint.events:
                    continue
                delivery_id = uuid.uuid4()
                body = {
                    "id": str(delivery_id),
                    "type": event_type,
                    "created_at": event.created_at.isoformat(),
                    "data": data,
                }
                values = {
                    "id": delivery_id,
                    "endpoint_id": endpoint.id,
                    "event_type": event_type,
                    "outbox_event_id": event.id,
                    "sequence_key": fact.sequence_key,
                    "position": base + index * 10 + offset,
                    "payload": body,
                    "status": WebhookDeliveryStatus.PENDING,
                    "attempts": 0,
                    "round_attempts": 0,
                    "next_attempt_at": now,
                    "last_error": "",
                    "created_at": event.created_at,
                }
                queued += _insert_once(session, values)
    return queued


def _insert_once(session: Session, values: dict[str, Any]) -> int:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(WebhookDelivery)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["endpoint_id", "outbox_event_id", "event_type"])
        .returning(col(WebhookDelivery.id))
    )
    return 1 if session.execute(statement).first() is not None else 0


def owners_of(session: Session, organization_id: uuid.UUID) -> list[uuid.UUID]:
    rows = session.exec(
        select(Membership.user_id).where(
            Membership.organization_id == organization_id, Membership.team_role == TeamRole.OWNER
        )
    ).all()
    return list(rows)


def notify_disabled(session: Session, endpoint: WebhookEndpoint, *, now: datetime) -> None:
    """Tell the organization's owners by email that an endpoint was switched off (in the caller's
    transaction: the outbox)."""
    for user_id in owners_of(session, endpoint.organization_id):
        emit_event(
            session,
            topic="webhook.disabled",
            payload={
                "user_id": str(user_id),
                "organization_id": str(endpoint.organization_id),
                "endpoint_id": str(endpoint.id),
                "url": endpoint.url,
                "failures": endpoint.consecutive_failures,
            },
            now=now,
        )
