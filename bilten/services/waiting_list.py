"""The waiting list of a sold-out ticket type (pretix-style): people join while it is sold out; each
freed seat becomes a held offer for the next person in line (services/waiting_offers.py, called
where seats are freed); an offer is bought through the person's link or runs out and passes on.

Guarantees:
- Joining is refused while seats are on sale, twice for one address and type while in line or
  holding an offer, and when the organizer turned the list off.
- An offered seat counts in `TicketType.reserved` until the offer is redeemed (its order takes the
  seat over, `place_order(offer_id=...)`) or runs out (`expire_offers`: the seat goes to the next
  person in the same transaction, or back on sale when nobody waits): the rush never gets it.
- A person's link (`entry_token`) is signed with the secret key: no table of tokens, unguessable.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import uuid
from collections import Counter
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bilten.models import (
    Event,
    EventStatus,
    TicketType,
    User,
    WaitingListEntry,
    WaitingListSettings,
    WaitingState,
)
from bilten.payments.base import PaymentProvider
from bilten.services import orders, questions
from bilten.services.access import Permission, authorize
from bilten.services.audit import record_audit
from bilten.services.errors import (
    AlreadyOnWaitingList,
    EventNotOnSale,
    InvalidToken,
    NotFound,
    OfferNotAvailable,
    SalesClosed,
    SalesNotOpen,
    TicketsStillOnSale,
    UnknownTicketType,
    ValidationFailed,
    WaitingListClosed,
)
from bilten.services.exports import safe_cell
from bilten.services.orders.seats import publish_availability
from bilten.services.security import tokens_equal
from bilten.services.transaction import lock_row, transaction
from bilten.services.translations import field_text
from bilten.services.validation import clean_email, clean_name
from bilten.services.waiting_offers import DEFAULT_OFFER_HOURS, hand_on_seats
from bilten.settings import get_secret_key

MAX_OFFER_HOURS = 24 * 14
EXPIRY_BATCH = 200


# -- shapes that leave ------------------------------------------------------------------------


class WaitingEntryView(BaseModel):
    """What the person sees by their link (and what joining returns)."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: uuid.UUID
    event_id: uuid.UUID
    event_title: str
    event_slug: str
    ticket_type_id: uuid.UUID
    ticket_type: str
    price_minor: int
    currency: str
    state: WaitingState
    position: int | None  # 1 = next in line; None unless waiting
    offer_expires_at: datetime | None
    order_id: uuid.UUID | None
    token: str


