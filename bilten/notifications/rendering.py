"""Turn a notification into an email: subject, plain text, HTML, inline QR codes and attachments.

Texts come from the `email.*` keys of the message catalogs, in the recipient's language; a key
missing from that language falls back to English and is logged. HTML is built here with every
value escaped, in one simple table layout that mail clients render alike; Arabic gets dir="rtl".
"""

from __future__ import annotations

import email
import email.policy
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlmodel import Session, select

from bilten.i18n import (
    format_datetime,
    format_money,
)
from bilten.models import (
    Event,
    EventStatus,
    Invitation,
    Notification,
    Order,
    OrderStatus,
    Organization,
    TicketType,
    User,
    WaitingListEntry,
    WaitingState,
)
from bilten.notifications.email_layout import Attachment, Body, EmailTexts, InlineImage, MissingData, RenderedEmail
from bilten.notifications.mime import EncodedEmail, encode_email
from bilten.notifications.ticket_emails import (
    ORDER_TICKET_TOPICS,
    OrderBundle,
    compose_order_paid,
    event_calendar,
    event_title,
    load_order_bundles,
    order_reference,
    order_tickets_pdf,
    payload_uuid,
    render_order_paid,
    render_ticket_transferred,
    type_name,
)
from bilten.routes import waiting_list_url
from bilten.services.waiting_list import entry_token

__all__ = [  # what other modules take from here (the ticket emails live in ticket_emails.py)
    "Attachment",
    "InlineImage",
    "MissingData",
    "RenderedEmail",
    "event_calendar",
    "order_tickets_pdf",
]

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# One renderer per topic


def _load_order(session: Session, payload: dict[str, Any]) -> tuple[Order, Event]:
    order = session.get(Order, payload_uuid(payload, "order_id"))
    if order is None:
        raise MissingData("order not found")
    event = session.get(Event, order.event_id)
    if event is None:
        raise MissingData("event not found")
    return order, event


def _load_user(session: Session, payload: dict[str, Any]) -> User:
    user = session.get(User, payload_uuid(payload, "user_id"))
    if user is None:
        raise MissingData("user not found")
    return user


def render_order_cancelled(
    session: Session, payload: dict[str, Any], texts: EmailTexts, public_url: str
) -> RenderedEmail:
    order, event = _load_order(session, payload)
    if event.status == EventStatus.CANCELLED and not payload.get("reason"):
        # Shares the "event cancelled" email's idempotency key (see outbox.draft_for): same text.
        return render_event_cancelled(session, payload, texts, public_url)
    tr = texts.tr
    title = event_title(event, texts.locale)
    subject = tr("email.order_cancelled.subject", event=title)
    body = Body(texts)
    body.paragraph(texts.greeting(order.buyer_name))
    body.paragraph(tr("email.order_cancelled.body", order=order_reference(order), event=title))
    body.details(
        [
            (tr("email.label.event"), title),
            (tr("email.label.when"), format_datetime(event.starts_at, event.timezone, texts.locale)),
        ]
    )
    if payload.get("refunded"):
        body.paragraph(
            tr("email.order_cancelled.refunded", amount=format_money(order.total_minor, order.currency, texts.locale))
        )
    body.button(public_url.rstrip("/") + "/", tr("email.common.browse_events"))
    html, text = body.document(subject)
    return RenderedEmail(subject=subject, text=text, html=html)


def render_welcome(session: Session, payload: dict[str, Any], texts: EmailTexts, public_url: str) -> RenderedEmail:
    """Welcome, with the link that confirms the new account's address."""
    user = _load_user(session, payload)
    verify_url = str(payload.get("verify_url") or "")
    tr = texts.tr
    subject = tr("email.welcome.subject")
    body = Body(texts)
    body.paragraph(texts.greeting(user.full_name))
    body.paragraph(tr("email.welcome.body", email=user.email))
    if verify_url and user.email_verified_at is None:
        body.paragraph(tr("email.verify.body"))
        body.button(verify_url, tr("email.verify.button"))
        body.paragraph(tr("email.verify.ignore"))
    else:
        body.button(public_url.rstrip("/") + "/", tr("email.common.browse_events"))
    html, text = body.document(subject)
    return RenderedEmail(subject=subject, text=text, html=html, secrets=(verify_url,) if verify_url else ())


