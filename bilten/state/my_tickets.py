"""The signed-in buyer's orders and tickets, newest first."""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from bilten import clock, routes
from bilten.i18n import format_datetime, format_money, translate
from bilten.services.access import Permission
from bilten.services.tickets import OrderView, my_orders
from bilten.services.translations import localized
from bilten.state.auth import private_state
from bilten.state.base import ServiceCall, service_call
from bilten.state.home import place_text
from bilten.state.i18n import LocalizedState
from bilten.state.order import TicketDisplay, order_phase, ticket_displays, ticket_qr_images
from bilten.state.transfer import TicketTransferState


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
class MyTicketsState(TicketTransferState, LocalizedState, rx.State):
    loaded: bool = False
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

    def _reread_after_transfer(self, call: ServiceCall) -> None:
        self._orders = my_orders(call.session, user=call.user) if call.user is not None else []

    async def _redraw_after_transfer(self) -> None:
        self._qr = await asyncio.to_thread(_qr_images, self._orders)
