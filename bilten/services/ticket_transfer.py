"""Handing a ticket to someone else: the old code is revoked at once, the new holder gets a new
signed code and a link of their own.

Rules (README "Ticket transfer"):
- Only a paid order's valid ticket that is not checked in, of an event that allows transfers
  (`Event.allow_ticket_transfer`, on by default: the old code is revoked, so a handed-on ticket
  cannot be used twice) and has not started yet: at the door the holder is who they are.
- Who may: whoever controls the ticket. A ticket never transferred is controlled by its order's
  buyer (signed order link or account); a ticket received by transfer only by its holder's own
  link (`holder_token`, signed over `Ticket.transfer_id`), never again by the order's link. The
  event's organizers may always act.
- The old ticket row becomes `transferred` (the door answers "cancelled" online at once, and offline
  after the next sync: `checkins.scan_data` lists every non-valid ticket as revoked); the new row
  `replaces_ticket_id` the old one, so the chain is in the data and in the order's history.
- Two transfers of one ticket at once: the ticket row is locked, the second one finds it
  transferred and is refused.
- The response never carries the new code or the new holder's link: only the new holder's email does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_serializer
from sqlmodel import Session, col, select

from bilten.models import (
    CheckIn,
    CheckInResult,
    Event,
    EventStatus,
    Order,
    OrderStatus,
    Ticket,
    TicketStatus,
    TicketType,
    User,
)
from bilten.services import checkins
from bilten.services.access import Permission, is_allowed
from bilten.services.audit import emit_event, record_audit
from bilten.services.errors import NotFound, TicketHandedOver, TransferNotAllowed, ValidationFailed
from bilten.services.orders import may_view_order
from bilten.services.security import tokens_equal
from bilten.services.ticket_codes import load_private_key, sign_ticket_code
from bilten.services.ticket_references import format_reference, unused_references
from bilten.services.transaction import lock_row, transaction
from bilten.services.validation import clean_email, clean_name
from bilten.settings import get_secret_key

NAME_MAX_LENGTH = 200
TOPIC = "ticket.transferred"
AUDIT_ACTION = "ticket.transferred"


def holder_token(transfer_id: uuid.UUID) -> str:
    """The new holder's key to a ticket received by transfer: signed, so it needs no table."""
    digest = hmac.new(get_secret_key().encode(), f"ticket-holder:{transfer_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def holder_url(transfer_id: uuid.UUID | str, token: str) -> str:
    """The new holder's page (bilten/pages/held_ticket.py)."""
    return f"/held-tickets/{transfer_id}?token={token}"


def _is_holder(ticket: Ticket, access_token: str) -> bool:
    return bool(
        ticket.transfer_id is not None and access_token and tokens_equal(access_token, holder_token(ticket.transfer_id))
    )


def controlled_ticket(
    session: Session, ticket_id: uuid.UUID, *, user: User | None, access_token: str
) -> tuple[Ticket, Order]:
    """The ticket and its order when the caller controls the ticket (see the module's rules).

    NotFound for a stranger (the same answer as "no such ticket"); TicketHandedOver for a link
    that controlled the ticket once and no longer does."""
    ticket = session.get(Ticket, ticket_id)
    order = session.get(Order, ticket.order_id) if ticket else None
    if ticket is None or order is None:
        raise NotFound()
    if is_allowed(session, user, Permission.EVENT_MANAGE, event_id=order.event_id):
        return ticket, order
    if ticket.transfer_id is None:
        if not may_view_order(session, order, user=user, access_token=access_token):
            raise NotFound()
    elif not _is_holder(ticket, access_token):
        if may_view_order(session, order, user=user, access_token=access_token):
            raise TicketHandedOver()  # the buyer's link, on a ticket they handed on
        raise NotFound()
    if ticket.status == TicketStatus.TRANSFERRED:
        raise TicketHandedOver()
    return ticket, order


class TransferResult(BaseModel):
    """What the one who handed the ticket on sees: never the new code or the new holder's link."""

    model_config = ConfigDict(frozen=True)

    ticket_id: uuid.UUID  # the ticket handed on (now `transferred`)
    status: str
    to_name: str
    to_email: str
    transferred_at: datetime


def _clean_recipient(email: str, name: str) -> tuple[str, str]:
    address = clean_email(email)
    if len((name or "").strip()) > NAME_MAX_LENGTH:
        raise ValidationFailed("error.transfer_name_too_long", max=NAME_MAX_LENGTH)
    cleaned = clean_name(name, max_length=NAME_MAX_LENGTH)
    if not cleaned:
        raise ValidationFailed("error.holder_name_required")
    return address, cleaned


def _checked_in(session: Session, ticket_id: uuid.UUID) -> bool:
    return (
        session.exec(
            select(CheckIn.id).where(
                CheckIn.ticket_id == ticket_id,
                CheckIn.result == CheckInResult.VALID,
                col(CheckIn.undone_at).is_(None),
            )
        ).first()
        is not None
    )


def transfer_ticket(
    session: Session,
    *,
    ticket_id: uuid.UUID,
    email: str,
    name: str,
    now: datetime,
    user: User | None = None,
    access_token: str = "",
    locale: str = "",
) -> TransferResult:
    """Hand a ticket to `name` <`email`>: one transaction, the ticket row locked."""
    address, holder_name = _clean_recipient(email, name)
    with transaction(session):
        controlled_ticket(session, ticket_id, user=user, access_token=access_token)
        ticket = lock_row(session, Ticket, ticket_id)  # the second of two transfers waits here
        if ticket is None:
            raise NotFound()
        if ticket.status == TicketStatus.TRANSFERRED:
            raise TicketHandedOver()
        order = session.get_one(Order, ticket.order_id)
        if ticket.status != TicketStatus.VALID or order.status != OrderStatus.PAID:
            raise ValidationFailed("error.ticket_not_valid")
        event = session.get_one(Event, ticket.event_id)
        if not event.allow_ticket_transfer:
            raise TransferNotAllowed("error.transfer_forbidden")
        if event.status == EventStatus.CANCELLED or now >= event.starts_at:
            raise TransferNotAllowed("error.transfer_too_late")
        if _checked_in(session, ticket.id):
            raise TransferNotAllowed("error.transfer_checked_in")
        current_email = (ticket.holder_email or order.buyer_email).lower()
        if address == current_email:
            raise ValidationFailed("error.transfer_same_holder")

        ticket.status = TicketStatus.TRANSFERRED
        session.add(ticket)
        new_id, transfer_id = uuid.uuid4(), uuid.uuid4()
        session.add(
            Ticket(
                id=new_id,
                order_id=ticket.order_id,
                order_line_id=ticket.order_line_id,
                event_id=ticket.event_id,
                ticket_type_id=ticket.ticket_type_id,
                holder_name=holder_name,
                holder_email=address,
                transfer_id=transfer_id,
                issued_at=now,
                replaces_ticket_id=ticket.id,
                code=sign_ticket_code(
                    load_private_key(event.signing_private_key_sealed), event_id=event.id, ticket_id=new_id
                ),
                reference=unused_references(session, 1)[0],
            )
        )
        record_audit(
            session,
            action=AUDIT_ACTION,
            object_type="ticket",
            object_id=ticket.id,
            now=now,
            actor_user_id=user.id if user else None,
            organization_id=event.organization_id,
            data={
                "from": ticket.holder_name or order.buyer_name or current_email,
                "from_email": current_email,
                "to": holder_name,
                "to_email": address,
                "replacement": str(new_id),
            },
        )
        # The new holder's email (and the hook point for webhooks: subscribe to this topic).
        emit_event(
            session,
            topic=TOPIC,
            payload={
                "ticket_id": str(new_id),
                "transfer_id": str(transfer_id),
                "from_name": ticket.holder_name or order.buyer_name,
                "locale": locale or order.locale,
            },
            now=now,
        )
    checkins.forget_scan_states(ticket.event_id, [ticket.id])
    return TransferResult(
        ticket_id=ticket.id,
        status=TicketStatus.TRANSFERRED,
        to_name=holder_name,
        to_email=address,
        transferred_at=now,
    )


def current_held_ticket(session: Session, transfer_id: uuid.UUID) -> Ticket | None:
    """The ticket a transfer gave (its latest code, when the holder had it reissued)."""
    return session.exec(
        select(Ticket)
        .where(Ticket.transfer_id == transfer_id, Ticket.status != TicketStatus.REISSUED)
        .order_by(col(Ticket.issued_at).desc(), col(Ticket.id))
    ).first()


class HeldTicketView(BaseModel):
    """A ticket as its new holder sees it on their own page (and `GET /api/v1/held-tickets/{id}`)."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    transfer_id: uuid.UUID
    code: str
    reference: str
    holder_name: str
    holder_email: str
    status: str
    ticket_type: str
    ticket_type_texts: dict[str, str] = Field(exclude=True)
    event_id: uuid.UUID
    event_title: str
    event_title_texts: dict[str, str] = Field(exclude=True)
    event_main_language: str
    event_starts_at: datetime
    event_timezone: str
    venue_name: str
    city: str
    transferable: bool

    @field_serializer("reference")
    def _reference_for_people(self, reference: str) -> str:
        return format_reference(reference) if reference else ""


def held_ticket(session: Session, *, transfer_id: uuid.UUID, access_token: str, now: datetime) -> HeldTicketView:
    """The new holder's ticket, for the holder's signed link only."""
    ticket = current_held_ticket(session, transfer_id)
    if ticket is None or not _is_holder(ticket, access_token):
        raise NotFound()
    event = session.get_one(Event, ticket.event_id)
    ticket_type = session.get_one(TicketType, ticket.ticket_type_id)
    order = session.get_one(Order, ticket.order_id)
    transferable = (
        ticket.status == TicketStatus.VALID
        and order.status == OrderStatus.PAID
        and event.allow_ticket_transfer
        and event.status != EventStatus.CANCELLED
        and now < event.starts_at
        and not _checked_in(session, ticket.id)
    )
    return HeldTicketView(
        id=ticket.id,
        transfer_id=transfer_id,
        # A ticket handed on again, or cancelled, shows no code: it no longer opens the door.
        code=ticket.code if ticket.status == TicketStatus.VALID else "",
        reference=ticket.reference if ticket.status == TicketStatus.VALID else "",
        holder_name=ticket.holder_name,
        holder_email=ticket.holder_email,
        status=ticket.status if order.status == OrderStatus.PAID else TicketStatus.CANCELLED,
        ticket_type=ticket_type.name,
        ticket_type_texts=dict((ticket_type.translations or {}).get("name", {})),
        event_id=event.id,
        event_title=event.title,
        event_title_texts=dict((event.translations or {}).get("title", {})),
        event_main_language=event.main_language,
        event_starts_at=event.starts_at,
        event_timezone=event.timezone,
        venue_name=event.venue_name,
        city=event.city,
        transferable=transferable,
    )