def render_verification(session: Session, payload: dict[str, Any], texts: EmailTexts, public_url: str) -> RenderedEmail:
    """A new link confirming the account's address, asked for from the account page or the API."""
    user = _load_user(session, payload)
    verify_url = str(payload.get("verify_url") or "")
    if not verify_url:
        raise MissingData("payload has no verify_url")
    if user.email_verified_at is not None:
        raise MissingData("address confirmed already: not sent")
    tr = texts.tr
    subject = tr("email.verify.subject")
    body = Body(texts)
    body.paragraph(texts.greeting(user.full_name))
    body.paragraph(tr("email.verify.body"))
    body.button(verify_url, tr("email.verify.button"))
    body.paragraph(tr("email.verify.ignore"))
    html, text = body.document(subject)
    return RenderedEmail(subject=subject, text=text, html=html, secrets=(verify_url,))


def render_signup_attempted(
    session: Session, payload: dict[str, Any], texts: EmailTexts, public_url: str
) -> RenderedEmail:
    """Someone signed up with an address that has an account: tell its owner, nobody else."""
    user = _load_user(session, payload)
    tr = texts.tr
    base = public_url.rstrip("/")
    subject = tr("email.signup_attempted.subject")
    body = Body(texts)
    body.paragraph(texts.greeting(user.full_name))
    body.paragraph(tr("email.signup_attempted.body", email=user.email))
    body.button(base + "/login", tr("email.signup_attempted.login"))
    body.button(base + "/forgot-password", tr("email.signup_attempted.reset"))
    body.paragraph(tr("email.signup_attempted.ignore"))
    html, text = body.document(subject)
    return RenderedEmail(subject=subject, text=text, html=html)


def render_account_locked(
    session: Session, payload: dict[str, Any], texts: EmailTexts, public_url: str
) -> RenderedEmail:
    """Failed logins locked the owner's address: the link that lets them in again."""
    user = _load_user(session, payload)
    unlock_url = str(payload.get("unlock_url") or "")
    if not unlock_url:
        raise MissingData("payload has no unlock_url")
    tr = texts.tr
    subject = tr("email.account_locked.subject")
    body = Body(texts)
    body.paragraph(texts.greeting(user.full_name))
    body.paragraph(tr("email.account_locked.body", email=user.email, minutes=payload.get("minutes", "")))
    body.button(unlock_url, tr("email.account_locked.button"))
    body.paragraph(tr("email.account_locked.not_you"))
    html, text = body.document(subject)
    return RenderedEmail(subject=subject, text=text, html=html, secrets=(unlock_url,))


def render_two_factor_off(
    session: Session, payload: dict[str, Any], texts: EmailTexts, public_url: str
) -> RenderedEmail:
    """Two-factor sign-in was turned off (by the owner) or reset (by an admin): tell the owner, who
    acts at once if it was not them."""
    user = _load_user(session, payload)
    tr = texts.tr
    subject = tr("email.two_factor_off.subject")
    body = Body(texts)
    body.paragraph(texts.greeting(user.full_name))
    key = "email.two_factor_off.body_reset" if payload.get("by_admin") else "email.two_factor_off.body"
    body.paragraph(tr(key, email=user.email))
    body.button(public_url.rstrip("/") + "/account", tr("email.two_factor_off.button"))
    body.paragraph(tr("email.two_factor_off.not_you"))
    html, text = body.document(subject)
    return RenderedEmail(subject=subject, text=text, html=html)


