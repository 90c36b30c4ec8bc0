"""A hold's countdown (mm:ss), ticking in the browser: no per-second events reach the server."""

from __future__ import annotations

import reflex as rx
from reflex_base.components.component import field
from reflex_base.event import EventHandler, no_args_event_spec
from reflex_base.vars.base import Var

_SCRIPT = rx.asset("hold_countdown.js", shared=True)


class HoldCountdown(rx.Component):
    """Renders a `<span role="timer">`; `on_expire` fires once when the deadline passes."""

    library = _SCRIPT.importable_path
    tag = "HoldCountdown"

    deadline: Var[int]  # epoch milliseconds
    on_expire: EventHandler[no_args_event_spec] = field(doc="Fired once when the time is up.")


hold_countdown = HoldCountdown.create
