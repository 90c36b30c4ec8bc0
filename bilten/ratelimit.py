"""Rate limits per client address and per account, shared by the REST API and the Reflex handlers.

Each named limit (`LOGIN`, `REGISTER`, ...) reads two settings: one rate per client address
(`RATE_LIMIT_LOGIN`) and one per account (`RATE_LIMIT_LOGIN_ACCOUNT`: the email tried, the user,
the order or the scanning device). A rate uses the `limits` syntax, several joined by ";"
("10/minute;60/hour"), counted in a moving window: exact, with no burst at a window's edge.

With REDIS_URL the counters live in Redis, so every web worker (and every host) shares them;
otherwise in this process's memory (one process: the only safe way to run without Redis anyway).
If Redis cannot be reached the request is let through and a warning logged: the limits protect
the site, they must not take it down with them.

The client address is the socket's peer, unless that peer is one of TRUSTED_PROXIES: then it is
the right-most address of X-Forwarded-For that is not a trusted proxy (each proxy appends the
address it saw, so everything left of that is what the client claimed and is not believed).

Nothing here imports Reflex: the API passes the request's peer and header, the state layer its
router data.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import math
import time
import weakref
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from limits import RateLimitItem, parse_many
from limits.aio.storage import RedisStorage as AsyncRedisStorage
from limits.aio.strategies import MovingWindowRateLimiter as AsyncMovingWindowRateLimiter
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from bilten.services.errors import RateLimited
from bilten.settings import get_settings

log = logging.getLogger(__name__)
KEY_PREFIX = "bilten-ratelimit"


@dataclass(frozen=True)
class Limit:
    """A named limit: its rates come from the settings `rate_limit_<name>` (per address) and
    `rate_limit_<account_setting>` (per account)."""

    name: str
    account_setting: str | None = None

    def address_rates(self) -> list[RateLimitItem]:
        return _rates(getattr(get_settings(), f"rate_limit_{self.name}"))

    def account_rates(self) -> list[RateLimitItem]:
        if self.account_setting is None:
            return []
        return _rates(getattr(get_settings(), f"rate_limit_{self.account_setting}"))


LOGIN = Limit("login", "login_account")
REGISTER = Limit("register")  # an account that does not exist yet: per address only
PASSWORD_RESET = Limit("password_reset", "password_reset_account")  # per email: no mail-bombing a victim
ORDER = Limit("order", "order_account")
RESEND = Limit("resend", "resend_account")
DEVICE_SIGN_IN = Limit("device_sign_in", "device_sign_in_account")
# Door scans: per device, generous; per address far more (a venue's phones may share one address).
VALIDATE = Limit("validate", "validate_device")
UPLOAD = Limit("upload", "upload_account")
# Wrong voucher codes: counted after the fact (`count_failure`), refused up front (`refuse_if_over`).
VOUCHER = Limit("voucher")
# Joining a waiting list: per address, and per email joined (no flooding a stranger's inbox with offers).
WAITING_LIST = Limit("waiting_list", "waiting_list_account")
ALL_LIMITS = (LOGIN, REGISTER, PASSWORD_RESET, ORDER, RESEND, DEVICE_SIGN_IN, VALIDATE, UPLOAD, WAITING_LIST, VOUCHER)


def setting_names() -> list[str]:
    """The environment variable of every rate (`RATE_LIMIT_LOGIN`, `RATE_LIMIT_LOGIN_ACCOUNT`, ...)."""
    settings = [name for limit in ALL_LIMITS for name in (limit.name, limit.account_setting) if name]
    return [f"RATE_LIMIT_{name.upper()}" for name in settings]


@lru_cache(maxsize=64)
def _rates(text: str) -> list[RateLimitItem]:
    return parse_many(text) if text.strip() else []


# -- the client address ------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _is_trusted(address: str, networks) -> bool:  # noqa: ANN001
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(peer: str | None, forwarded_for: str | None, trusted_proxies: list[str] | None = None) -> str:
    """Who is asking: the peer, or behind trusted proxies the right-most untrusted X-Forwarded-For entry."""
    networks = _networks(tuple(get_settings().trusted_proxies if trusted_proxies is None else trusted_proxies))
    peer = (peer or "").strip() or "unknown"
    if not networks or not _is_trusted(peer, networks):
        return peer
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, networks):
            return hop
    # Every hop is a proxy of ours (or there is no header): the left-most one is as close as we get.
    return hops[0] if hops else peer


def buyer_account(user_id: object | None, email: str) -> str:
    """The account an order counts against, the same from the API and the browser: the signed-in
    user, else the guest's email."""
    return f"user:{user_id}" if user_id else f"email:{email.strip().lower()}"


def account_key(value: object) -> str:
    """An account's counter key: hashed, so Redis holds no emails or tokens."""
    text = str(value).strip().lower()
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# -- the counters ------------------------------------------------------------------------------


# Every rate of one check in ONE Redis round trip, all or nothing: each key is a moving window kept
# as `limits` keeps it (a list of timestamps, newest first), so its window stats still read it. A
# refused attempt adds no entry anywhere. Returns 0 when allowed, else the position of the first
# refusing key (1-based).
_ACQUIRE_ALL = """
local timestamp = tonumber(ARGV[1])
for i = 1, #KEYS do
    local limit = tonumber(ARGV[2 * i])
    local expiry = tonumber(ARGV[2 * i + 1])
    local entry = redis.call('lindex', KEYS[i], limit - 1)
    if entry and tonumber(entry) >= timestamp - expiry then
        return i
    end
end
for i = 1, #KEYS do
    local limit = tonumber(ARGV[2 * i])
    redis.call('lpush', KEYS[i], timestamp)
    redis.call('ltrim', KEYS[i], 0, limit - 1)
    redis.call('expire', KEYS[i], tonumber(ARGV[2 * i + 1]))
end
return 0
"""