def render_webhook_disabled(
    session: Session, payload: dict[str, Any], texts: EmailTexts, public_url: str
) -> RenderedEmail:
    """An organization's webhook endpoint failed too often in a row and was switched off."""
    user = _load_user(session, payload)
    tr = texts.tr
    subject = tr("email.webhook_disabled.subject")
    body = Body(texts)
    body.paragraph(texts.greeting(user.full_name))
    body.paragraph(
        tr("email.webhook_disabled.body", url=str(payload.get("url", "")), failures=payload.get("failures", 0))
    )
    page = f"/organizer/organizations/{payload.get('organization_id', '')}/webhooks"
    body.button(public_url.rstrip("/") + page, tr("email.webhook_disabled.button"))
    html, text = body.document(subject)
    return RenderedEmail(subject=subject, text=text, html=html)


def render_password_reset(
    session: Session, payload: dict[str, Any], texts: EmailTexts, public_url: str
) -> RenderedEmail:
    user = _load_user(session, payload)
    reset_url = str(payload.get("reset_url") or "")
    if not reset_url:
        raise MissingData("payload has no reset_url")
    tr = texts.tr
    subject = tr("email.password_reset.subject")
    body = Body(texts)
    body.paragraph(texts.greeting(user.full_name))
    body.paragraph(tr("email.password_reset.body"))
    body.button(reset_url, tr("email.password_reset.button"))
    body.paragraph(tr("email.password_reset.ignore"))
    html, text = body.document(subject)
    return RenderedEmail(subject=subject, text=text, html=html, secrets=(reset_url,))


def render_invitation(session: Session, payload: dict[str, Any], texts: EmailTexts, public_url: str) -> RenderedEmail:
    """An invitation to join an organization's team, with its one-time accept link."""
    invitation = session.get(Invitation, payload_uuid(payload, "invitation_id"))
    if invitation is None:
        raise MissingData("invitation not found")
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise MissingData("invitation already accepted or revoked: not sent")
    organization = session.get(Organization, invitation.organization_id)
    accept_url = str(payload.get("accept_url") or "")
    if organization is None or not accept_url:
        raise MissingData("payload has no accept_url or the organization is gone")
    inviter = session.get(User, invitation.invited_by_user_id) if invitation.invited_by_user_id else None
    invitee = session.exec(select(User).where(User.email == invitation.email)).first()
    tr = texts.tr
    role = tr(f"team.role.{invitation.team_role.value}")
    subject = tr("email.invitation.subject", organization=organization.name)
    body = Body(texts)
    body.paragraph(texts.greeting(invitee.full_name if invitee else ""))
    inviter_name = (inviter.full_name or inviter.email) if inviter else tr("email.invitation.someone")
    body.paragraph(tr("email.invitation.body", inviter=inviter_name, organization=organization.name, role=role))
    body.paragraph(tr(f"team.role_hint.{invitation.team_role.value}"))
    if invitation.event_ids:
        events = session.exec(
            select(Event)
            .where(Event.id.in_([uuid.UUID(value) for value in invitation.event_ids]))
            .order_by(Event.starts_at)
        ).all()
        body.heading(tr("email.invitation.events"))
        body.details(
            [(event.title, format_datetime(event.starts_at, event.timezone, texts.locale)) for event in events]
        )
    body.button(accept_url, tr("email.invitation.button"))
    expires = format_datetime(invitation.expires_at, "UTC", texts.locale)
    body.paragraph(tr("email.invitation.expiry", email=invitation.email, expires=expires))
    body.paragraph(tr("email.invitation.ignore"))
    html, text = body.document(subject)
    return RenderedEmail(subject=subject, text=text, html=html, secrets=(accept_url,))


