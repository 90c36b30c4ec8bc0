"""The rate limits of `bilten.ratelimit` for Reflex handlers: the tab's client address, and a toast.

A handler that does what a rate-limited API endpoint does asks first:

    if refused := await refused_by_limit(self, ratelimit.LOGIN, account=email):
        return refused
"""

from __future__ import annotations

import reflex as rx
from reflex_base.event import EventSpec

from bilten import ratelimit
from bilten.i18n import translate
from bilten.services.errors import RateLimited
from bilten.state.i18n import current_locale


def tab_client_address(state: rx.State) -> str:
    """The address of this tab's websocket peer (Reflex puts the socket's ASGI client in the router
    data; `trusted_proxy_hops` stays 0 in rxconfig, so it is the peer), or what TRUSTED_PROXIES says."""
    router = state.router
    return ratelimit.client_address(router.session.client_ip, router.headers.raw_headers.get("x-forwarded-for", ""))


async def refused_by_limit(
    state: rx.State, limit: ratelimit.Limit, *, account: object | None = None
) -> EventSpec | None:
    """None when this attempt is allowed (and counted); else the translated "wait N seconds" toast."""
    try:
        await ratelimit.check(limit, address=tab_client_address(state), account=account)
    except RateLimited as exc:
        return rx.toast.error(translate(exc.key, await current_locale(state), **exc.params))
    return None
