"""One event's public page: details and its ticket types (buying comes with the cart)."""

from __future__ import annotations

import dataclasses
import uuid

import reflex as rx

from bilten.db import session_scope
from bilten.i18n import format_datetime, format_money, translate
from bilten.models import EventStatus
from bilten.services.errors import NotFound
from bilten.services.events import EventDetail, get_public_event
from bilten.state.home import place_text, price_text
from bilten.state.i18n import LocaleState


@dataclasses.dataclass(frozen=True)
class EventView:
    title: str = ""
    starts: str = ""
    ends: str = ""
    venue_name: str = ""
    venue_address: str = ""
    place: str = ""
    description: str = ""
    price: str = ""
    image_url: str = ""
    timezone_note: str = ""
    cancelled: bool = False


@dataclasses.dataclass(frozen=True)
class TicketTypeView:
    id: str
    name: str
    description: str
    price: str
    availability: str
    sold_out: bool


class EventState(rx.State):
    """The route `/events/[event_id]` gives this state the `event_id` var."""

    loaded: bool = False
    not_found: bool = False
    _detail: EventDetail | None = None

    @rx.var
    async def event(self) -> EventView:
        detail = self._detail
        if detail is None:
            return EventView()
        locale = (await self.get_state(LocaleState)).lang
        return EventView(
            title=detail.title,
            starts=format_datetime(detail.starts_at, detail.timezone, locale),
            ends=format_datetime(detail.ends_at, detail.timezone, locale),
            venue_name=detail.venue_name,
            venue_address=detail.venue_address,
            place=place_text(detail.venue_name, detail.city),
            description=detail.description,
            price=price_text(detail.lowest_price_minor, detail.currency, locale),
            image_url=detail.image_url,
            timezone_note=translate("event.timezone_note", locale, timezone=detail.timezone),
            cancelled=detail.status == EventStatus.CANCELLED,
        )

    @rx.var
    async def ticket_types(self) -> list[TicketTypeView]:
        detail = self._detail
        if detail is None:
            return []
        locale = (await self.get_state(LocaleState)).lang
        return [
            TicketTypeView(
                id=str(ticket.id),
                name=ticket.name,
                description=ticket.description,
                price=(
                    translate("event.free", locale)
                    if ticket.price_minor == 0
                    else format_money(ticket.price_minor, ticket.currency, locale)
                ),
                availability=(
                    translate("event.sold_out", locale)
                    if ticket.available <= 0
                    else translate("event.left", locale, count=ticket.available)
                ),
                sold_out=ticket.available <= 0,
            )
            for ticket in detail.ticket_types
        ]

    @rx.event
    def load(self):
        """on_load: the event named by the URL, or a "not found" box."""
        self.loaded = False
        self.not_found = False
        self._detail = None
        try:
            event_id = uuid.UUID(self.event_id)  # the dynamic route argument
            with session_scope() as session:
                self._detail = get_public_event(session, event_id=event_id)
        except (ValueError, NotFound):
            self.not_found = True
        self.loaded = True
