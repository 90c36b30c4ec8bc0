"""What the log lines of one request or state event share: its id, the user, the route.

One mutable holder per request in a context variable: the endpoint's worker thread (anyio copies
the context into it) sees the same holder and may fill in the user once it is known.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept when it looks like one (what proxies and clients send: uuids, hex, dots)
# and not like a credential (a JWT, a Stripe key, a device token), since it is logged as it is.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_CREDENTIAL_LIKE = re.compile(r"eyJ|\b(?:sk|rk|pk)_(?:test|live)_|whsec_|bdv_")


@dataclass
class RequestContext:
    request_id: str
    route: str = ""
    user_id: str | None = None
    error_code: str | None = None  # a state event's refusal (a BiltenError), for its log line


_current: ContextVar[RequestContext | None] = ContextVar("bilten_request_context", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(incoming: str | None) -> str:
    """The caller's X-Request-ID when it is sane, else a new one."""
    if incoming and _SANE_REQUEST_ID.match(incoming) and not _CREDENTIAL_LIKE.search(incoming):
        return incoming
    return new_request_id()


def current() -> RequestContext | None:
    return _current.get()


def begin(request_id: str, route: str = "") -> tuple[RequestContext, Any]:
    """Start a request's (or an event's) context; returns it and the token to `end` it with."""
    context = RequestContext(request_id=request_id, route=route)
    return context, _current.set(context)


def end(token: Any) -> None:
    _current.reset(token)


def note_failure(code: str) -> None:
    """Record that the current state event was refused (a domain error's code)."""
    current = _current.get()
    if current is not None:
        current.error_code = code


def note_user(user: Any) -> Any:
    """Record who is acting (a User, or None) in the current context; returns it unchanged."""
    context = _current.get()
    if context is not None and user is not None:
        context.user_id = str(getattr(user, "id", user))
    return user