def render_event_cancelled(
    session: Session, payload: dict[str, Any], texts: EmailTexts, public_url: str
) -> RenderedEmail:
    """The organizer cancelled the event: what happens to the buyer's order and money. Rendered at
    each attempt, so it says "refunded" once the refund went through and "will be refunded" before."""
    order, event = _load_order(session, payload)
    tr, locale = texts.tr, texts.locale
    title = event_title(event, locale)
    subject = tr("email.event_cancelled.subject", event=title)
    body = Body(texts)
    body.paragraph(texts.greeting(order.buyer_name))
    body.paragraph(tr("email.event_cancelled.body", event=title))
    body.details(
        [
            (tr("email.label.order"), order_reference(order)),
            (tr("email.label.event"), title),
            (tr("email.label.when"), format_datetime(event.starts_at, event.timezone, locale)),
        ]
    )
    amount = format_money(order.total_minor, order.currency, locale)
    if order.status == OrderStatus.REFUNDED:
        body.paragraph(tr("email.event_cancelled.refunded", amount=amount))
    elif order.status == OrderStatus.PAID and order.total_minor > 0:
        body.paragraph(tr("email.event_cancelled.refund_pending", amount=amount))
    else:
        body.paragraph(tr("email.event_cancelled.not_charged"))
    body.paragraph(tr("email.event_cancelled.tickets_void"))
    body.button(public_url.rstrip("/") + "/", tr("email.common.browse_events"))
    html, text = body.document(subject)
    return RenderedEmail(subject=subject, text=text, html=html)


def render_waiting_list_offer(
    session: Session, payload: dict[str, Any], texts: EmailTexts, public_url: str
) -> RenderedEmail:
    """A seat is held for the next person in line: their link to buy it, and until when."""
    entry = session.get(WaitingListEntry, payload_uuid(payload, "entry_id"))
    if entry is None:
        raise MissingData("waiting-list entry not found")
    if entry.state != WaitingState.OFFERED or entry.offer_expires_at is None:
        raise MissingData("the offer was used, ran out or was withdrawn: not sent")
    event = session.get(Event, entry.event_id)
    ticket_type = session.get(TicketType, entry.ticket_type_id)
    if event is None or ticket_type is None:
        raise MissingData("event or ticket type gone")
    tr, locale = texts.tr, texts.locale
    title, type_label = event_title(event, locale), type_name(ticket_type, event, locale)
    link = public_url.rstrip("/") + waiting_list_url(entry_token(entry.id))
    subject = tr("email.waiting_list_offer.subject", event=title)
    body = Body(texts)
    body.paragraph(texts.greeting(entry.name))
    body.paragraph(tr("email.waiting_list_offer.body", event=title, ticket_type=type_label))
    body.details(
        [
            (tr("email.label.event"), title),
            (tr("email.label.when"), format_datetime(event.starts_at, event.timezone, locale)),
            (
                tr("email.waiting_list_offer.valid_until"),
                format_datetime(entry.offer_expires_at, event.timezone, locale),
            ),
        ]
    )
    body.button(link, tr("email.waiting_list_offer.button"))
    body.paragraph(tr("email.waiting_list_offer.pass_on"))
    html, text = body.document(subject)
    return RenderedEmail(subject=subject, text=text, html=html, secrets=(link,))


Renderer = Callable[[Session, dict[str, Any], EmailTexts, str], RenderedEmail]


RENDERERS: dict[str, Renderer] = {
    "ticket.transferred": render_ticket_transferred,
    "order.paid": render_order_paid,
    "order.tickets_resent": render_order_paid,  # the same tickets email, sent again on request
    "order.cancelled": render_order_cancelled,
    "event.cancelled": render_event_cancelled,
    "user.registered": render_welcome,
    "user.verification_requested": render_verification,
    "user.signup_attempted": render_signup_attempted,
    "account.locked": render_account_locked,
    "password.reset_requested": render_password_reset,
    "user.two_factor_off": render_two_factor_off,
    "team.member_invited": render_invitation,
    "webhook.disabled": render_webhook_disabled,
    "waiting_list.offered": render_waiting_list_offer,
}


def render_notification(
    session: Session, notification: Notification, *, public_url: str, prefetched: Prefetched | None = None
) -> RenderedEmail:
    renderer = RENDERERS.get(notification.topic)
    if renderer is None:
        raise MissingData(f"no email template for {notification.topic!r}")
    texts = EmailTexts(notification.locale, notification.topic)
    if prefetched is not None and notification.topic in ORDER_TICKET_TOPICS:
        order_id = payload_uuid(notification.payload, "order_id")
        if order_id in prefetched.order_ids:
            bundle = prefetched.orders.get(order_id)
            if bundle is None:
                raise MissingData("order not found")
            return compose_order_paid(bundle, texts, public_url)
    return renderer(session, notification.payload, texts, public_url)


