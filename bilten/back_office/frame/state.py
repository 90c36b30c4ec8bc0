"""The back office's access check, the event's header and which tab is open.

Owners, managers and viewers of the event's organization (and admins) open the back office
(`Permission.EVENT_VIEW`); only owners, managers and admins act on it (`EVENT_MANAGE`: cancel and
refund, resend tickets, manual check-in, staff). Viewers get the same figures and lists without
the buttons, and the services refuse the actions anyway.

Each section (`bilten.back_office.dashboard`, `.orders`, ...) has its own state, so an action on
one section only loads and saves that section's data. A section state registers itself with
`@office_section(tab)`: `BackOfficeState.load` then resets it when another event opens and loads
it when its tab is the one shown.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from datetime import datetime

import reflex as rx

from bilten import routes
from bilten.i18n import format_datetime, translate
from bilten.ids import parse_id
from bilten.models import EventStatus
from bilten.services import reports
from bilten.services.access import Permission, is_allowed
from bilten.services.errors import NotFound
from bilten.services.reports import EventStats
from bilten.state.auth import AuthState, private_state
from bilten.state.base import service_call
from bilten.state.i18n import LocalizedState

TABS = ("sales", "orders", "checkin", "staff", "questions", "exports", "waiting_list", "vouchers")
MANAGER_TABS = frozenset({"staff", "questions"})  # viewers do not see who scans at the door, nor edit questions

# tab -> its section state (with a `load` handler), filled by @office_section.
_SECTIONS: dict[str, type[rx.State]] = {}
DASHBOARD_TAB = "sales"  # the section that shows the live figures (bilten.back_office.dashboard)


def office_section(tab: str) -> Callable[[type[rx.State]], type[rx.State]]:
    """Class decorator for a section's state: reset when another event opens, loaded with its tab."""

    def register(cls: type[rx.State]) -> type[rx.State]:
        _SECTIONS[tab] = cls
        return cls

    return register


def section_loader(tab: str):  # noqa: ANN201 - an event handler or None
    section = _SECTIONS.get(tab)
    return section.load if section is not None and "load" in section.event_handlers else None


def route_event_id(state: rx.State) -> uuid.UUID:
    """The event named by the URL (services check the user may see or manage it)."""
    event_id = parse_id(state.event_id)
    if event_id is None:
        raise NotFound()
    return event_id


async def acting_user_id(state: rx.State) -> str:
    """The signed-in user's id, for a background loop that re-checks access without the cookie."""
    return (await state.get_state(AuthState))._user_id


def short_id(value: object) -> str:
    return str(value)[:8].upper()


@dataclasses.dataclass(frozen=True)
class EventFacts:
    """What the header shows of the event, kept from the figures the guard's load read (the
    figures themselves live in the dashboard's state, which keeps them current)."""

    event_id: str
    title: str
    status: EventStatus
    starts_at: datetime
    timezone: str
    place: str

    @classmethod
    def of(cls, stats: EventStats) -> EventFacts:
        place = ", ".join(part for part in (stats.venue_name, stats.city) if part)
        return cls(str(stats.event_id), stats.title, stats.status, stats.starts_at, stats.timezone, place)


@dataclasses.dataclass(frozen=True)
class OfficeEventView:
    title: str = ""
    when: str = ""
    place: str = ""
    status: str = ""
    status_label: str = ""
    timezone_note: str = ""
    public_url: str = ""
    is_public: bool = False


@private_state
class BackOfficeState(LocalizedState, rx.State):
    """The route gives this state the `event_id` var; `_event_id` is the one the guard allowed."""

    loaded: bool = False
    not_found: bool = False
    tab: str = "sales"
    timezone: str = "UTC"
    can_manage: bool = False  # owner, manager, admin: the action buttons show
    _event_id: str = ""
    _shown_event_id: str = ""  # the event the section states hold rows of (reset when it changes)
    _facts: EventFacts | None = None

    @rx.var
    def event(self) -> OfficeEventView:
        facts = self._facts
        if facts is None:
            return OfficeEventView()
        locale = self._display_locale()
        return OfficeEventView(
            title=facts.title,
            when=format_datetime(facts.starts_at, facts.timezone, locale),
            place=facts.place,
            status=str(facts.status),
            status_label=translate(f"status.{facts.status}", locale),
            timezone_note=translate("event.timezone_note", locale, timezone=facts.timezone),
            public_url=routes.event_url(facts.event_id),
            is_public=facts.status != EventStatus.DRAFT,
        )

    @rx.var
    def ready(self) -> bool:
        """The guard let this user in and the event was read."""
        return self._facts is not None

    @rx.event
    async def load(self):
        """on_load: the event's team (owner, manager, viewer) and admins (Permission.EVENT_VIEW)."""
        # The dashboard's state, found through its section (bilten.back_office.dashboard imports
        # this module, so this one does not import it).
        dashboard = _SECTIONS[DASHBOARD_TAB]
        self.loaded = False
        self.not_found = False
        event_id = parse_id(self.event_id)  # the dynamic route argument
        if self._shown_event_id != str(event_id):
            for section in _SECTIONS.values():
                (await self.get_state(section)).reset()  # another event's rows must not show here
            self._shown_event_id = str(event_id)
        self._event_id = ""
        self._facts = None
        self.can_manage = False
        stats, redirect = None, None
        async with service_call(self) as call:
            if event_id is None:
                raise NotFound()
            access = await call.guard(Permission.EVENT_VIEW, event_id=event_id)
            if access.user is not None:
                stats = reports.event_stats(call.session, actor=access.user, event_id=event_id, now=call.now)
                self.can_manage = is_allowed(call.session, access.user, Permission.EVENT_MANAGE, event_id=event_id)
            redirect = access.redirect
        self.loaded = True
        if call.failed:
            self.not_found = isinstance(call.failure, NotFound)
            return None if self.not_found else call.error_toast()
        if stats is None:
            return redirect
        self._event_id = str(event_id)
        self._facts = EventFacts.of(stats)
        self.timezone = stats.timezone
        (await self.get_state(dashboard)).show(self._event_id, stats, call.locale)
        requested = self.router.url.query_parameters.get("tab", "sales")
        allowed = requested in TABS and (self.can_manage or requested not in MANAGER_TABS)
        self.tab = requested if allowed else "sales"
        # The live loop starts only now that the guard let the user in. Chained from this on_load
        # handler it belongs to the page-load chain: Reflex cancels it when the tab navigates away,
        # closes or drops its connection (a background event listed in on_load itself would start
        # at once, before this handler finished).
        loader = section_loader(self.tab)
        return [*([loader] if loader else []), dashboard.watch]

    @rx.event
    def set_tab(self, tab: str):
        if tab not in TABS or not self._event_id or (tab in MANAGER_TABS and not self.can_manage):
            return None
        self.tab = tab
        return section_loader(tab)
