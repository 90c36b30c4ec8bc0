"""Live "N left" badges: counts pushed over the `/live` socket.io namespace, rendered in the browser.

Each tab opens one connection (`live_inventory.js`) and follows the event it shows; the server
relays one message per sale burst to every tab of the event (bilten/live_inventory.py). Nothing
goes through Reflex state, so an open page costs no state load per sale.
"""

from __future__ import annotations

import reflex as rx
from reflex_base.vars.base import Var

_SCRIPT = rx.asset("live_inventory.js", shared=True)


class LiveSeatsLeft(rx.Component):
    """A badge with the seats left of one ticket type, kept current while the page is open."""

    library = _SCRIPT.importable_path
    tag = "LiveSeatsLeft"

    event_id: Var[str]
    type_id: Var[str]
    initial: Var[int]  # the count the page loaded with, shown until the first push
    left_text: Var[dict]  # translated forms by CLDR plural category, with "{count}" (state.i18n.plural_forms)
    lang: Var[str]  # picks the plural form
    sold_out_text: Var[str]  # translated


class LiveAddGuard(rx.Component):
    """Wraps a "+" button: disables it when one more of the type no longer fits the live count."""

    library = _SCRIPT.importable_path
    tag = "LiveAddGuard"

    event_id: Var[str]
    type_id: Var[str]
    initial: Var[int]
    quantity: Var[int]  # how many the buyer chose so far
    min_per_order: Var[int]


live_seats_left = LiveSeatsLeft.create
live_add_guard = LiveAddGuard.create