@dataclass(frozen=True)
class Prefetched:
    """What a batch's ticket emails read, loaded set-wise before the first is rendered."""

    order_ids: frozenset[uuid.UUID]  # asked for (an order missing from `orders` was not found)
    orders: dict[uuid.UUID, OrderBundle]


def prefetch(session: Session, notifications: list[Notification]) -> Prefetched:
    """Load what the ticket emails among `notifications` show, in four queries for all of them.

    The rows are detached from the session, so ending its read transaction (a rollback expires
    whatever the session holds) keeps them loaded. They are as old as the batch: the sending loop
    re-reads whether each chunk's orders are still paid just before sending it
    (delivery.no_longer_paid), so only an order cancelled during its chunk's sends (as during one
    SMTP dialogue) may still get its tickets email."""
    order_ids = set()
    for notification in notifications:
        if notification.topic in ORDER_TICKET_TOPICS:
            try:
                order_ids.add(payload_uuid(notification.payload, "order_id"))
            except MissingData:
                continue  # rendered (and failed) one by one
    bundles = load_order_bundles(session, order_ids)
    loaded = {id(row): row for bundle in bundles.values() for row in _rows(bundle)}
    for row in loaded.values():
        if row in session:
            session.expunge(row)
    return Prefetched(order_ids=frozenset(order_ids), orders=bundles)


def _rows(bundle: OrderBundle) -> list[Any]:
    rows: list[Any] = [bundle.order, bundle.event]
    rows += [row for pair in bundle.lines + bundle.tickets for row in pair]
    return rows + ([bundle.invoice] if bundle.invoice is not None else [])


# ---------------------------------------------------------------------------------------------
# MIME (see mime.py)


def build_message(
    rendered: RenderedEmail, *, mail_from: str, recipient: str, idempotency_key: str, locale: str, now: datetime
) -> EmailMessage:
    """The email as the standard library's message (for reading it back); the worker sends the
    bytes of `encode_email` itself."""
    encoded = encode_email(
        rendered, mail_from=mail_from, recipient=recipient, idempotency_key=idempotency_key, locale=locale, now=now
    )
    return email.message_from_bytes(encoded.data, policy=email.policy.default)  # type: ignore[return-value]


@dataclass(frozen=True)
class PreparedEmail:
    """A notification ready to send: the bytes, plus what is stored with the notification once sent."""

    subject: str
    stored_text: str  # the plain text with its secrets masked
    message: EncodedEmail


@dataclass(frozen=True)
class RenderFailure:
    """Rendering failed: `permanent` when what the email is about is gone (retrying cannot help)."""

    error: str
    permanent: bool


def prepare_email(
    session: Session,
    notification: Notification,
    *,
    mail_from: str,
    public_url: str,
    now: datetime,
    prefetched: Prefetched | None = None,
) -> PreparedEmail | RenderFailure:
    """Render and encode one notification; a failure is returned, not raised (it may cross processes)."""
    try:
        rendered = render_notification(session, notification, public_url=public_url, prefetched=prefetched)
        message = encode_email(
            rendered,
            mail_from=mail_from,
            recipient=notification.recipient,
            idempotency_key=notification.idempotency_key,
            locale=notification.locale,
            now=now,
        )
    except MissingData as exc:
        return RenderFailure(error=str(exc), permanent=True)
    except Exception as exc:  # a bug or a database hiccup while rendering: retried like any fault
        logger.exception("notification %s could not be prepared", notification.id)
        return RenderFailure(error=f"{type(exc).__name__}: {exc}", permanent=False)
    return PreparedEmail(subject=rendered.subject, stored_text=rendered.text_to_store(), message=message)
