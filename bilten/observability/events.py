"""One log line per Reflex state event: handler, page, user, duration and outcome.

Reflex 0.10 calls an app middleware's `preprocess` inside the task that runs each event, under the
state's lock, before the handler (and `postprocess` no more). `EventLog.preprocess` starts the
event's log context there (a request id, the page's route, the user when this tab's AuthState is
already loaded: no state is loaded for the log) and asks the task to report when it ends: the
line `state event` then says how long the handler took (a background handler: until it returned)
and whether it finished, was cancelled (the tab left) or raised. A handler that calls a service
through `service_call` fills in the user and, for a refused action, the error code.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from reflex.middleware import Middleware

from bilten.observability import context

logger = logging.getLogger("bilten.state.events")


class EventLog(Middleware):
    async def preprocess(self, app: Any, state: Any, event: Any) -> None:
        task = asyncio.current_task()
        if task is None:
            return None
        router_data = getattr(event, "router_data", None) or getattr(state, "router_data", None) or {}
        current, _token = context.begin(context.new_request_id(), route=str(router_data.get("pathname") or ""))
        current.user_id = _known_user_id(state)
        started = time.perf_counter()

        def report(done: asyncio.Task) -> None:
            fields: dict[str, Any] = {
                "event": _short(event.name),
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "request_id": current.request_id,
                "route": current.route,
            }
            if current.user_id:
                fields["user_id"] = current.user_id
            if done.cancelled():
                logger.info("state event", extra={**fields, "outcome": "cancelled"})
            elif (error := done.exception()) is not None:
                logger.error("state event", extra={**fields, "outcome": "error"}, exc_info=error)
            else:
                outcome = (
                    {"outcome": "refused", "error": current.error_code} if current.error_code else {"outcome": "ok"}
                )
                logger.info("state event", extra={**fields, **outcome})

        task.add_done_callback(report)
        return None


def _short(name: str) -> str:
    """`reflex___state____state.bilten___state___order____order_state.load` -> `order_state.load`."""
    parts = name.split(".")
    return ".".join(part.rpartition("____")[2] or part for part in parts[-2:])


def _known_user_id(state: Any) -> str | None:
    """The signed-in user's id when this tab's AuthState is loaded already (never loads it)."""
    from bilten.state.auth import AuthState

    substates = getattr(state, "substates", None) or {}
    auth = substates.get(AuthState.get_name())
    user_id = getattr(auth, "_user_id", "") if auth is not None else ""
    return user_id or None
