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

from sqlmodel import Session, col, select

from bilten.i18n import (
    format_datetime,
    format_money,
)
from bilten.models import (
    Event,
    EventStatus,
    Invitation,
    Invoice,
    InvoiceKind,
    Notification,
    Order,
    OrderLine,
    OrderStatus,
    Organization,
    Ticket,
    TicketStatus,
    TicketType,
    User,
    WaitingListEntry,
    WaitingState,
)
from bilten.notifications.attachments import CalendarEntry, TicketPage, event_ics, qr_png, tickets_pdf
from bilten.notifications.email_layout import Attachment, Body, EmailTexts, InlineImage, MissingData, RenderedEmail
from bilten.notifications.invoice_pdf import invoice_pdf
from bilten.notifications.mime import EncodedEmail, encode_email
from bilten.routes import event_url, waiting_list_url
from bilten.services.ticket_references import format_reference
from bilten.services.translations import field_text
from bilten.services.waiting_list import entry_token

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# One renderer per topic


def _uuid(payload: dict[str, Any], name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(payload[name]))
    except (KeyError, ValueError) as exc:
        raise MissingData(f"payload has no valid {name}") from exc


def order_reference(order: Order) -> str:
    return order.id.hex[:8].upper()


def _load_order(session: Session, payload: dict[str, Any]) -> tuple[Order, Event]:
    order = session.get(Order, _uuid(payload, "order_id"))
    if order is None:
        raise MissingData("order not found")
    event = session.get(Event, order.event_id)
    if event is None:
        raise MissingData("event not found")
    return order, event


def _load_user(session: Session, payload: dict[str, Any]) -> User:
    user = session.get(User, _uuid(payload, "user_id"))
    if user is None:
        raise MissingData("user not found")
    return user


def _venue_lines(event: Event) -> tuple[str, ...]:
    return tuple(part for part in (event.venue_name, event.venue_address, event.city) if part.strip())


def render_order_paid(session: Session, payload: dict[str, Any], texts: EmailTexts, public_url: str) -> RenderedEmail:
    order, event = _load_order(session, payload)
    if order.status != OrderStatus.PAID:
        raise MissingData(f"order is {order.status.value}, no longer paid: tickets not sent")
    lines = session.exec(
        select(OrderLine, TicketType)
        .join(TicketType, OrderLine.ticket_type_id == TicketType.id)
        .where(OrderLine.order_id == order.id)
        .order_by(TicketType.position, TicketType.name)
    ).all()
    tickets = session.exec(
        select(Ticket, TicketType)
        .join(TicketType, Ticket.ticket_type_id == TicketType.id)
        .where(Ticket.order_id == order.id, Ticket.status == TicketStatus.VALID, col(Ticket.transfer_id).is_(None))
        .order_by(TicketType.position, Ticket.issued_at, Ticket.id)
    ).all()
    if not tickets:
        raise MissingData("order has no valid tickets")
    locale, tr = texts.locale, texts.tr
    title = event_title(event, locale)
    when = format_datetime(event.starts_at, event.timezone, locale)
    venue = ", ".join(_venue_lines(event))
    subject = tr("email.order_paid.subject", event=title)

    body = Body(texts)
    body.paragraph(texts.greeting(order.buyer_name))
    body.paragraph(tr("email.order_paid.intro", event=title))
    body.heading(tr("email.order_paid.summary"))
    rows = [
        (tr("email.label.order"), order_reference(order)),
        (tr("email.label.event"), title),
        (tr("email.label.when"), when),
    ]
    if venue:
        rows.append((tr("email.label.where"), venue))
    rows += [
        (
            tr("email.order_paid.line", quantity=line.quantity, ticket_type=type_name(ticket_type, event, locale)),
            format_money(line.line_total_minor, order.currency, locale),
        )
        for line, ticket_type in lines
    ]
    rows.append((tr("email.label.total"), format_money(order.total_minor, order.currency, locale)))
    body.details(rows)

    images = []
    pages = _ticket_pages(order, event, tickets, texts)
    for number, ((ticket, _ticket_type), page) in enumerate(zip(tickets, pages, strict=True), start=1):
        cid = f"ticket-{ticket.id}@bilten"
        body.heading(page.heading)
        body.details(
            [
                (tr("email.label.ticket_type"), page.ticket_type),
                (tr("email.label.holder"), page.holder),
                (tr("ticket.reference"), page.reference),
            ]
        )
        body.image(cid, tr("email.ticket.qr_alt", number=number))
        images.append(InlineImage(cid=cid, png=qr_png(ticket.code)))
    body.paragraph(tr("email.order_paid.show_code") + " " + tr("ticket.reference_hint"))
    body.paragraph(tr("email.order_paid.calendar"))
    body.button(public_url.rstrip("/") + event_url(event.id), tr("email.order_paid.view_event"))
    html, text = body.document(subject)

    attachments = [
        Attachment(
            "tickets.pdf",
            "application/pdf",
            tickets_pdf(pages, rtl=texts.rtl, title=tr("email.order_paid.subject", event=title)),
        ),
        Attachment(
            "event.ics",
            "text/calendar",
            event_calendar(event, public_url=public_url, stamp=order.paid_at or order.created_at, locale=locale),
        ),
    ]
    invoice = session.exec(
        select(Invoice).where(Invoice.order_id == order.id, Invoice.kind == InvoiceKind.INVOICE)
    ).first()
    if invoice is not None:  # paid orders with money to pay (services/invoices.py)
        attachments.append(
            Attachment(f"{invoice.number}.pdf", "application/pdf", invoice_pdf(invoice, timezone=event.timezone))
        )
    return RenderedEmail(subject=subject, text=text, html=html, inline_images=images, attachments=attachments)


