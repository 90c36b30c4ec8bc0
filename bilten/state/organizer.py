"""The organizer area: the events of the organizations the user works for."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import reflex as rx

from bilten import routes
from bilten.db import session_scope
from bilten.i18n import format_datetime, translate
from bilten.services.access import Permission
from bilten.services.organizers import OrganizerEventRow, list_organizer_events
from bilten.state.auth import guard, private_state
from bilten.state.i18n import LocaleState


@dataclasses.dataclass(frozen=True)
class OrganizerEventView:
    id: str
    url: str
    office_url: str
    title: str
    organization: str
    status: str
    status_label: str
    when: str
    sold: str
    public: bool


@private_state
class OrganizerState(rx.State):
    loaded: bool = False
    _rows: list[OrganizerEventRow] = []

    @rx.var
    async def events(self) -> list[OrganizerEventView]:
        locale = (await self.get_state(LocaleState)).lang
        return [
            OrganizerEventView(
                id=str(row.id),
                url=routes.event_url(row.id),
                office_url=routes.organizer_event_url(row.id),
                title=row.title,
                organization=row.organization_name,
                status=str(row.status),
                status_label=translate(f"status.{row.status}", locale),
                when=format_datetime(row.starts_at, row.timezone, locale),
                sold=translate("organizer.sold_of", locale, sold=row.reserved, capacity=row.capacity),
                public=str(row.status) != "draft",
            )
            for row in self._rows
        ]

    @rx.var
    def has_events(self) -> bool:
        return bool(self._rows)

    @rx.event
    async def load(self):
        """on_load: organizers (and admins) only."""
        self.loaded = False
        with session_scope() as session:
            access = await guard(self, session, Permission.ORGANIZER_AREA, now=datetime.now(UTC))
            if access.user is None:
                self._rows = []
                self.loaded = True
                return access.redirect
            self._rows = list_organizer_events(session, actor=access.user)
        self.loaded = True
        return None
