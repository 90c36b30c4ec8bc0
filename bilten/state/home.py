"""The public listing of upcoming events, with a text search, a city filter and a date range."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta

import reflex as rx

from bilten import routes
from bilten.i18n import format_datetime, format_money, translate
from bilten.services.events import EventSummary, list_upcoming_events
from bilten.services.translations import field_text
from bilten.state.base import service_call
from bilten.state.i18n import LocalizedState

ALL_CITIES = "__all__"  # a select item cannot have an empty value


@dataclasses.dataclass(frozen=True)
class EventCard:
    """What the browser gets for one listed event: display text only."""

    id: str
    url: str
    title: str
    when: str
    place: str
    price: str
    image_url: str


def price_text(lowest_price_minor: int | None, currency: str | None, locale: str) -> str:
    """The "from" price of an event: "Free" when its cheapest ticket costs nothing, "" without tickets."""
    if lowest_price_minor is None or not currency:
        return ""
    if lowest_price_minor == 0:
        return translate("event.free", locale)
    return translate("event.from_price", locale, price=format_money(lowest_price_minor, currency, locale))


def place_text(venue_name: str, city: str) -> str:
    return " · ".join(part for part in (venue_name, city) if part)


class HomeState(LocalizedState, rx.State):
    text: str = ""
    city: str = ALL_CITIES
    # The date range, as the date inputs give it ("YYYY-MM-DD", "" for open-ended).
    starts_from: str = ""
    starts_until: str = ""
    cities: list[str] = []
    loaded: bool = False
    _events: list[EventSummary] = []

    @rx.var
    def events(self) -> list[EventCard]:
        """The listed events, formatted in the reader's language and each event's own time zone."""
        locale = self._display_locale()
        return [
            EventCard(
                id=str(event.id),
                url=routes.event_url(event.id),
                title=field_text(event, "title", locale, event.main_language),
                when=format_datetime(event.starts_at, event.timezone, locale),
                place=place_text(event.venue_name, event.city),
                price=price_text(event.lowest_price_minor, event.currency, locale),
                image_url=event.image_url,
            )
            for event in self._events
        ]

    @rx.var
    def has_events(self) -> bool:
        return bool(self._events)

    @rx.event
    async def load(self):
        """on_load: every upcoming event; the city choices come from this unfiltered list."""
        await self._fetch()
        if self.text == "" and self.city == ALL_CITIES and not self.starts_from and not self.starts_until:
            self.cities = sorted({event.city for event in self._events if event.city})
        self.loaded = True

    @rx.event
    def set_text(self, text: str):
        self.text = text[:200]

    @rx.event
    async def search(self, form_data: dict[str, str]):
        self.text = (form_data.get("text") or "")[:200]
        await self._fetch()

    @rx.event
    async def set_city(self, city: str):
        self.city = city if city in self.cities else ALL_CITIES
        await self._fetch()

    @rx.event
    async def set_starts_from(self, value: str):
        self.starts_from = _iso_date(value)
        await self._fetch()

    @rx.event
    async def set_starts_until(self, value: str):
        self.starts_until = _iso_date(value)
        await self._fetch()

    @rx.event
    async def clear(self):
        self.text = ""
        self.city = ALL_CITIES
        self.starts_from = ""
        self.starts_until = ""
        await self._fetch()

    async def _fetch(self) -> None:
        starts_from = _day_start(self.starts_from)
        until_day = _day_start(self.starts_until)
        async with service_call(self) as call:
            self._events = list_upcoming_events(
                call.session,
                now=call.now,
                text=self.text,
                city="" if self.city == ALL_CITIES else self.city,
                starts_from=starts_from,
                # "until" includes its whole day.
                starts_until=until_day + timedelta(days=1) if until_day else None,
            )


def _iso_date(value: str) -> str:
    """A date input's value if it is a real date, else "" (no bound)."""
    try:
        return date.fromisoformat((value or "").strip()).isoformat()
    except ValueError:
        return ""


def _day_start(value: str) -> datetime | None:
    """Midnight UTC of a day: events spread over many time zones, so days are counted in UTC."""
    return datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC) if value else None
