"""Who may read `/api/metrics`: the same machine and private networks, or whoever holds METRICS_TOKEN.

The client is the socket's peer, never what a header says: X-Forwarded-For cannot grant access.
A request that came through a reverse proxy (it carries a forwarding header) is treated as coming
from outside even when the proxy itself sits on loopback: the proxy's address says nothing about
the caller, so it needs the token. Private means RFC 1918 (10/8, 172.16/12, 192.168/16), unique
local IPv6 (fc00::/7) and loopback; not Python's `is_private`, which also counts documentation
and reserved ranges (203.0.113.0/24, ...).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable

LOCAL_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fc00::/7")
)
FORWARDING_HEADERS = frozenset({"x-forwarded-for", "forwarded", "x-real-ip"})


def is_local_address(host: str | None) -> bool:
    """Loopback or a private network (an IPv4 address mapped into IPv6 counts as itself)."""
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in LOCAL_NETWORKS)


def bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def may_read_metrics(
    client_host: str | None, *, authorization: str | None, header_names: Iterable[str], token: str | None
) -> bool:
    """The access rule of /api/metrics (see the module's doc)."""
    proxied = any(name.lower() in FORWARDING_HEADERS for name in header_names)
    if is_local_address(client_host) and not proxied:
        return True
    given = bearer(authorization)
    return bool(token) and bool(given) and hmac.compare_digest(given.encode(), (token or "").encode())