class WaitingEntryRow(BaseModel):
    """One line of the organizer's list."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    ticket_type_id: uuid.UUID
    ticket_type: str
    email: str
    name: str
    state: WaitingState
    position: int | None
    created_at: datetime
    offer_expires_at: datetime | None


class JoinableType(BaseModel):
    """A sold-out ticket type whose waiting list takes people now (for the event page's form)."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    name: str


class WaitingListPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    rows: list[WaitingEntryRow]
    total: int


class WaitingListConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    enabled: bool
    offer_hours: int


# -- links ------------------------------------------------------------------------------------


def entry_token(entry_id: uuid.UUID) -> str:
    """The person's key to their place in line: the entry id and its signature, one URL segment."""
    digest = hmac.new(get_secret_key().encode(), f"waiting:{entry_id}".encode(), hashlib.sha256).digest()
    return entry_id.hex + base64.urlsafe_b64encode(digest[:18]).decode()


def entry_id_from_token(token: str) -> uuid.UUID:
    try:
        entry_id = uuid.UUID(hex=(token or "")[:32])
    except ValueError:
        raise InvalidToken() from None
    if not tokens_equal(token, entry_token(entry_id)):
        raise InvalidToken()
    return entry_id


# -- the person -------------------------------------------------------------------------------


def join_waiting_list(
    session: Session,
    *,
    event_id: uuid.UUID,
    ticket_type_id: uuid.UUID,
    email: str,
    now: datetime,
    name: str = "",
    locale: str = "en",
) -> WaitingEntryView:
    """Take a place in line for a sold-out ticket type."""
    email = clean_email(email)
    name = clean_name(name)
    try:
        with transaction(session):
            ticket_type = session.get(TicketType, ticket_type_id)
            if ticket_type is None or ticket_type.event_id != event_id or ticket_type.is_hidden:
                raise UnknownTicketType()
            event = session.get_one(Event, event_id)
            if event.status != EventStatus.PUBLISHED or event.ends_at <= now:
                raise EventNotOnSale()
            if ticket_type.sales_start and now < ticket_type.sales_start:
                raise SalesNotOpen(name=ticket_type.name)
            if ticket_type.sales_end and now >= ticket_type.sales_end:
                raise SalesClosed(name=ticket_type.name)
            if not waiting_list_config(session, event_id).enabled:
                raise WaitingListClosed()
            if ticket_type.quantity - ticket_type.reserved > 0:
                raise TicketsStillOnSale(name=ticket_type.name)
            entry = WaitingListEntry(
                event_id=event_id,
                ticket_type_id=ticket_type_id,
                email=email,
                name=name,
                locale=locale,
                created_at=now,
                changed_at=now,
            )
            session.add(entry)
            session.flush()
            record_audit(
                session,
                action="waiting_list.joined",
                object_type="waiting_list_entry",
                object_id=entry.id,
                now=now,
                organization_id=event.organization_id,
                data={"event_id": str(event_id), "ticket_type_id": str(ticket_type_id)},
            )
    except IntegrityError:
        raise AlreadyOnWaitingList() from None
    with transaction(session):
        return _view(session, session.get_one(WaitingListEntry, entry.id))


def joinable_types(
    session: Session, *, event_id: uuid.UUID, now: datetime, locale: str | None = None
) -> list[JoinableType]:
    """The event's public ticket types one may join the waiting list of right now: sold out, within
    their sales period, the event on sale and its list on."""
    with transaction(session):
        event = session.get(Event, event_id)
        if event is None or event.status != EventStatus.PUBLISHED or event.ends_at <= now:
            return []
        if not waiting_list_config(session, event_id).enabled:
            return []
        types = session.exec(
            select(TicketType)
            .where(TicketType.event_id == event_id, col(TicketType.is_hidden).is_(False))
            .order_by(col(TicketType.position), col(TicketType.id))
        ).all()
        return [
            JoinableType(id=t.id, name=field_text(t, "name", locale or event.main_language, event.main_language))
            for t in types
            if t.quantity - t.reserved <= 0
            and not (t.sales_start and now < t.sales_start)
            and not (t.sales_end and now >= t.sales_end)
        ]


def entry_status(session: Session, *, token: str, locale: str | None = None) -> WaitingEntryView:
    """Where the person stands: state, place in line, their offer's deadline."""
    entry_id = entry_id_from_token(token)
    with transaction(session):
        entry = session.get(WaitingListEntry, entry_id, populate_existing=True)
        if entry is None:
            raise NotFound()
        return _view(session, entry, locale)


def buy_offer(
    session: Session,
    *,
    token: str,
    phone: str,
    now: datetime,
    name: str = "",
    user: User | None = None,
    provider: PaymentProvider | None = None,
    answers: list[questions.AnswerIn] | None = None,
) -> orders.PlacedOrder:
    """Turn a valid offer into a pending order for exactly its held seat (paid at once when free).
    `answers` go to the event's checkout questions (one ticket): a missing or wrong one refuses the
    order before the offer is claimed, so the offer and its seat stay."""
    entry_id = entry_id_from_token(token)
    with transaction(session):
        entry = session.get(WaitingListEntry, entry_id, populate_existing=True)
        if entry is None:
            raise NotFound()
        if entry.state != WaitingState.OFFERED or entry.offer_expires_at is None or entry.offer_expires_at <= now:
            raise OfferNotAvailable()
        type_id, event_id, email, locale = entry.ticket_type_id, entry.event_id, entry.email, entry.locale
        name = name or entry.name
    return orders.place_order(
        session,
        items=[(type_id, 1)],
        email=email,
        phone=phone,
        name=name,
        user=user,
        locale=locale,
        event_id=event_id,
        provider=provider,
        offer_id=entry_id,
        answers=answers,
        now=now,
    )


# -- the sweeper ------------------------------------------------------------------------------


def expire_offers(session: Session, *, now: datetime, limit: int = EXPIRY_BATCH) -> int:
    """Offers that ran out pass their seat to the next person in line (or back on sale), one
    transaction per batch. Two sweepers split the offers (SKIP LOCKED) and the people in line."""
    query = (
        select(WaitingListEntry)
        .where(WaitingListEntry.state == WaitingState.OFFERED, col(WaitingListEntry.offer_expires_at) <= now)
        .order_by(col(WaitingListEntry.offer_expires_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    with transaction(session):
        expired = list(session.exec(query).all())
        freed: Counter[uuid.UUID] = Counter()
        for entry in expired:
            entry.state = WaitingState.EXPIRED
            entry.changed_at = now
            session.add(entry)
            freed[entry.ticket_type_id] += 1
            record_audit(
                session,
                action="waiting_list.offer_expired",
                object_type="waiting_list_entry",
                object_id=entry.id,
                now=now,
            )
        session.flush()
        _pass_on(session, freed, now=now)
    for event_id in {entry.event_id for entry in expired}:
        publish_availability(session, event_id)
    return len(expired)


def _pass_on(session: Session, freed: Counter[uuid.UUID], *, now: datetime) -> None:
    """Held seats let go: to the next in line first, the rest back on sale."""
    offered = hand_on_seats(session, sorted(freed.items()), now=now)
    for type_id in sorted(freed):
        given_back = freed[type_id] - offered.get(type_id, 0)
        if given_back > 0:
            session.execute(
                update(TicketType)
                .where(col(TicketType.id) == type_id)
                .values(reserved=col(TicketType.reserved) - given_back)
                .execution_options(synchronize_session=False)
            )


# -- the organizer ----------------------------------------------------------------------------


def waiting_list_config(session: Session, event_id: uuid.UUID) -> WaitingListConfig:
    settings = session.get(WaitingListSettings, event_id)
    if settings is None:
        return WaitingListConfig(enabled=True, offer_hours=DEFAULT_OFFER_HOURS)
    return WaitingListConfig(enabled=settings.enabled, offer_hours=settings.offer_hours)


def read_config(session: Session, *, actor: User | None, event_id: uuid.UUID) -> WaitingListConfig:
    with transaction(session):
        authorize(session, actor, Permission.EVENT_VIEW, event_id=event_id)
        return waiting_list_config(session, event_id)


def update_config(
    session: Session, *, actor: User | None, event_id: uuid.UUID, enabled: bool, offer_hours: int, now: datetime
) -> WaitingListConfig:
    """Turn the list on or off and set how long an offer stays valid (1 hour to 14 days). Offers
    made already keep their deadline; a list turned off makes no new offers and takes no one new."""
    if isinstance(offer_hours, bool) or not isinstance(offer_hours, int) or not 1 <= offer_hours <= MAX_OFFER_HOURS:
        raise ValidationFailed("error.waiting_list_offer_hours", max=MAX_OFFER_HOURS)
    with transaction(session):
        user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
        settings = session.get(WaitingListSettings, event_id) or WaitingListSettings(event_id=event_id)
        settings.enabled = bool(enabled)
        settings.offer_hours = offer_hours
        session.add(settings)
        event = session.get_one(Event, event_id)
        record_audit(
            session,
            action="waiting_list.settings_changed",
            object_type="event",
            object_id=event_id,
            now=now,
            actor_user_id=user.id,
            organization_id=event.organization_id,
            data={"enabled": settings.enabled, "offer_hours": offer_hours},
        )
        return WaitingListConfig(enabled=settings.enabled, offer_hours=offer_hours)


def list_entries(
    session: Session, *, actor: User | None, event_id: uuid.UUID, include_closed: bool = True
) -> list[WaitingEntryRow]:
    """The event's list in line order per ticket type (organizers and viewers of the event)."""
    with transaction(session):
        authorize(session, actor, Permission.EVENT_VIEW, event_id=event_id)
        return _rows(session, event_id, include_closed=include_closed)


def page_of_entries(
    session: Session, *, actor: User | None, event_id: uuid.UUID, offset: int, limit: int
) -> WaitingListPage:
    """One page of the list for the back office (places are counted over the whole list)."""
    rows = list_entries(session, actor=actor, event_id=event_id)
    offset = max(offset, 0)
    return WaitingListPage(rows=rows[offset : offset + max(limit, 1)], total=len(rows))


def export_csv(session: Session, *, actor: User | None, event_id: uuid.UUID) -> str:
    """The whole list as CSV (cells that a spreadsheet would run as formulas are defused)."""
    rows = list_entries(session, actor=actor, event_id=event_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["position", "ticket_type", "email", "name", "state", "joined_at", "offer_expires_at"])
    for row in rows:
        writer.writerow(
            [
                row.position or "",
                safe_cell(row.ticket_type),
                safe_cell(row.email),
                safe_cell(row.name),
                row.state.value,
                row.created_at.isoformat(),
                row.offer_expires_at.isoformat() if row.offer_expires_at else "",
            ]
        )
    return out.getvalue()


def remove_entry(
    session: Session, *, actor: User | None, event_id: uuid.UUID, entry_id: uuid.UUID, now: datetime
) -> None:
    """Take a person off the list; a seat their offer held passes to the next in line."""
    with transaction(session):
        user = authorize(session, actor, Permission.EVENT_MANAGE, event_id=event_id)
        entry = lock_row(session, WaitingListEntry, entry_id)
        if entry is None or entry.event_id != event_id:
            raise NotFound()
        if entry.state not in (WaitingState.WAITING, WaitingState.OFFERED):
            return
        held = entry.state == WaitingState.OFFERED
        entry.state = WaitingState.REMOVED
        entry.changed_at = now
        session.add(entry)
        session.flush()
        record_audit(
            session,
            action="waiting_list.removed",
            object_type="waiting_list_entry",
            object_id=entry.id,
            now=now,
            actor_user_id=user.id,
            data={"event_id": str(event_id)},
        )
        if held:
            _pass_on(session, Counter({entry.ticket_type_id: 1}), now=now)
    publish_availability(session, event_id)


# -- reading ----------------------------------------------------------------------------------


def _position(session: Session, entry: WaitingListEntry) -> int | None:
    if entry.state != WaitingState.WAITING:
        return None
    ahead = session.exec(
        select(func.count())
        .select_from(WaitingListEntry)
        .where(
            WaitingListEntry.ticket_type_id == entry.ticket_type_id,
            WaitingListEntry.state == WaitingState.WAITING,
            (col(WaitingListEntry.created_at) < entry.created_at)
            | ((col(WaitingListEntry.created_at) == entry.created_at) & (col(WaitingListEntry.id) < entry.id)),
        )
    ).one()
    return ahead + 1


def _view(session: Session, entry: WaitingListEntry, locale: str | None = None) -> WaitingEntryView:
    """The entry as its person sees it: the event and type named in `locale` (default: the
    language they joined in), else the event's main language."""
    ticket_type = session.get_one(TicketType, entry.ticket_type_id)
    event = session.get_one(Event, entry.event_id)
    reader = locale or entry.locale
    return WaitingEntryView(
        id=entry.id,
        event_id=event.id,
        event_title=field_text(event, "title", reader, event.main_language),
        event_slug=event.slug,
        ticket_type_id=ticket_type.id,
        ticket_type=field_text(ticket_type, "name", reader, event.main_language),
        price_minor=ticket_type.price_minor,
        currency=ticket_type.currency,
        state=entry.state,
        position=_position(session, entry),
        offer_expires_at=entry.offer_expires_at if entry.state == WaitingState.OFFERED else None,
        order_id=entry.order_id,
        token=entry_token(entry.id),
    )


def _rows(session: Session, event_id: uuid.UUID, *, include_closed: bool) -> list[WaitingEntryRow]:
    query = (
        select(WaitingListEntry, TicketType.name)
        .join(TicketType, col(TicketType.id) == col(WaitingListEntry.ticket_type_id))
        .where(WaitingListEntry.event_id == event_id)
        .order_by(
            col(TicketType.position), col(TicketType.id), col(WaitingListEntry.created_at), col(WaitingListEntry.id)
        )
    )
    if not include_closed:
        query = query.where(col(WaitingListEntry.state).in_([WaitingState.WAITING, WaitingState.OFFERED]))
    rows = []
    places: Counter[uuid.UUID] = Counter()
    for entry, type_name in session.exec(query).all():
        position = None
        if entry.state == WaitingState.WAITING:
            places[entry.ticket_type_id] += 1
            position = places[entry.ticket_type_id]
        rows.append(
            WaitingEntryRow(
                id=entry.id,
                ticket_type_id=entry.ticket_type_id,
                ticket_type=type_name,
                email=entry.email,
                name=entry.name,
                state=entry.state,
                position=position,
                created_at=entry.created_at,
                offer_expires_at=entry.offer_expires_at,
            )
        )
    return rows
