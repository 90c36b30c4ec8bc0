"""A ticket received by transfer, on its new holder's own page (`/held-tickets/[transfer_id]?token=`).

The holder's signed link (services/ticket_transfer.holder_token) stays on the server; the browser
gets display text and the QR image. The holder may hand the ticket on in turn (the same dialog as
the order page's)."""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from bilten.i18n import format_datetime, translate
from bilten.ids import parse_id
from bilten.models import TicketStatus
from bilten.services.errors import NotFound
from bilten.services.ticket_references import format_reference
from bilten.services.ticket_transfer import HeldTicketView, held_ticket
from bilten.services.translations import localized
from bilten.state.auth import private_state
from bilten.state.base import service_call
from bilten.state.home import place_text
from bilten.state.i18n import LocalizedState
from bilten.state.order import TicketDisplay, qr_data_uri
from bilten.state.transfer import TicketTransferState


@dataclasses.dataclass(frozen=True)
class HeldSummary:
    event_title: str = ""
    when: str = ""
    place: str = ""
    transferable: bool = False


@private_state
class HeldTicketState(TicketTransferState, LocalizedState, rx.State):
    """The route `/held-tickets/[transfer_id]` gives this state the `transfer_id` var."""

    loaded: bool = False
    not_found: bool = False
    _token: str = ""
    _view: HeldTicketView | None = None
    _qr: str = ""

    @rx.var
    def summary(self) -> HeldSummary:
        view = self._view
        if view is None:
            return HeldSummary()
        locale = self._display_locale()
        return HeldSummary(
            event_title=localized(view.event_title, view.event_title_texts, locale, view.event_main_language),
            when=format_datetime(view.event_starts_at, view.event_timezone, locale),
            place=place_text(view.venue_name, view.city),
            transferable=view.transferable,
        )

    @rx.var
    def ticket(self) -> TicketDisplay:
        view = self._view
        if view is None:
            return TicketDisplay("", "", "", "", False, "", "", "")
        locale = self._display_locale()
        return TicketDisplay(
            id=str(view.id),
            heading=translate("held.title", locale),
            ticket_type=localized(view.ticket_type, view.ticket_type_texts, locale, view.event_main_language),
            holder_name=view.holder_name,
            valid=view.status == TicketStatus.VALID,
            status_label=translate(f"ticket.status.{view.status}", locale),
            qr=self._qr,
            reference=format_reference(view.reference) if view.reference else "",
        )

    def _transfer_uuid(self):  # noqa: ANN202
        return parse_id(self.router.page.params.get("transfer_id", ""))

    async def _read(self) -> None:
        self.not_found = False
        async with service_call(self) as call:
            transfer_id = self._transfer_uuid()
            if transfer_id is None:
                raise NotFound()
            view = held_ticket(call.session, transfer_id=transfer_id, access_token=self._token, now=call.now)
        if call.failed:
            self.not_found, self._view, self._qr = True, None, ""
            return
        self._view = view
        self._qr = await asyncio.to_thread(qr_data_uri, view.code) if view.code else ""

    @rx.event
    async def load(self):
        self.loaded = False
        self.transfer_open_id = ""
        self.transfer_error = ""
        self._token = (self.router.url.query_parameters.get("token") or "")[:100]
        await self._read()
        self.loaded = True

    def _transfer_token(self) -> str:
        return self._token

    async def _redraw_after_transfer(self) -> None:
        await self._read()  # this link now shows the ticket as handed on
