"""The signed-in buyer's orders and tickets, newest first."""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from bilten import clock, ratelimit, routes
from bilten.i18n import format_datetime, format_money, translate
from bilten.ids import parse_id
from bilten.services.access import Permission
from bilten.services.errors import NotFound
from bilten.services.ticket_transfer import transfer_ticket
from bilten.services.tickets import OrderView, my_orders
from bilten.services.translations import localized
from bilten.state.auth import private_state
from bilten.state.base import service_call
from bilten.state.home import place_text
from bilten.state.i18n import LocalizedState
from bilten.state.order import TicketDisplay, order_phase, ticket_displays, ticket_qr_images
from bilten.state.ratelimits import refused_by_limit


@dataclasses.dataclass(frozen=True)
class MyOrderDisplay:
    id: str
    url: str
    number: str
    event_title: str
    when: str
    place: str
    phase: str
    status_label: str
    total: str
    tickets: list[TicketDisplay]


def _qr_images(orders: list[OrderView]) -> dict[str, str]:
    return {key: uri for order in orders for key, uri in ticket_qr_images(order.tickets).items()}


@private_state
class MyTicketsState(LocalizedState, rx.State):
    loaded: bool = False
    transfer_open_id: str = ""  # the ticket whose transfer dialog is open
    transfer_error: str = ""
    _orders: list[OrderView] = []
    _qr: dict[str, str] = {}

    @rx.var
    def orders(self) -> list[MyOrderDisplay]:
        locale = self._display_locale()
        now = clock.now()
        displays = []
        for order in self._orders:
            phase = order_phase(order, now)
            displays.append(
                MyOrderDisplay(
                    id=str(order.id),
                    url=routes.order_url(order.id),
                    number=str(order.id)[:8].upper(),
                    event_title=localized(
                        order.event_title, order.event_title_texts, locale, order.event_main_language
                    ),
                    when=format_datetime(order.event_starts_at, order.event_timezone, locale),
                    place=place_text(order.venue_name, order.city),
                    phase=phase,
                    status_label=translate(f"order.status.{phase}", locale),
                    total=(
                        translate("event.free", locale)
                        if order.total_minor == 0
                        else format_money(order.total_minor, order.currency, locale)
                    ),
                    tickets=ticket_displays(order, self._qr, locale),
                )
            )
        return displays

    @rx.var
    def has_orders(self) -> bool:
        return bool(self._orders)

    @rx.event
    async def load(self):
        """on_load: signed-in users only; their orders with a QR image per ticket that gets in."""
        self.loaded = False
        async with service_call(self) as call:
            access = await call.guard(Permission.ACCOUNT)
            if access.user is None:
                self._orders = []
                self._qr = {}
                self.loaded = True
                return access.redirect
            orders = my_orders(call.session, user=access.user)
        if call.failed:
            return call.error_toast()
        self._orders = orders
        self._qr = await asyncio.to_thread(_qr_images, orders)
        self.loaded = True
        return None

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
        """Hand one of the buyer's tickets to someone else (services/ticket_transfer.py)."""
        self.transfer_error = ""
        email = form_data.get("email", "")
        if refused := await refused_by_limit(self, ratelimit.TRANSFER, account=email.strip().lower()):
            return refused
        async with service_call(self) as call:
            wanted = parse_id(form_data.get("ticket_id", ""))
            if wanted is None or call.user is None:
                raise NotFound()
            result = transfer_ticket(
                call.session,
                ticket_id=wanted,
                email=email,
                name=form_data.get("name", ""),
                now=call.now,
                user=call.user,
                locale=call.locale,
            )
            orders = my_orders(call.session, user=call.user)
        if call.failed:
            self.transfer_error = call.error
            return None
        self.transfer_open_id = ""
        self._orders = orders
        self._qr = await asyncio.to_thread(_qr_images, orders)
        return rx.toast.success(call.text("transfer.done", name=result.to_name))
