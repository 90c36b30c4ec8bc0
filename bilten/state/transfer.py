"""The ticket transfer dialog's state and events, mixed into every page that shows tickets (the order
page, My tickets, the holder's page); the dialog itself is components/transfer_dialog.py and the
rules are services/ticket_transfer.py.

A page's state says who the visitor is to the service (`_transfer_token`: the signed link that let
them in, "" for a signed-in owner) and how it shows the tickets again after a transfer:
`_reread_after_transfer(call)` within the transfer's session, then `_redraw_after_transfer()` for
slow work (QR images) outside it."""

from __future__ import annotations

import reflex as rx

from bilten import ratelimit
from bilten.ids import parse_id
from bilten.services.errors import NotFound
from bilten.services.ticket_transfer import transfer_ticket
from bilten.state.base import ServiceCall, service_call
from bilten.state.ratelimits import refused_by_limit


class TicketTransferState(rx.State, mixin=True):
    transfer_open_id: str = ""  # the ticket whose transfer dialog is open
    transfer_error: str = ""

    def _transfer_token(self) -> str:
        """The signed link that lets this visitor control the ticket ("" for signed-in owners)."""
        return ""

    def _reread_after_transfer(self, call: ServiceCall) -> None:
        """Within the transfer's session, once it succeeded: read again what the page shows."""

    async def _redraw_after_transfer(self) -> None:
        """After the transfer's session: slow work (QR images) for what the page shows."""

    @rx.event
    def open_transfer(self, ticket_id: str):
        self.transfer_error = ""
        self.transfer_open_id = ticket_id

    @rx.event
    def transfer_dialog_changed(self, is_open: bool):
        if not is_open:
            self.transfer_open_id = ""

    @rx.event
    async def transfer(self, form_data: dict[str, str]):
        """Hand a ticket to someone else: its code is revoked at once, the new holder gets a new one
        by email, and this page no longer controls the ticket."""
        self.transfer_error = ""
        email = form_data.get("email", "")
        if refused := await refused_by_limit(self, ratelimit.TRANSFER, account=email.strip().lower()):
            return refused
        async with service_call(self) as call:
            wanted = parse_id(form_data.get("ticket_id", ""))
            if wanted is None:
                raise NotFound()
            result = transfer_ticket(
                call.session,
                ticket_id=wanted,
                email=email,
                name=form_data.get("name", ""),
                now=call.now,
                user=call.user,
                access_token=self._transfer_token(),
                locale=call.locale,
            )
            self._reread_after_transfer(call)
        if call.failed:
            self.transfer_error = call.error
            return None
        self.transfer_open_id = ""
        await self._redraw_after_transfer()
        return rx.toast.success(call.text("transfer.done", name=result.to_name))