def _ticket_pages(order: Order, event: Event, tickets: list, texts: EmailTexts) -> list[TicketPage]:
    """One PDF page per (ticket, ticket type), every text in the reader's language."""
    tr = texts.tr
    when = format_datetime(event.starts_at, event.timezone, texts.locale)
    labels = {
        "when": tr("email.label.when"),
        "where": tr("email.label.where"),
        "holder": tr("email.label.holder"),
        "ticket_type": tr("email.label.ticket_type"),
        "reference": tr("ticket.reference"),
        "footer": tr("email.ticket.pdf_footer"),
    }
    return [
        TicketPage(
            heading=tr("email.ticket.heading", number=number, count=len(tickets)),
            event_title=event_title(event, texts.locale),
            when=when,
            venue_lines=_venue_lines(event),
            holder=ticket.holder_name or order.buyer_name or order.buyer_email,
            ticket_type=type_name(ticket_type, event, texts.locale),
            code=ticket.code,
            reference=format_reference(ticket.reference),
            labels=labels,
        )
        for number, (ticket, ticket_type) in enumerate(tickets, start=1)
    ]


def event_title(event: Event, locale: str) -> str:
    """The event's title in the reader's language, else its main language (services/translations.py)."""
    return field_text(event, "title", locale, event.main_language)


def type_name(ticket_type: TicketType, event: Event, locale: str) -> str:
    return field_text(ticket_type, "name", locale, event.main_language)


def event_calendar(event: Event, *, public_url: str, stamp: datetime, locale: str | None = None) -> bytes:
    """The event as a calendar entry, its title and description in `locale` (else the main language)."""
    reader = locale or event.main_language
    return event_ics(
        CalendarEntry(
            uid=f"{event.id}@bilten",
            title=event_title(event, reader),
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            location=", ".join(_venue_lines(event)),
            description=field_text(event, "description", reader, event.main_language)[:1000],
            url=public_url.rstrip("/") + event_url(event.id),
            stamp=stamp,
        )
    )