@dataclass
class _RedisCounters:
    """One event loop's Redis access: the all-or-nothing script, and `limits` for the wait."""

    acquire_all: Any  # redis-py's Script: awaited with keys and args
    limiter: AsyncMovingWindowRateLimiter


class _Counters:
    """`hit_all` counts one attempt against several rates and says whether it is allowed, and if
    not, when it will be."""

    def __init__(self) -> None:
        self._memory = MovingWindowRateLimiter(MemoryStorage())
        # One Redis client per event loop: an asyncio connection belongs to the loop that opened it.
        self._redis: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _RedisCounters] = weakref.WeakKeyDictionary()
        self._warned_at = 0.0

    def _redis_counters(self, redis_url: str) -> _RedisCounters:
        loop = asyncio.get_running_loop()
        counters = self._redis.get(loop)
        if counters is None:
            import redis.asyncio as aioredis  # noqa: PLC0415 - only with REDIS_URL

            client = aioredis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
            uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
            storage = AsyncRedisStorage(
                uri, implementation="redispy", key_prefix=KEY_PREFIX, socket_timeout=1, socket_connect_timeout=1
            )
            counters = self._redis[loop] = _RedisCounters(
                acquire_all=client.register_script(_ACQUIRE_ALL), limiter=AsyncMovingWindowRateLimiter(storage)
            )
        return counters

    async def hit_all(self, hits: list[tuple[RateLimitItem, tuple[str, ...]]]) -> tuple[bool, int]:
        """(allowed, seconds until the next attempt is allowed) for one attempt counted against
        every (rate, key) in `hits`."""
        redis_url = get_settings().redis_url
        if not redis_url:
            for item, key in hits:  # all or nothing, as with Redis
                if not self._memory.test(item, *key):
                    return False, _seconds_until(self._memory.get_window_stats(item, *key).reset_time)
            for item, key in hits:
                self._memory.hit(item, *key)
            return True, 0
        counters = self._redis_counters(redis_url)
        try:
            timestamp = time.time()
            keys = [f"{KEY_PREFIX}:{item.key_for(*key)}" for item, key in hits]
            args: list[float | int] = [timestamp]
            for item, _key in hits:
                args += [item.amount, item.get_expiry()]
            refused = int(await counters.acquire_all(keys=keys, args=args))
            if not refused:
                return True, 0
            item, key = hits[refused - 1]
            return False, _seconds_until((await counters.limiter.get_window_stats(item, *key)).reset_time)
        except Exception as exc:  # noqa: BLE001 - any storage failure: let the request through
            if time.monotonic() - self._warned_at > 60:
                self._warned_at = time.monotonic()
                log.warning("rate limits not applied: Redis unreachable (%s)", exc)
            return True, 0

    async def over(self, hits: list[tuple[RateLimitItem, tuple[str, ...]]]) -> int:
        """Seconds until an attempt is allowed again (0: allowed now), counting nothing."""
        redis_url = get_settings().redis_url
        for item, key in hits:
            try:
                if not redis_url:
                    if not self._memory.test(item, *key):
                        return _seconds_until(self._memory.get_window_stats(item, *key).reset_time)
                    continue
                limiter = self._redis_counters(redis_url).limiter
                if not await limiter.test(item, *key):
                    return _seconds_until((await limiter.get_window_stats(item, *key)).reset_time)
            except Exception as exc:  # noqa: BLE001 - as in hit_all: a storage failure lets the request through
                log.warning("rate limits not applied: Redis unreachable (%s)", exc)
                return 0
        return 0

    def clear_memory(self) -> None:
        self._memory = MovingWindowRateLimiter(MemoryStorage())


def _seconds_until(reset_time: float) -> int:
    return max(1, math.ceil(reset_time - time.time()))


_counters = _Counters()


async def check(limit: Limit, *, address: str | None, account: object | None = None) -> None:
    """Count one attempt of `limit` from `address` (and on `account`, when given); RateLimited when
    either is over its rate. A refused attempt is not counted, so waiting is always enough."""
    hits: list[tuple[RateLimitItem, tuple[str, ...]]] = []
    if address:
        hits += [(item, (limit.name, "address", address)) for item in limit.address_rates()]
    if account is not None and str(account).strip():
        hits += [(item, (limit.name, "account", account_key(account))) for item in limit.account_rates()]
    if not hits:
        return
    # With Redis, every rate in one round trip (they used to be one each, one after another).
    allowed, retry_after = await _counters.hit_all(hits)
    if not allowed:
        raise RateLimited(retry_after)


async def refuse_if_over(limit: Limit, *, address: str) -> None:
    """RateLimited when `address` used up `limit` already; counts nothing (failures are counted by
    `count_failure` once they happened: only wrong voucher codes use up the voucher limit)."""
    hits = [(item, (limit.name, "address", address)) for item in limit.address_rates()] if address else []
    if hits and (retry_after := await _counters.over(hits)):
        raise RateLimited(retry_after)


async def count_failure(limit: Limit, *, address: str) -> None:
    """Count one failed attempt from `address` (one over the limit meanwhile is simply not counted)."""
    try:
        await check(limit, address=address)
    except RateLimited:
        pass


def reset_memory_counters() -> None:
    """Forget the in-process counters (tests; Redis counters expire by themselves)."""
    _counters.clear_memory()