def order_tickets_pdf(session: Session, order: Order, *, locale: str) -> bytes:
    """The PDF of a paid order's valid tickets, for download from the order page."""
    event = session.get(Event, order.event_id)
    tickets = session.exec(
        select(Ticket, TicketType)
        .join(TicketType, Ticket.ticket_type_id == TicketType.id)
        .where(Ticket.order_id == order.id, Ticket.status == TicketStatus.VALID, col(Ticket.transfer_id).is_(None))
        .order_by(TicketType.position, Ticket.issued_at, Ticket.id)
    ).all()
    if order.status != OrderStatus.PAID or not tickets:
        raise MissingData("no valid tickets")
    texts = EmailTexts(locale, "tickets.pdf")
    return tickets_pdf(
        _ticket_pages(order, event, list(tickets), texts),
        rtl=texts.rtl,
        title=texts.tr("email.order_paid.subject", event=event_title(event, texts.locale)),
    )


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
    invitation = session.get(Invitation, _uuid(payload, "invitation_id"))
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
    entry = session.get(WaitingListEntry, _uuid(payload, "entry_id"))
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


def render_ticket_transferred(
    session: Session, payload: dict[str, Any], texts: EmailTexts, public_url: str
) -> RenderedEmail:
    """To a ticket's new holder: the new signed code (QR, PDF) and their own link to the ticket."""
    from bilten.services.ticket_transfer import current_held_ticket, holder_token, holder_url

    transfer_id = _uuid(payload, "transfer_id")
    ticket = current_held_ticket(session, transfer_id)
    if ticket is None or ticket.status != TicketStatus.VALID:
        raise MissingData("the transferred ticket is no longer valid: not sent")
    order = session.get_one(Order, ticket.order_id)
    event = session.get_one(Event, ticket.event_id)
    ticket_type = session.get_one(TicketType, ticket.ticket_type_id)
    locale, tr = texts.locale, texts.tr
    title = event_title(event, locale)
    subject = tr("email.ticket_transferred.subject", event=title)
    sender = str(payload.get("from_name") or "").strip() or tr("email.ticket_transferred.someone")
    body = Body(texts)
    body.paragraph(texts.greeting(ticket.holder_name))
    body.paragraph(tr("email.ticket_transferred.intro", sender=sender, event=title))
    rows = [
        (tr("email.label.event"), title),
        (tr("email.label.when"), format_datetime(event.starts_at, event.timezone, locale)),
    ]
    venue = ", ".join(_venue_lines(event))
    if venue:
        rows.append((tr("email.label.where"), venue))
    body.details(rows)
    page = _ticket_pages(order, event, [(ticket, ticket_type)], texts)[0]
    cid = f"ticket-{ticket.id}@bilten"
    body.details(
        [
            (tr("email.label.ticket_type"), page.ticket_type),
            (tr("email.label.holder"), page.holder),
            (tr("ticket.reference"), page.reference),
        ]
    )
    body.image(cid, tr("email.ticket.qr_alt", number=1))
    body.paragraph(tr("email.order_paid.show_code") + " " + tr("ticket.reference_hint"))
    body.button(
        public_url.rstrip("/") + holder_url(transfer_id, holder_token(transfer_id)),
        tr("email.ticket_transferred.view_ticket"),
    )
    html, text = body.document(subject)
    attachments = [
        Attachment("ticket.pdf", "application/pdf", tickets_pdf([page], rtl=texts.rtl, title=subject)),
        Attachment(
            "event.ics",
            "text/calendar",
            event_calendar(event, public_url=public_url, stamp=ticket.issued_at, locale=locale),
        ),
    ]
    return RenderedEmail(
        subject=subject,
        text=text,
        html=html,
        inline_images=[InlineImage(cid=cid, png=qr_png(ticket.code))],
        attachments=attachments,
    )


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


def render_notification(session: Session, notification: Notification, *, public_url: str) -> RenderedEmail:
    renderer = RENDERERS.get(notification.topic)
    if renderer is None:
        raise MissingData(f"no email template for {notification.topic!r}")
    return renderer(session, notification.payload, EmailTexts(notification.locale, notification.topic), public_url)


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
    session: Session, notification: Notification, *, mail_from: str, public_url: str, now: datetime
) -> PreparedEmail | RenderFailure:
    """Render and encode one notification; a failure is returned, not raised (it may cross processes)."""
    try:
        rendered = render_notification(session, notification, public_url=public_url)
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
